// perf.mjs measures the dashboard against the real hepd with a large care
// team: the bundle's size, the time from "Sign in" to a drawn triage list
// of PERF_PATIENTS patients (default 200) and from a reload to it, and a
// patient with a year (52 weeks) of data (a daily check-in and a daily
// session of a plan started a year ago): the time to open the page with
// every section drawn, and to switch it to "Last 52 weeks" (the 52-week
// table and both charts drawn). Each page timing is the median of
// PERF_RUNS runs (default 3). It prints one JSON object and fails only
// when a page does not draw (timings depend on the machine: compare runs
// on the same one).
//
//   npm run perf            (PERF_PATIENTS=1000 npm run perf)
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { chromium } from "@playwright/test";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..", "..", "..");
const patients = Number(process.env.PERF_PATIENTS ?? 200);
const runs = Number(process.env.PERF_RUNS ?? 3);
const WEEKS = 52;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const DAY = 86_400_000;

async function rpc(base, method, body, token) {
  const headers = { "Content-Type": "application/json", "Connect-Protocol-Version": "1" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(`${base}/hep.v1.${method}`, { method: "POST", headers, body: JSON.stringify(body) });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(`${method}: ${j.code} ${j.message}`);
  return j;
}

function uuidv7(t = Date.now()) {
  const b = randomBytes(16);
  for (let i = 0; i < 6; i++) b[i] = Number((BigInt(t) >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = b.toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const dir = mkdtempSync(join(tmpdir(), "hep-web-perf-"));
const bin = join(dir, "hepd");
const db = join(dir, "hep.db");
let hepd;
let browser;
try {
  execFileSync("go", ["build", "-o", bin, "./server"], { cwd: repo, stdio: ["ignore", "inherit", "inherit"] });
  const admin = { email: "admin@clinic.example", password: "correct horse battery staple" };
  execFileSync(bin, ["admin", "create", "--db", db, "--email", admin.email, "--password-file", "-"], { input: admin.password + "\n", stdio: ["pipe", "ignore", "inherit"] });
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("HEP_") && !k.startsWith("OTEL_")));
  hepd = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--db", db, "--adherence-interval", "0"], { env, stdio: ["ignore", "pipe", "ignore"] });
  const addr = await new Promise((ok, fail) => {
    let out = "";
    hepd.stdout.on("data", (b) => {
      out += b;
      const m = /hepd listening on (\S+)/.exec(out);
      if (m) ok(m[1]);
    });
    hepd.once("exit", (c) => fail(new Error(`hepd exited ${c}`)));
  });
  const base = `http://${addr}`;

  const adminTok = (await rpc(base, "AuthService/SignIn", admin)).tokens.accessToken;
  const clin = { email: "perf@clinic.example", password: "a long passphrase for perf" };
  await rpc(base, "AccountService/CreateAccount", { ...clin, displayName: "Dr. Perf", role: "ROLE_CLINICIAN" }, adminTok);
  const tok = (await rpc(base, "AuthService/SignIn", clin)).tokens.accessToken;

  const seedStart = Date.now();
  const ids = [];
  for (let i = 0; i < patients; i += 20) {
    const batch = Array.from({ length: Math.min(20, patients - i) }, (_, j) =>
      rpc(base, "PatientService/CreatePatient", { displayName: `Perf Patient ${i + j + 1}`, timeZone: "UTC" }, tok).then((r) => r.patient.id),
    );
    ids.push(...(await Promise.all(batch)));
  }
  // One patient with a year of data: a plan started 364 days ago, a
  // check-in and a cat-cow session every day.
  const busy = ids[0];
  const now = Date.now();
  const days = WEEKS * 7;
  const start = new Date(now - (days - 1) * DAY);
  const flags = ["PREGNANCY", "RECENT_SPINAL_SURGERY", "SPINAL_FRACTURE", "OSTEOPOROSIS"];
  await rpc(base, "ScreeningService/RecordScreeningAnswers", { patientId: busy, answers: flags.map((f) => ({ flag: `SCREENING_FLAG_${f}`, status: "FLAG_STATUS_ABSENT" })) }, tok);
  await rpc(base, "PlanService/SetPlan", {
    patientId: busy, expectedVersion: "0",
    items: [{ exerciseId: "cat-cow", dose: { sets: 2, reps: 10 }, frequency: { timesPerDay: 1, daysPerWeek: 7 }, startDate: { year: start.getUTCFullYear(), month: start.getUTCMonth() + 1, day: start.getUTCDate() } }],
  }, tok);
  const code = await rpc(base, "DeviceService/CreateEnrollmentCode", { patientId: busy }, tok);
  const phone = await rpc(base, "AuthService/EnrollDevice", { enrollmentCode: code.code, deviceName: "perf", platform: "PLATFORM_OTHER" });
  const at = (i) => now - (days - 1 - i) * DAY - 2 * 3600_000;
  const checkins = Array.from({ length: days }, (_, i) => ({
    sequence: String(i + 1),
    checkin: { id: uuidv7(at(i)), recordTime: new Date(at(i)).toISOString(), score: 3 + (i % 4), location: "PAIN_LOCATION_LOW_BACK" },
  }));
  const logs = Array.from({ length: days }, (_, i) => ({
    sequence: String(days + i + 1),
    log: { id: uuidv7(at(i)), exerciseId: "cat-cow", planVersion: "1", performTime: new Date(at(i) + 600_000).toISOString(), setsDone: 2, repsDone: 10, painBefore: 4, painAfter: 3 + (i % 3), difficulty: "DIFFICULTY_JUST_RIGHT" },
  }));
  for (const mutations of [checkins, logs]) {
    const r = await rpc(base, "SyncService/Push", { deviceId: phone.deviceId, deviceTime: new Date().toISOString(), mutations }, phone.tokens.accessToken);
    const bad = (r.results ?? []).filter((m) => m.status !== "MUTATION_STATUS_APPLIED");
    if (bad.length) throw new Error(`push: ${bad.length} not applied: ${bad[0].status} ${bad[0].reason}`);
  }
  const seedMs = Date.now() - seedStart;

  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(base + "/");
  await page.getByLabel("Email").fill(clin.email);
  await page.getByLabel("Password").fill(clin.password);
  let t = Date.now();
  await page.getByRole("button", { name: "Sign in" }).click();
  const lastRow = page.locator("#triage tbody tr").nth(patients - 1);
  await lastRow.waitFor({ timeout: 60_000 });
  const triageMs = Date.now() - t;

  // A reload finds the session through the cookie and draws triage again.
  const reloads = [];
  for (let r = 0; r < runs; r++) {
    t = Date.now();
    await page.reload();
    await lastRow.waitFor({ timeout: 60_000 });
    reloads.push(Date.now() - t);
  }

  let bars = 0;
  const opens = [];
  const years = [];
  for (let r = 0; r < runs; r++) {
    await page.goto(`${base}/#/`);
    await lastRow.waitFor({ timeout: 60_000 });
    t = Date.now();
    await page.locator(`#triage tr[data-patient="${busy}"] a`).click();
    await page.locator("#weeks tbody tr").nth(3).waitFor({ timeout: 60_000 });
    await page.locator("#plan-items tbody tr").first().waitFor({ timeout: 60_000 });
    await page.locator("#sessions tbody tr").nth(19).waitFor({ timeout: 60_000 });
    await page.locator("#checkins tbody tr").nth(19).waitFor({ timeout: 60_000 });
    await page.locator("#items tbody tr").first().waitFor({ timeout: 60_000 });
    opens.push(Date.now() - t);

    t = Date.now();
    await page.getByLabel("Range").selectOption(String(days));
    await page.locator("#weeks tbody tr").nth(WEEKS - 1).waitFor({ timeout: 60_000 });
    await page.locator(`#chart-pain circle`).nth(WEEKS - 1).waitFor({ timeout: 60_000 });
    await page.locator("#chart-adherence").waitFor({ timeout: 60_000 });
    years.push(Date.now() - t);
    bars = await page.locator("#chart-adherence rect.bar").count();
  }

  const js = readFileSync(join(repo, "internal", "web", "dist", "app.js"));
  const css = readFileSync(join(repo, "internal", "web", "dist", "app.css"));
  console.log(JSON.stringify({
    patients,
    seed_ms: seedMs,
    app_js_bytes: js.length,
    app_js_gzip_bytes: gzipSync(js).length,
    app_css_bytes: css.length,
    app_css_gzip_bytes: gzipSync(css).length,
    signin_to_triage_ms: triageMs,
    triage_reload_ms: median(reloads),
    patient_year_open_ms: median(opens),
    patient_year_52_weeks_ms: median(years),
    adherence_bars_52_weeks: bars,
    runs: { triage_reload_ms: reloads, patient_year_open_ms: opens, patient_year_52_weeks_ms: years },
  }, null, 2));
} finally {
  await browser?.close();
  if (hepd && hepd.exitCode === null) {
    hepd.kill("SIGTERM");
    await new Promise((r) => hepd.once("exit", r));
  }
  rmSync(dir, { recursive: true, force: true });
}
