import { expect, test, expectAccessible, shot, signInAs } from "./helpers";
import { Phone, rpc, uuidv7 } from "./rpc";
import { seed } from "./seed";

const DAY = 86_400_000;
const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
const ymd = (t: number) => {
  const d = new Date(t);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
};

test("a PSFS assigned from the page: field errors, the phone's answers as chart and table, improved, then ended", async ({ page }) => {
  const s = seed();
  const now = Date.now();
  const start = iso(now - 14 * DAY);
  const today = iso(now);
  await signInAs(page, s.clinicianA, `#/patients/${s.patients.outcomes}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Quinn Questionnaire");
  const section = page.getByRole("region", { name: "Outcome measures" });
  await expect(section.getByText("No questionnaire assigned yet.")).toBeVisible();

  // A bad schedule: the server's field violations land on their fields.
  await section.getByLabel("Instrument").selectOption("psfs");
  await section.getByLabel("Baseline day").fill(start);
  await section.getByLabel("Repeat every (weeks)").fill("53");
  await section.getByLabel("Visit dates").fill(iso(now - 20 * DAY));
  await section.getByRole("button", { name: "Assign" }).click();
  await expect(page.locator("#assign-every-weeks-error")).toContainText("must be from 0 (baseline only) to 52");
  await expect(page.locator("#assign-visit-dates-error")).toContainText(`Visit ${iso(now - 20 * DAY)}: must not be before the start`);
  await expect(section.getByLabel("Repeat every (weeks)")).toHaveAttribute("aria-invalid", "true");
  await expect(section.getByLabel("Visit dates")).toHaveAttribute("aria-invalid", "true");
  await expectAccessible(page, "assign form with field errors");

  // The ODI's licensed text is not imported: the server's precondition.
  await section.getByLabel("Repeat every (weeks)").fill("2");
  await section.getByLabel("Visit dates").fill("");
  await section.getByLabel("Instrument").selectOption("odi");
  await section.getByRole("button", { name: "Assign" }).click();
  await expect(section.locator("form.assign [role=alert]")).toContainText("item text is licensed and does not ship with hep");
  await expect(page.locator("#assign-every-weeks-error")).toBeEmpty();
  await expect(section.locator("article.outcome")).toHaveCount(0);

  // The PSFS: baseline two weeks ago, then every 2 weeks.
  await section.getByLabel("Instrument").selectOption("psfs");
  await section.getByRole("button", { name: "Assign" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Assigned Patient-Specific Functional Scale." })).toBeVisible();
  const card = section.locator("article.outcome");
  await expect(card).toHaveCount(1);
  await expect(card.getByRole("heading", { level: 3 })).toHaveText("Patient-Specific Functional Scale");
  await expect(card).toContainText(`Baseline ${start}, then every 2 weeks`);
  await expect(card.locator(".next-due")).toContainText(`Next due: ${today}`);
  await expect(card.locator(".overdue")).toContainText(start);
  await expect(card).toContainText("No answers yet.");
  // After the page redraws, the form offers the PSFS again; a second one
  // is refused by the server, with its reason.
  await expect(section.getByLabel("Instrument")).toHaveValue("psfs");
  await section.getByRole("button", { name: "Assign" }).click();
  await expect(section.locator("form.assign [role=alert]")).toContainText("already has the Patient-Specific Functional Scale assigned");
  await expect(card).toHaveCount(1);

  // The phone answers the baseline (mean 3) and today's slot (mean 5).
  const tok = (await rpc(s.base, "AuthService/SignIn", { email: s.clinicianA.email, password: s.clinicianA.password })).tokens.accessToken;
  const list = await rpc(s.base, "OutcomeService/ListAssignments", { patientId: s.patients.outcomes }, tok);
  expect(list.assignments).toHaveLength(1);
  const assignmentId = list.assignments[0].id;
  const phone = new Phone(s.base, s.outcomesPhone.deviceId, s.outcomesPhone.token);
  phone.seq = s.outcomesPhone.seq;
  const answer = (slot: number, ratings: number[]) => ({
    response: {
      id: uuidv7(),
      assignmentId,
      slotDate: ymd(slot),
      authoredTime: new Date(Math.min(slot + 12 * 3600_000, now - 60_000)).toISOString(),
      answers: ratings.flatMap((v, i) => [
        { linkId: `activity-${i + 1}-name`, text: "an activity" },
        { linkId: `activity-${i + 1}-rating`, value: v },
      ]),
    },
  });
  await phone.push(answer(now - 14 * DAY, [3, 2, 4]), answer(now, [6, 5, 5, 4]));

  await page.reload();
  await expect(card).toHaveCount(1);
  const chart = card.locator("svg.chart");
  await expect(chart).toHaveAttribute("role", "img");
  await expect(chart.locator("circle.point")).toHaveCount(2);
  await expect(chart.locator(`circle[data-slot="${start}"]`)).toHaveAttribute("data-value", "3.0");
  await expect(chart.locator(`circle[data-slot="${today}"]`)).toHaveAttribute("data-value", "5.0");
  await expect(chart.locator("line.baseline")).toHaveAttribute("data-value", "3.0");
  await expect(chart.locator("rect.mcid-band")).toHaveAttribute("data-low", "1.0");
  await expect(chart.locator("rect.mcid-band")).toHaveAttribute("data-high", "5.0");
  const rows = card.locator("table.outcome-scores tbody tr");
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0).locator("th")).toHaveText(start);
  await expect(rows.nth(0).locator("td").nth(0)).toHaveText("3.0");
  await expect(rows.nth(1).locator("th")).toHaveText(today);
  await expect(rows.nth(1).locator("td").nth(0)).toHaveText("5.0");
  await expect(rows.nth(1).locator("td").nth(1)).toHaveText("+2.0");
  await expect(card.locator(".change.improved")).toContainText("Improved: +2.0 points (baseline 3.0, latest 5.0), at least the MCID of 2.0 points");
  await expect(card.locator(".overdue")).toHaveCount(0);
  await expectAccessible(page, "patient with outcome measures");
  await shot(page, "outcomes", { name: "outcomes", section: 'section[aria-labelledby="h-outcomes"]' });

  // Ending asks first, then the server has it ended.
  await card.getByRole("button", { name: "End Patient-Specific Functional Scale" }).click();
  await expect(card.getByRole("button", { name: "Yes, end it" })).toBeFocused();
  await card.getByRole("button", { name: "Yes, end it" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Ended Patient-Specific Functional Scale." })).toBeVisible();
  await expect(card.getByRole("heading", { level: 3 })).toHaveText("Patient-Specific Functional Scale (ended)");
  const after = await rpc(s.base, "OutcomeService/ListAssignments", { patientId: s.patients.outcomes, includeEnded: true }, tok);
  expect(after.assignments[0].endTime).toBeTruthy();
});
