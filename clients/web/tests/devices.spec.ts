import { expect, test, expectAccessible, shot, signInAs } from "./helpers";
import { rpc } from "./rpc";
import { seed } from "./seed";

test("a phone enrolls with the code the page shows, and the page revokes it", async ({ page }) => {
  const s = seed();
  await signInAs(page, s.clinicianA, `#/patients/${s.patients.urgent}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Ursula Redflag");
  const rows = page.locator("#devices tbody tr");
  await expect(rows).toHaveCount(1);

  await page.getByLabel("Code valid for").selectOption({ label: "30 minutes" });
  await page.getByRole("button", { name: "Create an enrollment code" }).click();
  const code = (await page.locator("#enroll-code").textContent())!.trim();
  expect(code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
  await expect(page.getByRole("img", { name: "QR code of the enrollment code" })).toBeVisible();
  expect(Number(await page.locator("svg.qr").getAttribute("data-modules"))).toBeGreaterThanOrEqual(21);
  await expectAccessible(page, "patient with an enrollment code");
  await shot(page, "enrollment", { name: "enrollment", section: 'section[aria-labelledby="h-phones"]' });

  // The code is what the server issued: a phone enrolls with it, once.
  const e = await rpc(s.base, "AuthService/EnrollDevice", { enrollmentCode: code, deviceName: "second phone", platform: "PLATFORM_IOS" });
  expect(e.patientId).toBe(s.patients.urgent);
  await expect(rpc(s.base, "AuthService/EnrollDevice", { enrollmentCode: code, deviceName: "third", platform: "PLATFORM_IOS" })).rejects.toThrow(/unauthenticated/);

  await page.getByRole("button", { name: "Refresh the device list" }).click();
  await expect(rows).toHaveCount(2);
  const row = page.locator(`#devices tr[data-device="${e.deviceId}"]`);
  await row.getByRole("button", { name: "Revoke second phone" }).click();
  await expect(row.getByRole("button", { name: "Yes, revoke" })).toBeFocused();
  await row.getByRole("button", { name: "Yes, revoke" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Revoked second phone." })).toBeVisible();
  await expect(page.locator(`#devices tr[data-device="${e.deviceId}"]`)).toContainText("Revoked");

  // Its token stops working at once; the first phone is untouched.
  await expect(rpc(s.base, "PlanService/GetPlan", {}, e.tokens.accessToken)).rejects.toThrow(/unauthenticated/);
  await expect(rows.filter({ hasText: "Revoked" })).toHaveCount(1);
});
