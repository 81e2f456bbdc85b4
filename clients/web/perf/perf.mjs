// perf.mjs measures the dashboard against the real hepd with a large care
// team: the bundle's size, the time from "Sign in" to a drawn triage list
// of PERF_PATIENTS patients (default 300), and the time to draw a patient
// page with 26 weeks of daily check-ins. It prints one JSON object and
// fails only when a page does not draw (timings depend on the machine:
// compare runs on the same one).
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
const patients = Number(process.env.PERF_PATIENTS ?? 300);
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
  // One patient with 26 weeks of daily check-ins.
  const busy = ids[0];
  const code = await rpc(base, "DeviceService/CreateEnrollmentCode", { patientId: busy }, tok);
  const phone = await rpc(base, "AuthService/EnrollDevice", { enrollmentCode: code.code, deviceName: "perf", platform: "PLATFORM_OTHER" });
  const now = Date.now();
  const mutations = Array.from({ length: 182 }, (_, i) => ({
    sequence: String(i + 1),
    checkin: { id: uuidv7(now - (182 - i) * DAY), recordTime: new Date(now - (182 - i) * DAY).toISOString(), score: 3 + (i % 4), location: "PAIN_LOCATION_LOW_BACK" },
  }));
  await rpc(base, "SyncService/Push", { deviceId: phone.deviceId, deviceTime: new Date().toISOString(), mutations }, phone.tokens.accessToken);
  const seedMs = Date.now() - seedStart;

  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
  const page = await browser.newPage();
  await page.goto(base + "/");
  await page.getByLabel("Email").fill(clin.email);
  await page.getByLabel("Password").fill(clin.password);
  let t = Date.now();
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#triage tbody tr").nth(patients - 1).waitFor({ timeout: 60_000 });
  const triageMs = Date.now() - t;

  t = Date.now();
  await page.goto(`${base}/#/patients/${busy}`);
  await page.getByLabel("Range").selectOption("182");
  await page.locator("#weeks tbody tr").nth(25).waitFor({ timeout: 60_000 });
  await page.getByText("No plan yet.").waitFor({ timeout: 60_000 });
  const patientMs = Date.now() - t;

  const js = readFileSync(join(repo, "internal", "web", "dist", "app.js"));
  const css = readFileSync(join(repo, "internal", "web", "dist", "app.css"));
  console.log(JSON.stringify({
    patients,
    seed_ms: seedMs,
    app_js_bytes: js.length,
    app_js_gzip_bytes: gzipSync(js).length,
    app_css_bytes: css.length,
    signin_to_triage_ms: triageMs,
    patient_26_weeks_ms: patientMs,
  }, null, 2));
} finally {
  await browser?.close();
  if (hepd && hepd.exitCode === null) {
    hepd.kill("SIGTERM");
    await new Promise((r) => hepd.once("exit", r));
  }
  rmSync(dir, { recursive: true, force: true });
}
