import { expect, test, expectAccessible, shot, signInAs } from "./helpers";
import { rpc } from "./rpc";
import { seed } from "./seed";

test("the patient's unread message shows in triage and the thread; opening reads it; a reply is stored", async ({ page }) => {
  const s = seed();
  const tok = (await rpc(s.base, "AuthService/SignIn", { email: s.clinicianA.email, password: s.clinicianA.password })).tokens.accessToken;
  await signInAs(page, s.clinicianA, "#/");
  const row = page.locator(`#triage tr[data-patient="${s.patients.messages}"]`);
  await expect(row.locator(".unread-messages")).toHaveText("1 unread");
  await expectAccessible(page, "triage with an unread message");

  await row.getByRole("link", { name: "Mia Message" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Mia Message");
  const section = page.getByRole("region", { name: "Messages" });
  const msgs = section.locator("ol.thread > li");
  await expect(msgs).toHaveCount(1);
  await expect(msgs.first()).toHaveClass(/unread/);
  await expect(msgs.first().locator(".sender")).toHaveText("Patient");
  await expect(msgs.first().locator(".badge")).toHaveText("New");
  await expect(msgs.first().locator(".msg-body")).toHaveText(s.patientMessage);
  await expect(section.locator("#thread-summary")).toContainText("1 new from the patient");

  // Opening the thread moved the team's read mark to its newest message.
  await expect.poll(async () => (await rpc(s.base, "MessageService/ListMessages", { patientId: s.patients.messages }, tok)).thread?.readByTeamThrough).toBe("1");
  await expectAccessible(page, "patient with a message thread");

  await page.getByRole("link", { name: "← Triage" }).click();
  await expect(row.locator(".unread-messages")).toHaveText("0");

  // A reply: the counter, the limit, then the thread and the server.
  await row.getByRole("link", { name: "Mia Message" }).click();
  await expect(msgs).toHaveCount(1);
  await expect(msgs.first()).not.toHaveClass(/unread/);
  const box = section.getByLabel("Message to the patient");
  const send = section.getByRole("button", { name: "Send" });
  await expect(send).toBeDisabled();
  await box.fill("x".repeat(2001));
  await expect(section.locator("#compose-count")).toHaveText("2001 of 2000 characters: 1 too many");
  await expect(send).toBeDisabled();
  const reply = "Yes: on long shift days do the walking only, and the stretches the day after.";
  await box.fill(reply);
  await expect(section.locator("#compose-count")).toHaveText(`${reply.length} of 2000 characters`);
  await send.click();
  await expect(page.getByRole("status").filter({ hasText: "Sent." })).toBeVisible();
  await expect(msgs).toHaveCount(2);
  // Oldest at the top: the patient's message first, the reply at the bottom.
  await expect(msgs.nth(0).locator(".sender")).toHaveText("Patient");
  await expect(msgs.nth(1).locator(".sender")).toHaveText("Dr. Ada Test");
  await expect(msgs.nth(1).locator(".msg-body")).toHaveText(reply);
  await expect(box).toHaveValue("");

  const stored = await rpc(s.base, "MessageService/ListMessages", { patientId: s.patients.messages }, tok);
  expect(stored.messages).toHaveLength(2);
  expect(stored.messages[0].body).toBe(reply);
  expect(stored.messages[0].sender).toBe("MESSAGE_SENDER_CLINICIAN");
  expect(stored.messages[0].senderId).toBe(s.clinicianA.id);
  await expectAccessible(page, "patient after a reply");
  await shot(page, "messages", { name: "messages", section: 'section[aria-labelledby="h-messages"]' });
});
