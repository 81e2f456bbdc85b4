// The seeded clinic every spec reads: who signs in, which patients exist,
// and the pain check-ins the charts must show. Written by global-setup.ts,
// read by the specs through HEP_E2E_SEED.
import { readFileSync } from "node:fs";

export interface Seed {
  base: string;
  admin: { email: string; password: string };
  clinicianA: { email: string; password: string; id: string };
  clinicianB: { email: string; password: string; id: string };
  clinicianC: { email: string; password: string; id: string };
  // clinicianD is on no care team until the admin spec adds them.
  clinicianD: { email: string; password: string; id: string };
  patients: {
    urgent: string;
    chart: string;
    ack: string;
    clearance: string;
    otherTeam: string;
    // outcomes has a phone and no questionnaire; messages wrote one
    // message the care team has not read.
    outcomes: string;
    messages: string;
    // screening: plan cat-cow + bar-hang, all flags absent; conflict: a
    // plan two tabs edit; session: a plan edited across a session's end;
    // careTeam: clinician B's, whose team the admin spec changes.
    screening: string;
    conflict: string;
    session: string;
    careTeam: string;
  };
  // triage: clinician C's care team, in the order triage must rank it.
  triage: { urgent: string; alert: string; quiet: string };
  ackPhone: { deviceId: string; token: string; seq: number };
  outcomesPhone: { deviceId: string; token: string; seq: number };
  patientMessage: string;
  // chartCheckins are the chart patient's check-ins (UTC; the patient's
  // time zone is UTC).
  chartCheckins: { at: string; score: number }[];
}

export function seed(): Seed {
  const f = process.env.HEP_E2E_SEED;
  if (!f) throw new Error("HEP_E2E_SEED is not set: run the specs through playwright test (global-setup.ts)");
  return JSON.parse(readFileSync(f, "utf8")) as Seed;
}
