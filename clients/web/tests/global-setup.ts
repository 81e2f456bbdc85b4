// global-setup.ts builds the real hepd from this repository, starts it on
// a random loopback port over a fresh SQLite database, seeds a clinic
// through the public API (accounts, patients, screening, plans, a phone's
// pushes) and returns the teardown that stops it. Nothing here prints a
// name, a note or a payload.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Phone, rpc } from "./rpc";
import type { Seed } from "./seed";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

const DAY = 86_400_000;

function mondayUTC(now: Date): number {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return midnight - ((now.getUTCDay() + 6) % 7) * DAY;
}

function ymd(t: number) {
  const d = new Date(t);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

export default async function globalSetup() {
  const dir = mkdtempSync(join(tmpdir(), "hep-web-e2e-"));
  const bin = join(dir, "hepd");
  const db = join(dir, "hep.db");
  execFileSync("go", ["build", "-o", bin, "./server"], { cwd: repo, stdio: ["ignore", "inherit", "inherit"] });

  const admin = { email: "admin@clinic.example", password: "correct horse battery staple" };
  // The password goes on standard input, never on the command line.
  execFileSync(bin, ["admin", "create", "--db", db, "--email", admin.email, "--password-file", "-"], { input: admin.password + "\n", stdio: ["pipe", "ignore", "inherit"] });

  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("HEP_") && !k.startsWith("OTEL_")) env[k] = v;
  const log = openSync(join(dir, "hepd.log"), "a");
  const proc = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--db", db, "--adherence-interval", "0", "--shutdown-timeout", "5s"], { env, stdio: ["ignore", "pipe", log] });
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  const addr = await new Promise<string>((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`hepd did not start; see ${dir}/hepd.log`)), 15_000);
    proc.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /hepd listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    proc.once("exit", (code) => fail(new Error(`hepd exited (${code}); see ${dir}/hepd.log`)));
  });
  const base = `http://${addr}`;

  try {
    const s = await seedClinic(base, admin);
    const file = join(dir, "seed.json");
    writeFileSync(file, JSON.stringify(s));
    process.env.HEP_E2E_SEED = file;
  } catch (e) {
    proc.kill("SIGTERM");
    throw e;
  }

  return async () => {
    proc.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 8000))]);
    if (proc.exitCode === null) proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
}

