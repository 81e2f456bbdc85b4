import { readFileSync } from "node:fs";
import { expect, test, expectAccessible, shot, signInAs } from "./helpers";
import { rpc } from "./rpc";
import { seed } from "./seed";

test("the plan editor shows the gate's dry run: a refused device, an item waiting for clearance, the clearance, the save", async ({ page }) => {
  const s = seed();
  await signInAs(page, s.clinicianA, `#/patients/${s.patients.clearance}/plan`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Edit plan: Clara Clearance");
  await expect(page.getByText("No plan yet")).toBeVisible();

  const add = async (name: RegExp) => {
    const value = await page.getByLabel("Exercise to add").locator("option", { hasText: name }).first().getAttribute("value");
    await page.getByLabel("Exercise to add").selectOption(value!);
    await page.getByRole("button", { name: "Add item" }).click();
  };
  await add(/^Cat-cow/);
  await add(/^Inversion/);
  const catCow = page.locator('.plan-item[data-exercise="cat-cow"]');
  const inversion = page.locator('.plan-item[data-exercise="inversion-table"]');
  await page.getByRole("button", { name: "Check with the gate" }).click();
  await expect(catCow.locator(".check-result")).toContainText("Needs clearance");
  await expect(catCow.locator(".check-result")).toContainText(/pregnan/i);
  await expect(inversion.locator(".check-result")).toContainText("Contraindicated");
  await expect(inversion.locator(".check-result")).toContainText(/pregnan/i);
  await expect(page.getByText("The gate blocks at least one item")).toBeVisible();
  // A contraindication offers no clearance; the clearance-waiting item does.
  await expect(inversion.getByRole("button", { name: /despite pregnancy/ })).toHaveCount(0);
  await expectAccessible(page, "plan editor");
  await shot(page, "plan-editor", { name: "plan-editor", height: 1300 });

  // Saving is refused by the gate, each blocked item named.
  await page.getByRole("button", { name: "Save plan" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Not saved" })).toContainText("items[1]");

  // Remove the device, clear cat-cow for the pregnancy, check again, save.
  await inversion.getByRole("button", { name: /^Remove/ }).click();
  await catCow.getByLabel(/Reason to clear Cat-cow despite pregnancy/).fill("Second trimester, cleared by obstetrician");
  await catCow.getByRole("button", { name: /Clear Cat-cow despite pregnancy/ }).click();
  await expect(catCow.locator(".check-result")).toContainText("Allowed");
  await expect(page.getByText("The gate allows every item")).toBeVisible();
  await page.getByRole("button", { name: "Save plan" }).click();
  await expect(page.getByText("Saved version 1.")).toBeVisible();

  const tok = (await rpc(s.base, "AuthService/SignIn", { email: s.clinicianA.email, password: s.clinicianA.password })).tokens.accessToken;
  const plan = (await rpc(s.base, "PlanService/GetPlan", { patientId: s.patients.clearance }, tok)).plan;
  expect(plan.version).toBe("1");
  expect(plan.items.map((i: any) => [i.spec.exerciseId, i.state])).toEqual([["cat-cow", "ITEM_STATE_ACTIVE"]]);

  // The patient page's decision trail has the refusal and the clearance.
  await page.getByRole("link", { name: "← Clara Clearance" }).click();
  await expect(page.locator("#trail")).toContainText("plan refused");
  await expect(page.locator("#plan-items")).toContainText("Active");
  await expect(page.locator("#clearances tbody tr")).toHaveCount(1);
  await expect(page.locator("#clearances tbody tr")).toContainText("pregnancy");
  await expect(page.locator("#clearances tbody tr")).toContainText("live");
});

test("export downloads the visit summary as PDF and the record as CSV", async ({ page }) => {
  const s = seed();
  await signInAs(page, s.clinicianA, `#/patients/${s.patients.chart}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Chandra Chart");
  for (const [label, magic] of [["PDF visit summary", "%PDF"], ["CSV", ""]] as const) {
    await page.getByLabel("Format").selectOption({ label });
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download" }).click()]);
    const file = await download.path();
    const body = readFileSync(file);
    expect(body.length).toBeGreaterThan(100);
    if (magic) expect(body.subarray(0, 4).toString()).toBe(magic);
    else expect(body.toString("utf8")).toContain(",");
    await expect(page.getByRole("status").filter({ hasText: "Downloaded" })).toContainText(download.suggestedFilename());
  }
});
