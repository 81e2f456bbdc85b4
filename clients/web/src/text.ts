// Words for the API's values: doses, frequencies, gate outcomes and reasons.
import { enumText } from "./dom";
import type { Dose } from "./gen/hep/v1/catalog_pb";
import { GateOutcome, ItemState, Weekday, type Frequency, type GateReason } from "./gen/hep/v1/plan_pb";
import { FlagStatus, ScreeningFlag } from "./gen/hep/v1/screening_pb";

export function doseText(d?: Dose): string {
  if (!d) return "—";
  const parts: string[] = [];
  if (d.sets) parts.push(`${d.sets} × `);
  if (d.reps) parts.push(`${d.reps} reps`);
  if (d.holdSeconds) parts.push(`${d.reps ? ", " : ""}hold ${d.holdSeconds} s`);
  if (d.durationSeconds) parts.push(`${d.reps || d.holdSeconds ? ", " : ""}${d.durationSeconds} s`);
  if (d.angleDegrees) parts.push(`, ${d.angleDegrees}°`);
  if (d.forceKg) parts.push(`, ${d.forceKg} kg`);
  return parts.join("") || "—";
}

export function frequencyText(f?: Frequency): string {
  if (!f) return "—";
  const per = `${f.timesPerDay || 1}× a day`;
  if (f.weekdays.length) return `${per}, ${f.weekdays.map((w) => enumText(Weekday, w).slice(0, 3)).join(", ")}`;
  return `${per}, ${f.daysPerWeek} days a week`;
}

export const outcomeText: Record<GateOutcome, string> = {
  [GateOutcome.UNSPECIFIED]: "—",
  [GateOutcome.ALLOWED]: "Allowed",
  [GateOutcome.NEEDS_CLEARANCE]: "Needs clearance",
  [GateOutcome.NEEDS_SCREENING]: "Needs screening",
  [GateOutcome.CONTRAINDICATED]: "Contraindicated",
};

export function outcomeClass(o: GateOutcome): string {
  return "outcome-" + outcomeText[o].toLowerCase().replace(/\s+/g, "-");
}

export const stateText: Record<ItemState, string> = {
  [ItemState.UNSPECIFIED]: "—",
  [ItemState.ACTIVE]: "Active",
  [ItemState.SUSPENDED]: "Suspended",
  [ItemState.ENDED]: "Ended",
};

export function flagText(f: ScreeningFlag): string {
  if (f === ScreeningFlag.UNSPECIFIED) return "device (standing clearance)";
  return enumText(ScreeningFlag, f);
}

export function statusText(s: FlagStatus): string {
  return enumText(FlagStatus, s);
}

// reasonText is one gate reason in a sentence.
export function reasonText(r: GateReason): string {
  if (r.message) return r.message;
  if (r.redFlagHold) return "The plan is on hold after a red-flag report.";
  const what = r.flag === ScreeningFlag.UNSPECIFIED ? "Device" : `${flagText(r.flag)} (${statusText(r.status)})`;
  return `${what}: ${outcomeText[r.outcome].toLowerCase()}${r.cleared ? " (cleared)" : ""}`;
}
