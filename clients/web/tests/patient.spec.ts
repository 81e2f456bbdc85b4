import { expect, test, expectAccessible, shot, signInAs } from "./helpers";
import { rpc } from "./rpc";
import { seed } from "./seed";

const fmt = (n: number) => n.toFixed(1);

test("the patient page's charts and table agree with the seeded check-ins, with the MCID band", async ({ page }) => {
  const s = seed();
  await signInAs(page, s.clinicianA, `#/patients/${s.patients.chart}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Chandra Chart");
  const weeks = page.locator("#weeks tbody tr");
  await expect(weeks.first()).toBeVisible();

  // Each week's mean and count from the seed, by the week's dates (UTC).
  const rows = await weeks.evaluateAll((trs) => trs.map((tr) => Array.from(tr.children).map((c) => c.textContent ?? "")));
  const checkins = s.chartCheckins.map((c) => ({ day: c.at.slice(0, 10), score: c.score }));
  let baseline: number | undefined;
  let seen = 0;
  for (const r of rows) {
    const [start, end] = r[0].split(" – ");
    const inWeek = checkins.filter((c) => c.day >= start && c.day <= end);
    seen += inWeek.length;
    expect(r[3], `check-ins in ${r[0]}`).toBe(String(inWeek.length));
    if (inWeek.length === 0) {
      expect(r[4]).toBe("—");
      continue;
    }
    const mean = inWeek.reduce((a, c) => a + c.score, 0) / inWeek.length;
    baseline ??= mean;
    expect(r[4], `mean pain in ${r[0]}`).toBe(fmt(mean));
    // The chart's point for the week holds the same value.
    await expect(page.locator(`#chart-pain circle[data-week="${start}"]`)).toHaveAttribute("data-value", fmt(mean));
    const change = mean - baseline;
    expect(r[6]).toBe((change > 0 ? "+" : "") + fmt(change));
  }
  expect(seen, "every seeded check-in is in a week of the table").toBe(checkins.length);
  await expect(page.locator("#chart-pain circle")).toHaveCount(rows.filter((r) => r[3] !== "0").length);

  // The MCID band around the baseline week's mean (6): the fall is the
  // smaller of 2 points and 30% of 6 (1.8), the rise 2 points.
  expect(baseline).toBe(6);
  await expect(page.locator("#mcid-band")).toHaveAttribute("data-low", "4.2");
  await expect(page.locator("#mcid-band")).toHaveAttribute("data-high", "8.0");
  await expect(weeks.last()).toContainText("improved");

  // Adherence bars carry the table's percentages, and both the server's.
  const tok = (await rpc(s.base, "AuthService/SignIn", { email: s.clinicianA.email, password: s.clinicianA.password })).tokens.accessToken;
  const p = (await rpc(s.base, "ReviewService/GetProgress", { patientId: s.patients.chart }, tok)).progress;
  const prescribedWeeks = p.weeks.filter((w: any) => (w.adherence?.prescribed ?? 0) > 0);
  expect(prescribedWeeks.length).toBeGreaterThan(0);
  await expect(page.locator("#chart-adherence rect.bar")).toHaveCount(prescribedWeeks.length);
  for (const w of prescribedWeeks) {
    const start = `${w.start.year}-${String(w.start.month).padStart(2, "0")}-${String(w.start.day).padStart(2, "0")}`;
    const pct = Math.round(w.adherence.percent ?? 0).toString();
    await expect(page.locator(`#chart-adherence rect[data-week="${start}"]`)).toHaveAttribute("data-value", pct);
    await expect(weeks.filter({ hasText: start })).toContainText(`${w.adherence.completed ?? 0} / ${w.adherence.prescribed}`);
  }

  // The plan's items with their state; screening read only; the trail.
  await expect(page.locator("#plan-items tbody tr")).toHaveCount(2);
  await expect(page.locator("#plan-items")).toContainText("Active");
  await expect(page.locator("#screening tbody tr").filter({ hasText: "hypertension" })).toContainText("present");
  await expect(page.locator("#screening input, #screening select, #screening button")).toHaveCount(0);
  await expect(page.getByRole("heading", { name: "Decision trail" })).toBeVisible();
  await expectAccessible(page, "patient");
  await shot(page, "patient", { name: "patient", height: 1500 });
});

