import { expect, test, expectAccessible, shot, signInAs } from "./helpers";
import { rpc } from "./rpc";
import { seed } from "./seed";
import type { Page } from "@playwright/test";

// endSession ends the page's session from outside: it rotates the page's
// refresh cookie from here and signs that session out, so the page's
// access token and its cookie both stop working (what a revocation or an
// expiry does).
async function endSession(page: Page, base: string) {
  const cookie = (await page.context().cookies()).find((c) => c.name === "hep_refresh");
  expect(cookie).toBeTruthy();
  const post = (path: string, hdr: Record<string, string>) =>
    fetch(base + path, { method: "POST", headers: { "X-HEP-Session": "1", "Content-Type": "application/json", ...hdr }, body: "" });
  const r = await post("/auth/refresh", { Cookie: `hep_refresh=${cookie!.value}` });
  expect(r.status).toBe(200);
  const access = ((await r.json()) as any).tokens.accessToken as string;
  expect((await post("/auth/signout", { Authorization: `Bearer ${access}` })).status).toBe(200);
}

test("when the session ends, a dialog asks to sign in again and the page keeps its place", async ({ page }) => {
  const s = seed();
  await signInAs(page, s.clinicianA, `#/patients/${s.patients.chart}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Chandra Chart");
  await expect(page.locator("#weeks")).toBeVisible();

  await endSession(page, s.base);

  // The next call finds the session over.
  await page.getByLabel("Range").selectOption({ label: "Last 8 weeks" });
  const dialog = page.getByRole("dialog", { name: "Sign in again" });
  await expect(dialog).toBeVisible();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Chandra Chart");
  // Escape does not dismiss it; focus is in it, on the password (the
  // email is remembered from the sign-in).
  await page.keyboard.press("Escape");
  await expect(dialog).toBeVisible();
  await expect(dialog.getByLabel("Password")).toBeFocused();
  await expectAccessible(page, "session-ended dialog");
  await shot(page, "session-ended", { name: "session-ended", height: 720 });
  await expect(dialog.getByLabel("Email")).toHaveValue(s.clinicianA.email);
  await dialog.getByLabel("Password").fill(s.clinicianA.password);
  await dialog.getByRole("button", { name: "Sign in again" }).click();
  await expect(dialog).toBeHidden();
  // The call that failed was sent again: the 8-week range is shown.
  const from = new Date(Date.now() - 55 * 86_400_000).toISOString().slice(0, 10);
  await expect(page.locator("#weeks tbody tr").first().getByRole("rowheader")).toHaveText(new RegExp(`^${from} – `));
  await expect(page.getByLabel("Range")).toHaveValue("56");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Chandra Chart");
});

test("an edit in the plan editor survives the session's end: after signing in again the save goes through with it", async ({ page }) => {
  const s = seed();
  await signInAs(page, s.clinicianA, `#/patients/${s.patients.session}/plan`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Edit plan: Sasha Session");
  const item = page.locator('.plan-item[data-exercise="childs-pose"]');
  await item.getByLabel("Sets").fill("5");
  await item.getByLabel("Notes for the patient").fill("Breathe out as you sink back.");
  await page.getByLabel("Note on this version").fill("more sets");

  await endSession(page, s.base);
  await page.getByRole("button", { name: "Save plan" }).click();
  const dialog = page.getByRole("dialog", { name: "Sign in again" });
  await expect(dialog).toBeVisible();
  // Nothing was written while the session was over.
  const tok = (await rpc(s.base, "AuthService/SignIn", { email: s.clinicianA.email, password: s.clinicianA.password })).tokens.accessToken;
  expect((await rpc(s.base, "PlanService/GetPlan", { patientId: s.patients.session }, tok)).plan.version).toBe("1");
  await expect(item.getByLabel("Sets")).toHaveValue("5");

  await dialog.getByLabel("Password").fill(s.clinicianA.password);
  await dialog.getByRole("button", { name: "Sign in again" }).click();
  await expect(dialog).toBeHidden();
  // The refused save was sent again, with the edit.
  await expect(page.getByText("Saved version 2.")).toBeVisible();
  await expect(item.getByLabel("Sets")).toHaveValue("5");
  await expect(item.getByLabel("Notes for the patient")).toHaveValue("Breathe out as you sink back.");
  const plan = (await rpc(s.base, "PlanService/GetPlan", { patientId: s.patients.session }, tok)).plan;
  expect(plan.version).toBe("2");
  expect(plan.note).toBe("more sets");
  expect(plan.items[0].spec.dose.sets).toBe(5);
  expect(plan.items[0].spec.notes).toBe("Breathe out as you sink back.");
});
