import { expect, test, expectAccessible, shot, signInAs } from "./helpers";
import { rpc, RpcError } from "./rpc";
import { seed } from "./seed";

const signInRpc = (base: string, email: string, password: string) => rpc(base, "AuthService/SignIn", { email, password });

test("an administrator creates a clinician, disables and enables the account", async ({ page }) => {
  const s = seed();
  await signInAs(page, s.admin);
  await expect(page.getByRole("heading", { level: 1, name: "Accounts" })).toBeVisible();
  await expect(page.getByText("This dashboard is for clinicians")).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Accounts" })).toHaveAttribute("aria-current", "page");
  await expect(page.locator("#accounts").getByRole("cell", { name: s.clinicianA.email })).toBeVisible();
  await expectAccessible(page, "admin accounts");
  await shot(page, "admin-accounts", { name: "accounts", height: 900 });

  // A short password is refused by the server, on its field.
  const eve = { email: "eve@clinic.example", name: "Dr. Eve New", password: "a long passphrase for eve" };
  await page.getByLabel("Email").fill(eve.email);
  await page.getByLabel("Name").fill(eve.name);
  await page.getByLabel("Role").selectOption({ label: "Clinician" });
  await page.getByLabel("Password").fill("short");
  // The browser's own minlength check would stop the form: lift it so the
  // server's answer is what is shown.
  await page.getByLabel("Password").evaluate((e) => e.removeAttribute("minlength"));
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Not created" })).toContainText("password");
  await expect(page.getByLabel("Password")).toHaveAttribute("aria-invalid", "true");

  await page.getByLabel("Password").fill(eve.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("status").filter({ hasText: `Created ${eve.name}` })).toBeVisible();
  const row = page.locator("#accounts tbody tr").filter({ hasText: eve.email });
  await expect(row).toContainText("clinician");
  await expect(row).toContainText("active");
  await signInRpc(s.base, eve.email, eve.password);

  // Disabling asks first; then the account cannot sign in.
  await row.getByRole("button", { name: `Disable ${eve.name}` }).click();
  await row.getByRole("button", { name: "Yes, disable" }).click();
  await expect(page.getByRole("status").filter({ hasText: `${eve.name} is now disabled` })).toBeVisible();
  await expect(row).toContainText("disabled");
  await expect(signInRpc(s.base, eve.email, eve.password)).rejects.toBeInstanceOf(RpcError);
  await row.getByRole("button", { name: `Enable ${eve.name}` }).click();
  await expect(row).toContainText("active");
  await signInRpc(s.base, eve.email, eve.password);
  // The admin's own row offers no disable.
  await expect(page.locator("#accounts tbody tr").filter({ hasText: s.admin.email }).getByRole("button")).toHaveCount(0);
});

test("an administrator adds a clinician to a patient's care team and removes them, by the patient's id", async ({ page }) => {
  const s = seed();
  await signInAs(page, s.admin);
  await page.getByRole("link", { name: "Care teams" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Care teams" })).toBeVisible();
  // An unknown id is simply not found.
  await page.getByLabel("Patient id").fill("00000000-0000-7000-8000-000000000000");
  await page.getByRole("button", { name: "Show care team" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "No patient has this id." })).toBeVisible();

  await page.getByLabel("Patient id").fill(s.patients.careTeam);
  await page.getByRole("button", { name: "Show care team" }).click();
  const members = page.locator("#members tbody tr");
  await expect(members).toHaveCount(1);
  await expect(members).toContainText("Dr. Bo Test");
  // The admin sees no patient data: no name on the page.
  await expect(page.getByText("Kit Careteam")).toHaveCount(0);

  const tokD = (await signInRpc(s.base, s.clinicianD.email, s.clinicianD.password)).tokens.accessToken;
  const getAsD = () => rpc(s.base, "PatientService/GetPatient", { patientId: s.patients.careTeam }, tokD);
  await expect(getAsD()).rejects.toMatchObject({ code: "not_found" });

  await page.getByLabel("Clinician to add").selectOption({ label: `Dr. Dee Test (${s.clinicianD.email})` });
  await page.getByRole("button", { name: "Add to the care team" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Added Dr. Dee Test" })).toBeVisible();
  await expect(members).toHaveCount(2);
  expect((await getAsD()).patient.displayName).toBe("Kit Careteam");
  await expectAccessible(page, "care team");
  await shot(page, "admin-care-team", { name: "care-team", height: 800 });

  const dee = members.filter({ hasText: "Dr. Dee Test" });
  await dee.getByRole("button", { name: "Remove Dr. Dee Test" }).click();
  await dee.getByRole("button", { name: "Yes, remove" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Removed Dr. Dee Test" })).toBeVisible();
  await expect(members).toHaveCount(1);
  await expect(getAsD()).rejects.toMatchObject({ code: "not_found" });
});

test("the audit list filters by patient and pages forward and back", async ({ page }) => {
  const s = seed();
  // Thirty reads of the care team's membership: thirty audit rows naming
  // the patient (the seeded clinic wrote one more, its creation).
  const adminTok = (await signInRpc(s.base, s.admin.email, s.admin.password)).tokens.accessToken;
  for (let i = 0; i < 30; i++) await rpc(s.base, "PatientService/ListCareTeamMembers", { patientId: s.patients.careTeam }, adminTok);

  await signInAs(page, s.admin, "#/audit");
  await expect(page.getByRole("heading", { level: 1, name: "Audit trail" })).toBeVisible();
  // Unfiltered: the last day's events, sign-ins among them.
  await expect(page.locator("#audit-events tbody tr").first()).toBeVisible();
  await expect(page.locator('#audit-events tr[data-action="auth.sign_in"]').first()).toBeVisible();

  await page.getByLabel("Patient id (optional)").fill(s.patients.careTeam);
  await page.getByLabel("Per page").selectOption("25");
  await page.getByRole("button", { name: "Show events" }).click();
  const rows = page.locator("#audit-events tbody tr");
  await expect(page.getByText("Page 1", { exact: true })).toBeVisible();
  await expect(rows).toHaveCount(25);
  // Oldest first: the patient's creation by clinician B opens the list.
  await expect(rows.first()).toHaveAttribute("data-action", "patient.create");
  await expect(rows.first()).toContainText("Dr. Bo Test");
  expect(new Set(await rows.evaluateAll((trs) => trs.map((tr) => tr.querySelector("td.patient [data-id]")?.getAttribute("data-id"))))).toEqual(new Set([s.patients.careTeam]));
  await expect(rows.filter({ hasText: "care_team.list" }).first()).toContainText("administrator");
  await expectAccessible(page, "audit");
  await shot(page, "admin-audit", { name: "audit", height: 1000 });
  const requestIds = (trs: Element[]) => trs.map((tr) => tr.lastElementChild!.querySelector("[data-id]")!.getAttribute("data-id"));
  const firstPage = await rows.evaluateAll(requestIds);

  await page.getByRole("button", { name: "Next page" }).click();
  await expect(page.getByText(/^Page 2/)).toBeVisible();
  const second = await rows.evaluateAll(requestIds);
  expect(second.length).toBeGreaterThanOrEqual(6);
  expect(second.filter((x) => firstPage.includes(x))).toEqual([]);
  await page.getByRole("button", { name: "Previous page" }).click();
  await expect(page.getByText("Page 1", { exact: true })).toBeVisible();
  expect(await rows.evaluateAll(requestIds)).toEqual(firstPage);
  await expect(page.getByRole("button", { name: "Previous page" })).toBeDisabled();
});
