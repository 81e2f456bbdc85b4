// Recent sessions and check-ins on the patient page, newest first, from
// ExerciseLogService.ListExerciseLogs and ListPainCheckins (the care
// team's read of what the phone pushed), twenty at a time.
import { api, errorText } from "./api";
import { clear, enumText, fmtTime, h, loading, type Child } from "./dom";
import { RedFlagSymptom } from "./gen/hep/v1/screening_pb";
import { Difficulty, PainLocation, type ExerciseLog, type PainCheckin } from "./gen/hep/v1/sync_pb";

const PAGE = 20;

function doneText(l: ExerciseLog): string {
  const parts: string[] = [];
  if (l.setsDone) parts.push(`${l.setsDone} ×`);
  if (l.repsDone) parts.push(`${l.repsDone} reps`);
  if (l.holdSecondsDone) parts.push(`hold ${l.holdSecondsDone} s`);
  if (l.durationSecondsDone) parts.push(`${l.durationSecondsDone} s`);
  return parts.join(" ") || "—";
}

function painText(l: ExerciseLog): string {
  const b = l.painBefore;
  const a = l.painAfter;
  if (b === undefined && a === undefined) return "—";
  const d = b !== undefined && a !== undefined ? ` (${a - b > 0 ? "+" : ""}${a - b})` : "";
  return `${b ?? "?"} → ${a ?? "?"}${d}`;
}

// pager loads pages into tbody until the server has no more, on request.
async function pager<T>(el: HTMLElement, what: string, id: string, caption: string, head: string[], load: (token: string) => Promise<{ items: T[]; next: string }>, row: (x: T) => Child[]) {
  loading(el, what);
  const tbody = h("tbody");
  const status = h("p", { class: "meta", role: "status" });
  const more = h("button", { type: "button", class: "secondary" }, `Show older ${what}`);
  let token = "";
  let shown = 0;
  const next = async () => {
    more.disabled = true;
    try {
      const r = await load(token);
      for (const x of r.items) tbody.appendChild(h("tr", null, row(x).map((c, i) => (i === 0 ? h("th", { scope: "row" }, c) : h("td", null, c)))));
      shown += r.items.length;
      token = r.next;
      clear(status, shown ? `${shown} shown, newest first${token ? "" : "; no older ones"}.` : `No ${what} yet.`);
      more.hidden = !token;
    } catch (e) {
      clear(status, h("span", { class: "notice error", role: "alert" }, `Could not load ${what}: ${errorText(e)}`));
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", () => void next());
  more.hidden = true;
  const table = h("table", { id }, h("caption", null, caption), h("thead", null, h("tr", null, head.map((c) => h("th", { scope: "col" }, c)))), tbody);
  await next();
  clear(el, shown ? table : null, status, more);
}

export async function loadActivity(el: HTMLElement, patientId: string, name: (id: string) => string) {
  const sessions = h("div", { class: "activity" });
  const checkins = h("div", { class: "activity" });
  clear(el, sessions, checkins);
  await Promise.all([
    pager<ExerciseLog>(
      sessions,
      "sessions",
      "sessions",
      "Exercise sessions the phone logged",
      ["Performed", "Exercise", "Done", "Pain before → after", "Difficulty", "Note"],
      async (pageToken) => {
        const r = await api.logs.listExerciseLogs({ patientId, pageSize: PAGE, pageToken });
        return { items: r.logs, next: r.nextPageToken };
      },
      (l) => [
        fmtTime(l.correctedPerformTime ?? l.performTime),
        [name(l.exerciseId), l.itemSuspended ? h("div", { class: "meta state-suspended" }, "logged while suspended") : null],
        doneText(l),
        painText(l),
        enumText(Difficulty, l.difficulty),
        l.note || "—",
      ],
    ),
    pager<PainCheckin>(
      checkins,
      "check-ins",
      "checkins",
      "Pain check-ins (0–10)",
      ["Time", "Pain", "Where", "Red flags", "Note"],
      async (pageToken) => {
        const r = await api.logs.listPainCheckins({ patientId, pageSize: PAGE, pageToken });
        return { items: r.checkins, next: r.nextPageToken };
      },
      (c) => [
        fmtTime(c.correctedRecordTime ?? c.recordTime),
        String(c.score),
        enumText(PainLocation, c.location),
        c.redFlags.length ? h("span", { class: "state-suspended" }, c.redFlags.map((x) => enumText(RedFlagSymptom, x)).join(", ")) : "none",
        c.note || "—",
      ],
    ),
  ]);
}
