import { expect, test, expectAccessible, shot, signInAs } from "./helpers";
import { Phone, rpc } from "./rpc";
import { seed } from "./seed";

test("acknowledging an alert that changed meanwhile is refused and reloaded; acknowledging what one saw works", async ({ page }) => {
  const s = seed();
  await signInAs(page, s.clinicianA, `#/patients/${s.patients.ack}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Alex Acknowledge");
  const card = page.locator("article.alert");
  await expect(card).toHaveCount(1);
  await expect(card).toHaveAttribute("data-occurrences", "1");
  await expect(card.getByRole("heading")).toHaveText("Pain severe");
  await expectAccessible(page, "patient with an open alert");

  // The phone sends another severe score while the clinician reads: the
  // same alert now has two occurrences the card does not show.
  const phone = new Phone(s.base, s.ackPhone.deviceId, s.ackPhone.token);
  phone.seq = s.ackPhone.seq;
  await phone.push(phone.checkin(new Date(Date.now() - 60_000), 9));

  await card.getByLabel("What was done").fill("Called the patient; advised rest.");
  await card.getByRole("button", { name: "Acknowledge" }).click();
  await expect(page.getByRole("status").filter({ hasText: "changed while you were reading" })).toBeVisible();
  await expect(card).toHaveAttribute("data-occurrences", "2");
  await shot(page, "alert-changed", { name: "alert-changed", section: 'section[aria-labelledby="h-alerts"]' });

  // The server kept it open.
  const tok = (await rpc(s.base, "AuthService/SignIn", { email: s.clinicianA.email, password: s.clinicianA.password })).tokens.accessToken;
  const open = async () => (await rpc(s.base, "AlertService/ListAlerts", { patientId: s.patients.ack, status: "ALERT_STATUS_OPEN" }, tok)).alerts ?? [];
  expect((await open()).length).toBe(1);

  // Both occurrences are listed; acknowledging what is shown now works.
  await card.getByText("2 occurrences").click();
  await expect(card.locator("details li")).toHaveCount(2);
  await card.getByLabel("What was done").fill("Called the patient twice; advised rest.");
  await card.getByRole("button", { name: "Acknowledge" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Acknowledged" })).toBeVisible();
  await expect(page.getByText("No open alerts.")).toBeVisible();
  expect((await open()).length).toBe(0);
});
