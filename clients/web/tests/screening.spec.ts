import { expect, test, expectAccessible, shot, signInAs } from "./helpers";
import { rpc } from "./rpc";
import { seed } from "./seed";

test("recording a screening answer suspends plan items, the screening alert appears, and it is acknowledged", async ({ page }) => {
  // The longest spec (three axe checks of the whole patient page): room
  // for a busy machine.
  test.setTimeout(120_000);
  const s = seed();
  await signInAs(page, s.clinicianA, `#/patients/${s.patients.screening}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Sol Screening");
  const items = page.locator("#plan-items tbody tr");
  await expect(items).toHaveCount(2);
  await expect(items.filter({ hasText: "Cat-cow" })).toContainText("Active");
  await expect(items.filter({ hasText: "Bar hang" })).toContainText("Active");
  await expect(page.getByText("No open alerts.")).toBeVisible();

  // Every flag is offered as present, absent or unknown with a note.
  await page.getByText("Record screening answers").click();
  const form = page.locator("form.screening-entry");
  await expect(form.locator("fieldset.flag")).toHaveCount(11);
  await expect(form.getByRole("group", { name: "Hypertension" }).getByLabel("Absent")).toBeChecked();
  // Nothing changed: nothing is sent.
  await form.getByRole("button", { name: "Record answers" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Nothing to record" })).toBeVisible();

  const osteo = form.getByRole("group", { name: "Osteoporosis" });
  await osteo.getByLabel("Present").check();
  await osteo.getByLabel("Note on osteoporosis").fill("DEXA T-score -2.8");
  await expectAccessible(page, "screening entry");
  await shot(page, "screening-entry", { name: "screening-entry", section: 'section[aria-labelledby="h-screening"]' });
  await form.getByRole("button", { name: "Record answers" }).click();

  // The server re-gated the plan: the page names both changed items.
  const result = page.locator("#screening-result");
  await expect(result).toContainText("Recorded 1 answer.");
  await expect(result.locator('li[data-exercise="cat-cow"]')).toHaveText("Cat-cow: now suspended");
  await expect(result.locator('li[data-exercise="bar-hang"]')).toHaveText("Bar hang: now suspended");
  await expect(page.locator('#screening tr[data-flag="OSTEOPOROSIS"]')).toContainText("present");
  await expect(page.locator('#screening tr[data-flag="OSTEOPOROSIS"]')).toContainText("clinician verified");
  await expect(page.locator('#screening tr[data-flag="OSTEOPOROSIS"]')).toContainText("DEXA T-score -2.8");
  // The plan and the alert are reloaded on the page, with no navigation.
  await expect(items.filter({ hasText: "Cat-cow" })).toContainText("Suspended");
  await expect(items.filter({ hasText: "Cat-cow" })).toContainText(/osteoporosis/i);
  await expect(items.filter({ hasText: "Bar hang" })).toContainText("Suspended");
  const card = page.locator("article.alert");
  await expect(card).toHaveCount(1);
  await expect(card.getByRole("heading")).toHaveText("Screening changed");
  await expect(page.locator("#trail")).toContainText("screening changed");
  await expectAccessible(page, "patient after a screening change");
  await shot(page, "screening-changed", { name: "screening-alert", section: 'section[aria-labelledby="h-alerts"]' });
  await shot(page, "screening-suspended", { name: "screening-suspended", section: 'section[aria-labelledby="h-plan"]' });

  // The server agrees.
  const tok = (await rpc(s.base, "AuthService/SignIn", { email: s.clinicianA.email, password: s.clinicianA.password })).tokens.accessToken;
  const plan = (await rpc(s.base, "PlanService/GetPlan", { patientId: s.patients.screening }, tok)).plan;
  expect(plan.items.map((i: any) => i.state)).toEqual(["ITEM_STATE_SUSPENDED", "ITEM_STATE_SUSPENDED"]);
  const open = async () => (await rpc(s.base, "AlertService/ListAlerts", { patientId: s.patients.screening, status: "ALERT_STATUS_OPEN" }, tok)).alerts ?? [];
  expect((await open()).map((a: any) => a.kind)).toEqual(["ALERT_KIND_SCREENING_CHANGED"]);

  // One refresh shows the same, and the alert is acknowledged from there.
  await page.reload();
  await expect(card).toHaveCount(1);
  await expect(card.getByRole("heading")).toHaveText("Screening changed");
  await card.getByLabel("What was done").fill("Reviewed the DEXA result; plan to be revised.");
  await card.getByRole("button", { name: "Acknowledge" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Acknowledged" })).toBeVisible();
  await expect(page.getByText("No open alerts.")).toBeVisible();
  expect(await open()).toEqual([]);
});
