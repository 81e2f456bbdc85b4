// Screening on the patient page: the current answer per flag (unanswered
// flags are unknown), and a form that records new answers (present,
// absent or unknown, each with an optional note) through
// ScreeningService.RecordScreeningAnswers. The server re-gates the plan in
// the same call: the page then names the items whose state changed, and
// reloads the plan, the alerts and the decision trail (the screening
// alert appears there).
import { api, errorText } from "./api";
import { clear, enumText, fmtTime, h, uid } from "./dom";
import { violations } from "./errors";
import { ItemState } from "./gen/hep/v1/plan_pb";
import { AnswerSource, FlagStatus, ScreeningFlag, type ScreeningAnswer } from "./gen/hep/v1/screening_pb";
import { flagText, stateText, statusText } from "./text";

const flags = Object.values(ScreeningFlag).filter((v): v is ScreeningFlag => typeof v === "number" && v !== ScreeningFlag.UNSPECIFIED);
const choices: [FlagStatus, string][] = [
  [FlagStatus.PRESENT, "Present"],
  [FlagStatus.ABSENT, "Absent"],
  [FlagStatus.UNKNOWN, "Unknown"],
];

// renderScreening draws the current answers and the entry form; after a
// recording it calls changed() so the page reloads what the gate touched.
export async function renderScreening(el: HTMLElement, patientId: string, name: (id: string) => string, changed: () => Promise<void>, message?: HTMLElement) {
  const r = await api.screening.getScreening({ patientId });
  const byFlag = new Map(r.current.map((a) => [a.flag, a]));
  const rows = flags.map((f) => {
    const a = byFlag.get(f);
    const answered = !!a?.id;
    return h(
      "tr",
      { "data-flag": ScreeningFlag[f] },
      h("th", { scope: "row" }, flagText(f)),
      h("td", null, answered ? statusText(a!.status) : "not answered (unknown)", a && !a.effective && answered ? h("div", { class: "meta" }, "patient's report, not in effect") : null),
      h("td", null, answered ? enumText(AnswerSource, a!.source) : "—"),
      h("td", null, answered ? fmtTime(a!.recordTime) : "—"),
      h("td", null, a?.note || "—"),
    );
  });
  const status = h("div", { role: "status", "aria-live": "polite" }, message ?? null);
  clear(
    el,
    status,
    h(
      "table",
      { id: "screening" },
      h("caption", null, "Current screening answers"),
      h("thead", null, h("tr", null, ["Flag", "Status", "Source", "Recorded", "Note"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, rows),
    ),
    entryForm(el, patientId, byFlag, name, changed),
  );
}

function entryForm(el: HTMLElement, patientId: string, current: Map<ScreeningFlag, ScreeningAnswer>, name: (id: string) => string, changed: () => Promise<void>): HTMLElement {
  const error = h("div", { role: "alert" });
  const submit = h("button", { type: "submit" }, "Record answers");
  const inputs = flags.map((f) => {
    const was = current.get(f)?.id ? current.get(f)!.status : FlagStatus.UNKNOWN;
    const group = uid("flag");
    const radios = choices.map(([v, label]) => {
      const id = `${group}-${v}`;
      const input = h("input", { type: "radio", name: group, id, value: String(v), checked: v === was });
      return { v, input, el: h("span", { class: "choice" }, input, h("label", { for: id }, label)) };
    });
    const noteId = `${group}-note`;
    const note = h("input", { type: "text", id: noteId, maxlength: "2000", autocomplete: "off" });
    const legendId = `${group}-legend`;
    const fs = h(
      "fieldset",
      { class: "flag", "data-flag": ScreeningFlag[f], "aria-labelledby": legendId },
      h("legend", { id: legendId }, capital(flagText(f))),
      h("span", { class: "choices" }, radios.map((r) => r.el)),
      h("span", { class: "field" }, h("label", { for: noteId }, "Note", h("span", { class: "visually-hidden" }, ` on ${flagText(f)}`)), note),
    );
    return { f, was, fs, note, status: () => radios.find((r) => r.input.checked)?.v ?? was };
  });
  const form = h(
    "form",
    {
      class: "screening-entry",
      onchange: () => clear(error),
      onsubmit: async (e: Event) => {
        e.preventDefault();
        clear(error);
        // Only what changed is recorded: the history is append-only, and a
        // flag answered again with the same status and no note says nothing.
        const answers = inputs.filter((x) => x.status() !== x.was || x.note.value.trim()).map((x) => ({ flag: x.f, status: x.status(), note: x.note.value.trim() }));
        if (answers.length === 0) {
          clear(error, h("p", { class: "notice warn" }, "Nothing to record: change an answer or write a note."));
          return;
        }
        submit.disabled = true;
        try {
          const r = await api.screening.recordScreeningAnswers({ patientId, answers });
          const plan = r.changedItems.length ? (await api.plans.getPlan({ patientId })).plan : undefined;
          const state = new Map((plan?.items ?? []).map((it) => [it.spec?.exerciseId ?? "", it.state]));
          const suspended = r.changedItems.filter((x) => state.get(x) === ItemState.SUSPENDED);
          const msg = h(
            "div",
            { class: suspended.length ? "notice warn" : "notice ok", id: "screening-result" },
            h("p", null, `Recorded ${answers.length} ${answers.length === 1 ? "answer" : "answers"}. `, r.changedItems.length ? "The gate changed these plan items:" : "No plan item changed."),
            r.changedItems.length ? h("ul", null, r.changedItems.map((x) => h("li", { "data-exercise": x }, `${name(x)}: now ${stateText[state.get(x) ?? ItemState.UNSPECIFIED].toLowerCase()}`))) : null,
            suspended.length ? h("p", null, "The care team has an alert about it under Open alerts.") : null,
          );
          await renderScreening(el, patientId, name, changed, msg);
          await changed();
        } catch (err) {
          const v = violations(err);
          clear(error, h("div", { class: "notice error" }, h("p", null, "Not recorded: ", errorText(err)), v.length ? h("ul", null, v.map((x) => h("li", null, `${x.field}: ${x.description}`))) : null));
          submit.disabled = false;
        }
      },
    },
    h("p", { class: "meta" }, "Your answers are recorded as clinician-verified. Changing an answer re-checks the plan at once: items it makes unsafe are suspended, and clearances for that flag end."),
    inputs.map((x) => x.fs),
    error,
    h("div", { class: "actions" }, submit),
  );
  return h("details", { class: "entry" }, h("summary", null, "Record screening answers"), form);
}

function capital(t: string): string {
  return t.charAt(0).toUpperCase() + t.slice(1);
}