async function seedClinic(base: string, admin: Seed["admin"]): Promise<Seed> {
  const adminTok = (await rpc(base, "AuthService/SignIn", admin)).tokens.accessToken;
  const clinician = async (email: string, displayName: string, password: string) => {
    const a = await rpc(base, "AccountService/CreateAccount", { email, displayName, role: "ROLE_CLINICIAN", password }, adminTok);
    return { email, password, id: a.account.id as string };
  };
  const clinicianA = await clinician("ada@clinic.example", "Dr. Ada Test", "a long passphrase for ada");
  const clinicianB = await clinician("bo@clinic.example", "Dr. Bo Test", "a long passphrase for bo");
  // Clinician C's care team is read by the triage spec only, so no other
  // spec's acknowledgement can change its order.
  const clinicianC = await clinician("cy@clinic.example", "Dr. Cy Test", "a long passphrase for cy");
  const tokA = (await rpc(base, "AuthService/SignIn", { email: clinicianA.email, password: clinicianA.password })).tokens.accessToken;
  const tokB = (await rpc(base, "AuthService/SignIn", { email: clinicianB.email, password: clinicianB.password })).tokens.accessToken;
  const tokC = (await rpc(base, "AuthService/SignIn", { email: clinicianC.email, password: clinicianC.password })).tokens.accessToken;

  const patient = async (tok: string, displayName: string) =>
    (await rpc(base, "PatientService/CreatePatient", { displayName, timeZone: "UTC" }, tok)).patient.id as string;
  const screen = async (patientId: string, present: string[]) => {
    const flags = ["PREGNANCY", "RECENT_SPINAL_SURGERY", "SPINAL_FRACTURE", "OSTEOPOROSIS", "HYPERTENSION", "HERNIA", "OBESITY", "SPINAL_METAL_IMPLANT", "GLAUCOMA_OR_RETINAL_DETACHMENT", "HEART_OR_CIRCULATORY_DISEASE", "ANTICOAGULANT_USE"];
    await rpc(base, "ScreeningService/RecordScreeningAnswers", {
      patientId,
      answers: flags.map((f) => ({ flag: `SCREENING_FLAG_${f}`, status: present.includes(f) ? "FLAG_STATUS_PRESENT" : "FLAG_STATUS_ABSENT" })),
    }, tokA);
  };

  const now = Date.now();
  const monday = mondayUTC(new Date(now));
  const item = (exerciseId: string, start: number) => ({
    exerciseId,
    dose: { sets: 2, reps: 10 },
    frequency: { timesPerDay: 1, daysPerWeek: 7 },
    startDate: ymd(start),
  });

  // Urgent: a red-flag report from the phone.
  const urgent = await patient(tokA, "Ursula Redflag");
  await screen(urgent, []);
  const urgentPhone = await Phone.enroll(base, tokA, urgent);
  await rpc(base, "ScreeningService/ReportRedFlags", { symptoms: ["RED_FLAG_SYMPTOM_SADDLE_NUMBNESS"] }, urgentPhone.token);

  // Chart: four weeks of check-ins falling from 6 to 2, hypertension on
  // record, cat-cow and child's pose prescribed, two sessions today.
  const chart = await patient(tokA, "Chandra Chart");
  await screen(chart, ["HYPERTENSION"]);
  await rpc(base, "PlanService/SetPlan", { patientId: chart, expectedVersion: "0", items: [item("cat-cow", now), item("childs-pose", now)] }, tokA);
  const chartPhone = await Phone.enroll(base, tokA, chart);
  const chartCheckins = [
    { at: monday - 20 * DAY + 12 * 3600_000, score: 6 },
    { at: monday - 19 * DAY + 12 * 3600_000, score: 6 },
    { at: monday - 13 * DAY + 12 * 3600_000, score: 5 },
    { at: monday - 12 * DAY + 12 * 3600_000, score: 4 },
    { at: monday - 6 * DAY + 12 * 3600_000, score: 4 },
    { at: monday - 5 * DAY + 12 * 3600_000, score: 3 },
    { at: now - 10 * 60_000, score: 2 },
  ];
  await chartPhone.push(...chartCheckins.map((c) => chartPhone.checkin(new Date(c.at), c.score)));
  await chartPhone.push({
    log: { id: crypto.randomUUID(), exerciseId: "cat-cow", planVersion: "1", performTime: new Date(now - 5 * 60_000).toISOString(), setsDone: 2, repsDone: 10, painBefore: 3, painAfter: 2, difficulty: "DIFFICULTY_JUST_RIGHT" },
  });

  // Ack: one severe check-in opens a PAIN_SEVERE alert (one occurrence).
  const ack = await patient(tokA, "Alex Acknowledge");
  await screen(ack, []);
  const ackPhone = await Phone.enroll(base, tokA, ack);
  await ackPhone.push(ackPhone.checkin(new Date(now - 30 * 60_000), 8));

  // Clearance: pregnant, no plan yet.
  const clearance = await patient(tokA, "Clara Clearance");
  await screen(clearance, ["PREGNANCY"]);

  // Outcomes: a phone, no questionnaire yet (the spec assigns the PSFS
  // from the page, then the phone answers).
  const outcomes = await patient(tokA, "Quinn Questionnaire");
  await screen(outcomes, []);
  const outcomesPhone = await Phone.enroll(base, tokA, outcomes);

  // Messages: the patient wrote to the care team, unread yet.
  const messages = await patient(tokA, "Mia Message");
  await screen(messages, []);
  const messagesPhone = await Phone.enroll(base, tokA, messages);
  const patientMessage = "Is it fine to skip the stretches on my long shift days?";
  await messagesPhone.push({ message: { id: crypto.randomUUID(), body: patientMessage, sentTime: new Date(now - 15 * 60_000).toISOString() } });

  // Screening: all absent, cat-cow and bar hanging prescribed; the
  // screening spec records osteoporosis from the page.
  const screening = await patient(tokA, "Sol Screening");
  await screen(screening, []);
  await rpc(base, "PlanService/SetPlan", { patientId: screening, expectedVersion: "0", items: [item("cat-cow", now), item("bar-hang", now)] }, tokA);

  // Conflict: a plan two tabs edit at once.
  const conflict = await patient(tokA, "Cora Conflict");
  await screen(conflict, []);
  await rpc(base, "PlanService/SetPlan", { patientId: conflict, expectedVersion: "0", items: [item("cat-cow", now)] }, tokA);

  // Session: a plan edited while the session ends.
  const session = await patient(tokA, "Sasha Session");
  await screen(session, []);
  await rpc(base, "PlanService/SetPlan", { patientId: session, expectedVersion: "0", items: [item("childs-pose", now)] }, tokA);

  // Care team: clinician B's patient; the admin spec adds clinician D
  // (on no other care team) and removes them again.
  const clinicianD = await clinician("dee@clinic.example", "Dr. Dee Test", "a long passphrase for dee");
  const careTeam = await patient(tokB, "Kit Careteam");

  // Another clinician's patient.
  const otherTeam = await patient(tokB, "Olive Otherteam");

  // Clinician C: an urgent patient, one with an open alert, a quiet one.
  const triageQuiet = await patient(tokC, "Tess Quiet");
  const triageAlert = await patient(tokC, "Theo Alert");
  const alertPhone = await Phone.enroll(base, tokC, triageAlert);
  await alertPhone.push(alertPhone.checkin(new Date(now - 20 * 60_000), 7, "PAIN_LOCATION_LEG"));
  const triageUrgent = await patient(tokC, "Tara Urgent");
  const tuPhone = await Phone.enroll(base, tokC, triageUrgent);
  await rpc(base, "ScreeningService/ReportRedFlags", { symptoms: ["RED_FLAG_SYMPTOM_PROGRESSIVE_LEG_WEAKNESS"] }, tuPhone.token);

  return {
    base,
    admin,
    clinicianA,
    clinicianB,
    clinicianC,
    clinicianD,
    patients: { urgent, chart, ack, clearance, otherTeam, outcomes, messages, screening, conflict, session, careTeam },
    triage: { urgent: triageUrgent, alert: triageAlert, quiet: triageQuiet },
    ackPhone: { deviceId: ackPhone.deviceId, token: ackPhone.token, seq: ackPhone.seq },
    outcomesPhone: { deviceId: outcomesPhone.deviceId, token: outcomesPhone.token, seq: outcomesPhone.seq },
    patientMessage,
    chartCheckins: chartCheckins.map((c) => ({ at: new Date(c.at).toISOString(), score: c.score })),
  };
}
