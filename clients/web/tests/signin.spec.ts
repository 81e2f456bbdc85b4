import { expect, test, expectAccessible, shot, signInAs } from "./helpers";
import { seed } from "./seed";

test("a wrong password is refused, the right one opens triage, the session survives a reload, sign-out ends it", async ({ page }) => {
  const s = seed();
  await page.goto(s.base + "/");
  await expect(page.getByRole("heading", { name: "Sign in to hep" })).toBeVisible();
  await expectAccessible(page, "sign-in");
  await shot(page, "signin", { name: "signin", height: 560 });
  await page.getByLabel("Email").fill(s.clinicianA.email);
  await page.getByLabel("Password").fill("not the passphrase");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("email or password is not right");

  await page.getByLabel("Password").fill(s.clinicianA.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Patients to review" })).toBeVisible();

  // The access token is in memory only; a reload finds the session again
  // through the HttpOnly refresh cookie.
  expect(await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie)).toBe("{}{}");
  const cookies = await page.context().cookies();
  const c = cookies.find((x) => x.name === "hep_refresh");
  expect(c?.httpOnly && c.sameSite === "Strict" && c.path === "/auth/").toBeTruthy();
  await page.reload();
  await expect(page.getByRole("heading", { name: "Patients to review" })).toBeVisible();

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in to hep" })).toBeVisible();
  await page.reload();
  await expect(page.getByRole("heading", { name: "Sign in to hep" })).toBeVisible();
});

test("an administrator is told the dashboard is for clinicians and sees the accounts", async ({ page }) => {
  const s = seed();
  await signInAs(page, s.admin);
  await expect(page.getByRole("heading", { name: "Accounts" })).toBeVisible();
  await expect(page.getByText("This dashboard is for clinicians")).toBeVisible();
  await expect(page.getByRole("cell", { name: s.clinicianA.email })).toBeVisible();
  await expectAccessible(page, "admin accounts");
  await shot(page, "admin");
});
