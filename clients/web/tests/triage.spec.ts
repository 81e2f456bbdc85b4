import { expect, test, expectAccessible, shot, signInAs } from "./helpers";
import { rpc } from "./rpc";
import { seed } from "./seed";

test("triage lists the care team's patients in the server's order, urgent first, with reasons and filters", async ({ page }) => {
  const s = seed();
  await signInAs(page, s.clinicianC);
  const rows = page.locator("#triage tbody tr");
  await expect(rows).toHaveCount(3);

  // Urgent (red flags), then the open alert, then the quiet patient.
  const order = [s.triage.urgent, s.triage.alert, s.triage.quiet];
  expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-patient")))).toEqual(order);
  await expect(rows.nth(0).locator(".tier")).toHaveText("Urgent");
  await expect(rows.nth(0)).toContainText("Tara Urgent");
  await expect(rows.nth(1).locator(".tier")).toHaveText("Open alerts");
  await expect(rows.nth(2)).toContainText("Tess Quiet");

  // The same order and reasons as ReviewService.ListTriage.
  const tok = (await rpc(s.base, "AuthService/SignIn", { email: s.clinicianC.email, password: s.clinicianC.password })).tokens.accessToken;
  const want = (await rpc(s.base, "ReviewService/ListTriage", { pageSize: 50 }, tok)).entries as { patientId: string; reason: string }[];
  expect(want.map((e) => e.patientId)).toEqual(order);
  for (let i = 0; i < want.length; i++) {
    expect(want[i].reason).not.toBe("");
    await expect(rows.nth(i)).toContainText(want[i].reason);
  }
  // Other clinicians' patients are not on this list.
  for (const id of [s.patients.otherTeam, s.patients.chart]) await expect(page.locator(`#triage tr[data-patient="${id}"]`)).toHaveCount(0);
  await expectAccessible(page, "triage");
  await shot(page, "triage", { name: "triage", height: 640 });

  // Filters narrow the list and keep the order.
  await page.getByLabel("Show").selectOption({ label: "Urgent" });
  await expect(rows).toHaveCount(1);
  await expect(page.getByRole("status").filter({ hasText: "Showing" })).toContainText("Showing 1 of 3");
  await page.getByLabel("Show").selectOption({ label: "Needs attention (not on track)" });
  await expect(rows.first()).toHaveAttribute("data-patient", s.triage.urgent);
  await page.getByLabel("Show").selectOption({ label: "All patients" });
  await page.getByLabel("Name contains").fill("theo");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toHaveAttribute("data-patient", s.triage.alert);

  // The keyboard reaches a patient.
  await rows.first().getByRole("link").focus();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Theo Alert");
  await expect(page.locator("article.alert")).toHaveCount(1);
});
