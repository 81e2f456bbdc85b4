import { expect, test } from "@playwright/test";
import { expectAccessible, shot, signInAs } from "./helpers";
import { rpc } from "./rpc";
import { seed } from "./seed";

test("triage lists the care team's patients in the server's order, urgent first, with reasons and filters", async ({ page }) => {
  const s = seed();
  await signInAs(page, s.clinicianA);
  const rows = page.locator("#triage tbody tr");
  await expect(rows).toHaveCount(4);

  // The page keeps ReviewService.ListTriage's order.
  const tok = (await rpc(s.base, "AuthService/SignIn", { email: s.clinicianA.email, password: s.clinicianA.password })).tokens.accessToken;
  const want = (await rpc(s.base, "ReviewService/ListTriage", { pageSize: 50 }, tok)).entries as { patientId: string; reason: string; tier: string }[];
  expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-patient")))).toEqual(want.map((e) => e.patientId));
  expect(new Set(want.map((e) => e.patientId))).toEqual(new Set([s.patients.urgent, s.patients.chart, s.patients.ack, s.patients.clearance]));

  // Urgent first, then the open alert; each row says why.
  await expect(rows.nth(0)).toHaveAttribute("data-patient", s.patients.urgent);
  await expect(rows.nth(0)).toContainText("Urgent");
  await expect(rows.nth(1)).toHaveAttribute("data-patient", s.patients.ack);
  await expect(rows.nth(1)).toContainText("Open alerts");
  for (let i = 0; i < want.length; i++) await expect(rows.nth(i)).toContainText(want[i].reason);
  // Another clinician's patient is not on this list.
  await expect(page.locator(`#triage tr[data-patient="${s.patients.otherTeam}"]`)).toHaveCount(0);
  await expectAccessible(page, "triage");
  await shot(page, "triage");

  // Filters narrow the list and keep the order.
  await page.getByLabel("Show").selectOption({ label: "Urgent" });
  await expect(rows).toHaveCount(1);
  await expect(page.getByRole("status").filter({ hasText: "Showing" })).toContainText("Showing 1 of 4");
  await page.getByLabel("Show").selectOption({ label: "All patients" });
  await page.getByLabel("Name contains").fill("chart");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toHaveAttribute("data-patient", s.patients.chart);

  // The keyboard reaches a patient.
  await rows.first().getByRole("link").focus();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Chandra Chart");
});
