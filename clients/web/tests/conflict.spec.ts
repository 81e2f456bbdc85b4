import { expect, test, expectAccessible, shot, signInAs, watchPage } from "./helpers";
import { rpc } from "./rpc";
import { seed } from "./seed";

test("a second tab's save makes the first tab's save a conflict, never an overwrite; the newest plan is loaded on request", async ({ page, context }) => {
  const s = seed();
  const editor = `#/patients/${s.patients.conflict}/plan`;
  await signInAs(page, s.clinicianA, editor);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Edit plan: Cora Conflict");
  await expect(page.locator("#editing-version")).toHaveText("Editing version 1.");
  const sets = (p: typeof page) => p.locator('.plan-item[data-exercise="cat-cow"]').getByLabel("Sets");

  // The second tab shares the session (the same cookie jar).
  const other = await context.newPage();
  const problems: string[] = [];
  watchPage(other, problems);
  await other.goto(s.base + "/" + editor);
  await expect(other.getByRole("heading", { level: 1 })).toHaveText("Edit plan: Cora Conflict");
  await expect(other.locator("#editing-version")).toHaveText("Editing version 1.");

  // The first tab edits; the second edits differently and saves first.
  await sets(page).fill("4");
  await page.getByLabel("Note on this version").fill("four sets");
  await sets(other).fill("3");
  await other.getByRole("button", { name: "Save plan" }).click();
  await expect(other.getByText("Saved version 2.")).toBeVisible();

  await page.getByRole("button", { name: "Save plan" }).click();
  const conflict = page.getByRole("alert").filter({ hasText: "Someone else changed this plan" });
  await expect(conflict).toBeVisible();
  await expect(conflict).toContainText("nothing was saved");
  // The edits are still there, and the server kept the other tab's plan.
  await expect(sets(page)).toHaveValue("4");
  await expect(page.getByLabel("Note on this version")).toHaveValue("four sets");
  const tok = (await rpc(s.base, "AuthService/SignIn", { email: s.clinicianA.email, password: s.clinicianA.password })).tokens.accessToken;
  const plan = async () => (await rpc(s.base, "PlanService/GetPlan", { patientId: s.patients.conflict }, tok)).plan;
  let p = await plan();
  expect(p.version).toBe("2");
  expect(p.items[0].spec.dose.sets).toBe(3);
  await expectAccessible(page, "plan conflict");
  await shot(page, "plan-conflict", { name: "plan-conflict", height: 1100 });

  // Loading the newest version replaces the edits, and says so.
  await conflict.getByRole("button", { name: "Load the newest plan (discards your edits)" }).click();
  await expect(page.locator("#editing-version")).toHaveText("Editing version 2.");
  await expect(sets(page)).toHaveValue("3");
  await expect(page.getByLabel("Note on this version")).toHaveValue("");
  await expect(page.getByRole("status").filter({ hasText: "Your unsaved edits to version 1 were discarded" })).toBeVisible();
  // Saving from there writes version 3 over version 2, as intended.
  await sets(page).fill("4");
  await page.getByRole("button", { name: "Save plan" }).click();
  await expect(page.getByText("Saved version 3.")).toBeVisible();
  p = await plan();
  expect(p.version).toBe("3");
  expect(p.items[0].spec.dose.sets).toBe(4);
  await other.close();
  expect(problems, "script errors or CSP violations in the second tab").toEqual([]);
});
