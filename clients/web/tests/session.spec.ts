import { expect, test, expectAccessible, shot, signInAs } from "./helpers";
import { seed } from "./seed";

test("when the session ends, a dialog asks to sign in again and the page keeps its place", async ({ page }) => {
  const s = seed();
  await signInAs(page, s.clinicianA, `#/patients/${s.patients.chart}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Chandra Chart");
  await expect(page.locator("#weeks")).toBeVisible();

  // End the session elsewhere: rotate the page's refresh cookie from here
  // and sign that session out, so the page's access token and its cookie
  // both stop working (what a revocation or an expiry does).
  const cookie = (await page.context().cookies()).find((c) => c.name === "hep_refresh");
  expect(cookie).toBeTruthy();
  const post = (path: string, hdr: Record<string, string>) =>
    fetch(s.base + path, { method: "POST", headers: { "X-HEP-Session": "1", "Content-Type": "application/json", ...hdr }, body: "" });
  const r = await post("/auth/refresh", { Cookie: `hep_refresh=${cookie!.value}` });
  expect(r.status).toBe(200);
  const access = ((await r.json()) as any).tokens.accessToken as string;
  expect((await post("/auth/signout", { Authorization: `Bearer ${access}` })).status).toBe(200);

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
  await shot(page, "session-ended");
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