test("another clinician's patient is not found, with no hint it exists", async ({ page }) => {
  const s = seed();
  await signInAs(page, s.clinicianA, `#/patients/${s.patients.otherTeam}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Patient not found");
  await expect(page.getByRole("alert")).toContainText("not on your care team");
  await expect(page.getByText("Olive")).toHaveCount(0);
  // The same for an id that does not exist at all.
  await page.goto(`${s.base}/#/patients/00000000-0000-7000-8000-000000000000`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Patient not found");
  await expectAccessible(page, "not found");
});

test("the urgent patient's red-flag alert is shown as urgent", async ({ page }) => {
  const s = seed();
  await signInAs(page, s.clinicianA, `#/patients/${s.patients.urgent}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Ursula Redflag");
  await expect(page.locator("article.alert.urgent")).toHaveCount(1);
  await expect(page.locator("article.alert.urgent h3")).toHaveText("Urgent: Red flag");
  // hep told the patient the plan is on hold: a notice in the thread, not
  // the patient's own message, so not marked new.
  const notice = page.getByRole("region", { name: "Messages" }).locator("ol.thread > li");
  await expect(notice).toHaveCount(1);
  await expect(notice.locator(".sender")).toHaveText("hep notice");
  await expect(notice).not.toHaveClass(/unread/);
});

test("recent sessions and check-ins are listed newest first, and the pain response per exercise is GetProgress's", async ({ page }) => {
  const s = seed();
  await signInAs(page, s.clinicianA, `#/patients/${s.patients.chart}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Chandra Chart");
  const activity = page.getByRole("region", { name: "Recent sessions and check-ins" });

  // The one seeded session: cat-cow, 2 × 10, pain 3 → 2.
  const sessions = activity.locator("#sessions tbody tr");
  await expect(sessions).toHaveCount(1);
  await expect(sessions.first().getByRole("cell").nth(0)).toHaveText("Cat-cow");
  await expect(sessions.first()).toContainText("2 × 10 reps");
  await expect(sessions.first()).toContainText("3 → 2 (-1)");
  await expect(sessions.first()).toContainText("just right");

  // Every seeded check-in, newest first, with its score.
  const checkins = activity.locator("#checkins tbody tr");
  const want = [...s.chartCheckins].sort((a, b) => b.at.localeCompare(a.at)).map((c) => String(c.score));
  await expect(checkins).toHaveCount(want.length);
  expect(await checkins.evaluateAll((trs) => trs.map((tr) => tr.children[1].textContent))).toEqual(want);
  await expect(checkins.first()).toContainText("low back");
  await expect(activity.getByText("no older ones")).toHaveCount(2);

  // The per-exercise table carries GetProgress's pain response per item.
  const tok = (await rpc(s.base, "AuthService/SignIn", { email: s.clinicianA.email, password: s.clinicianA.password })).tokens.accessToken;
  const p = (await rpc(s.base, "ReviewService/GetProgress", { patientId: s.patients.chart }, tok)).progress;
  const items = page.locator("#items tbody tr");
  await expect(items).toHaveCount(p.items.length);
  const scored = p.items.filter((it: any) => (it.scoredSessions ?? 0) > 0);
  expect(scored.map((it: any) => it.exerciseId)).toEqual(["cat-cow"]);
  for (const it of p.items) {
    const row = items.filter({ has: page.getByRole("rowheader", { name: it.exerciseName, exact: true }) });
    const n = it.scoredSessions ?? 0;
    const r = it.meanPainResponse ?? 0;
    await expect(row.getByRole("cell").nth(1)).toHaveText(String(n));
    await expect(row.getByRole("cell").nth(2)).toHaveText(n ? (r > 0 ? "+" : "") + fmt(r) : "—");
  }
  await expect(items.filter({ hasText: "Cat-cow" }).getByRole("cell").nth(2)).toHaveText("-1.0");
  await expectAccessible(page, "patient activity");
  await activity.scrollIntoViewIfNeeded();
  await shot(page, "patient-activity", { name: "patient-activity", section: 'section[aria-labelledby="h-activity"]' });
});
