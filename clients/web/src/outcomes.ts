// Outcome measures: the patient's questionnaire assignments (PSFS, ODI)
// with their schedule, what is due and overdue, each one's scores by slot
// as a chart with the baseline and the MCID band (and the same numbers in
// a table), the change against the MCID in words, and the forms that
// assign a questionnaire and end an assignment.
import { Code } from "@connectrpc/connect";
import { api, errorText, isCode } from "./api";
import { mcidThreshold, outcomeChart } from "./charts";
import { append, clear, fmtDate, fmtNum, fmtTime, h, isoDate, loading, parseDate } from "./dom";
import { violations } from "./errors";
import { OutcomeChange, type Assignment, type DueSlot, type Instrument, type OutcomeSeries } from "./gen/hep/v1/outcome_pb";

export async function renderOutcomes(el: HTMLElement, patientId: string, message?: HTMLElement) {
  const [ins, as, pr] = await Promise.all([
    api.outcomes.listInstruments({}),
    api.outcomes.listAssignments({ patientId, includeEnded: true }),
    api.review.getProgress({ patientId }),
  ]);
  const instruments = new Map(ins.instruments.map((i) => [i.id, i]));
  const series = new Map((pr.progress?.outcomes ?? []).map((o) => [o.assignmentId, o]));
  const status = h("div", { role: "status", "aria-live": "polite" }, message ?? null);
  const reload = (m?: HTMLElement) => guardOutcomes(el, patientId, m);
  clear(
    el,
    status,
    as.assignments.length
      ? as.assignments.map((a) => assignmentView(a, instruments.get(a.instrumentId), series.get(a.id), patientId, reload))
      : h("p", null, "No questionnaire assigned yet."),
    assignForm(patientId, ins.instruments, reload),
  );
}

async function guardOutcomes(el: HTMLElement, patientId: string, message?: HTMLElement) {
  try {
    await renderOutcomes(el, patientId, message);
  } catch (e) {
    clear(el, h("p", { class: "notice error", role: "alert" }, `Could not load the outcome measures: ${errorText(e)}`));
  }
}

export function loadOutcomes(el: HTMLElement, patientId: string) {
  loading(el, "outcome measures");
  return guardOutcomes(el, patientId);
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function scheduleText(a: Assignment): string {
  const parts = [`Baseline ${fmtDate(a.startDate)}`];
  parts.push(a.everyWeeks ? `then every ${plural(a.everyWeeks, "week", "weeks")}` : "no repeats");
  if (a.visitDates.length) parts.push(`and 3 days before each visit (${a.visitDates.map((d) => fmtDate(d)).join(", ")})`);
  if (a.endDate) parts.push(`until ${fmtDate(a.endDate)}`);
  return parts.join(", ");
}

function slotText(d: DueSlot): string {
  return `${fmtDate(d.dueDate)}${d.visitDate ? ` (before the visit on ${fmtDate(d.visitDate)})` : ""}`;
}

// changeWords says the change from the baseline against the MCID.
export function changeWords(o: OutcomeSeries | undefined): string {
  if (!o || o.baseline === undefined) return "No baseline score yet.";
  if (o.latest === undefined || o.change === OutcomeChange.UNSPECIFIED) return `Baseline ${fmtNum(o.baseline)}; no later score yet.`;
  const t = mcidThreshold(o) ?? o.mcidPoints;
  const delta = `${o.delta > 0 ? "+" : ""}${fmtNum(o.delta)} points (baseline ${fmtNum(o.baseline)}, latest ${fmtNum(o.latest)})`;
  const dir = o.higherIsBetter ? "higher is better" : "lower is better";
  switch (o.change) {
    case OutcomeChange.IMPROVED:
      return `Improved: ${delta}, at least the MCID of ${fmtNum(t)} points (${dir}).`;
    case OutcomeChange.WORSENED:
      return `Worsened: ${delta}, at least the MCID of ${fmtNum(t)} points (${dir}).`;
    default:
      return `No important change: ${delta}, less than the MCID of ${fmtNum(t)} points.`;
  }
}

function changeClass(o: OutcomeSeries | undefined): string {
  if (o?.change === OutcomeChange.IMPROVED) return "change improved";
  if (o?.change === OutcomeChange.WORSENED) return "change worsened";
  return "change";
}

function assignmentView(a: Assignment, ins: Instrument | undefined, o: OutcomeSeries | undefined, patientId: string, reload: (m?: HTMLElement) => Promise<void>): HTMLElement {
  const title = ins?.title ?? a.instrumentId;
  const hid = `outcome-${a.id}`;
  const ended = a.endTime !== undefined;
  const min = ins?.scoreMin ?? 0;
  const max = ins?.scoreMax ?? 10;
  const points = o?.points ?? [];
  const rows = points.map((p) => {
    const d = p.score !== undefined && o?.baseline !== undefined ? p.score - o.baseline : undefined;
    return h(
      "tr",
      null,
      h("th", { scope: "row" }, fmtDate(p.slotDate)),
      h("td", { class: "num" }, p.score !== undefined ? fmtNum(p.score) : "not scored (too few items answered)"),
      h("td", { class: "num" }, d === undefined ? "—" : `${d > 0 ? "+" : ""}${fmtNum(d)}`),
      h("td", { class: "num" }, `${p.answered}${p.skipped ? `, ${p.skipped} skipped` : ""}`),
      h("td", null, fmtTime(p.authoredTime)),
    );
  });
  const endCell = h("div", { class: "actions" });
  const ask = h("button", { type: "button", class: "secondary" }, `End ${title}`);
  ask.addEventListener("click", () => {
    const err = h("span");
    clear(
      endCell,
      h("span", null, "End this assignment? Nothing more will be due from today. "),
      h("button", {
        type: "button",
        onclick: async () => {
          try {
            await api.outcomes.endAssignment({ patientId, assignmentId: a.id });
            await reload(h("p", { class: "notice ok" }, `Ended ${title}.`));
          } catch (e) {
            clear(err, h("span", { class: "notice error", role: "alert" }, errorText(e)));
          }
        },
      }, "Yes, end it"),
      h("button", { type: "button", class: "secondary", onclick: () => clear(endCell, ask) }, "Cancel"),
      err,
    );
    (endCell.querySelector("button") as HTMLButtonElement | null)?.focus();
  });
  if (!ended) clear(endCell, ask);
  return h(
    "article",
    { class: "outcome", "aria-labelledby": hid, "data-assignment": a.id, "data-instrument": a.instrumentId },
    h("h3", { id: hid }, title, ended ? " (ended)" : ""),
    h(
      "ul",
      { class: "summary" },
      h("li", null, `Schedule: ${scheduleText(a)}.`),
      ended
        ? h("li", null, `Ended ${fmtTime(a.endTime)}.`)
        : h("li", { class: "next-due" }, `Next due: ${a.nextDue ? slotText(a.nextDue) : "nothing more is scheduled"}.`),
      a.overdue.length
        ? h("li", { class: "overdue notice warn" }, `Overdue (not answered 3 or more days after due): ${a.overdue.map(slotText).join("; ")}.`)
        : null,
      h("li", { class: changeClass(o) }, changeWords(o)),
    ),
    points.length
      ? [
          h("figure", null, h("figcaption", null, `${title}: score by due day`), outcomeChart(`chart-${a.id}`, `${title} scores (${fmtNum(min, 0)}–${fmtNum(max, 0)})`, o!, min, max), bandLegend(o!)),
          h(
            "table",
            { class: "outcome-scores" },
            h("caption", null, `${title} scores by due day, oldest first (the chart's data)`),
            h("thead", null, h("tr", null, ["Due day", "Score", "Change from baseline", "Items answered", "Answered at"].map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", null, rows),
          ),
        ]
      : h("p", null, "No answers yet."),
    endCell,
  );
}

function bandLegend(o: OutcomeSeries): HTMLElement {
  const t = mcidThreshold(o);
  return h(
    "p",
    { class: "legend" },
    o.baseline === undefined || t === undefined
      ? "No baseline score yet."
      : [h("span", { class: "swatch band", "aria-hidden": "true" }), `Within the MCID of the baseline (${fmtNum(o.baseline)}): ±${fmtNum(t)} points.`],
  );
}

// fieldOf names the form field a violation's field belongs to.
function fieldOf(f: string): string {
  if (f.startsWith("visit_dates")) return "visit_dates";
  return f;
}

function assignForm(patientId: string, instruments: Instrument[], reload: (m?: HTMLElement) => Promise<void>): HTMLElement {
  const errs = new Map<string, HTMLElement>();
  const controls = new Map<string, HTMLElement>();
  const row = (name: string, label: string, control: HTMLElement, hint?: string): HTMLElement => {
    const id = `assign-${name.replace(/_/g, "-")}`;
    control.id = id;
    const err = h("span", { class: "field-error", id: `${id}-error` });
    const hintEl = hint ? h("span", { class: "hint", id: `${id}-hint` }, hint) : null;
    control.setAttribute("aria-describedby", [hintEl?.id, err.id].filter(Boolean).join(" "));
    errs.set(name, err);
    controls.set(name, control);
    return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl, err);
  };
  const instrument = h(
    "select",
    { name: "instrument_id" },
    instruments.map((i) => h("option", { value: i.id }, i.title, !i.textLicensed && !i.textImported ? " (needs the clinic's licensed text)" : "")),
  );
  // The first instrument that can be assigned is the default.
  const usable = instruments.find((i) => i.textLicensed || i.textImported);
  if (usable) instrument.value = usable.id;
  const start = h("input", { type: "date", name: "start_date", value: isoDate(new Date()) });
  const every = h("input", { type: "number", name: "every_weeks", inputmode: "numeric", value: "2" });
  const visits = h("input", { type: "text", name: "visit_dates", autocomplete: "off" });
  const end = h("input", { type: "date", name: "end_date" });
  const formError = h("div", { role: "alert" });
  const submit = h("button", { type: "submit" }, "Assign");

  const setError = (name: string, text: string) => {
    const err = errs.get(name);
    const c = controls.get(name);
    if (!err || !c) return false;
    append(err, [text]);
    c.setAttribute("aria-invalid", "true");
    return true;
  };
  const reset = () => {
    clear(formError);
    for (const [n, e] of errs) {
      clear(e);
      controls.get(n)?.removeAttribute("aria-invalid");
    }
  };

  const form = h(
    "form",
    {
      class: "assign",
      novalidate: true,
      "aria-labelledby": "h-assign",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        reset();
        const visitDates = visits.value.split(/[\s,;]+/).filter(Boolean);
        const parsed = visitDates.map((v) => parseDate(v));
        const bad = visitDates.filter((_, i) => !parsed[i]);
        if (bad.length) {
          setError("visit_dates", `Write each day as YYYY-MM-DD: ${bad.join(", ")}.`);
          return;
        }
        const weeks = every.value.trim() === "" ? 0 : Number(every.value);
        if (!Number.isInteger(weeks)) {
          setError("every_weeks", "Must be a whole number of weeks.");
          return;
        }
        submit.disabled = true;
        try {
          await api.outcomes.assignQuestionnaire({
            patientId,
            instrumentId: instrument.value,
            startDate: parseDate(start.value),
            everyWeeks: weeks,
            visitDates: parsed.map((d) => d!),
            endDate: parseDate(end.value),
          });
          const title = instruments.find((i) => i.id === instrument.value)?.title ?? instrument.value;
          await reload(h("p", { class: "notice ok" }, `Assigned ${title}.`));
        } catch (e) {
          submit.disabled = false;
          const vs = isCode(e, Code.InvalidArgument) ? violations(e) : [];
          let shown = 0;
          for (const v of vs) {
            const m = /^visit_dates\[(\d+)\]$/.exec(v.field);
            const text = m ? `Visit ${visitDates[Number(m[1])] ?? Number(m[1]) + 1}: ${v.description}. ` : `${v.description}. `;
            if (setError(fieldOf(v.field), text)) shown++;
          }
          if (shown === 0 || shown < vs.length) clear(formError, h("p", { class: "notice error" }, errorText(e)));
          const first = vs.map((v) => controls.get(fieldOf(v.field))).find(Boolean);
          first?.focus();
        }
      },
    },
    h("h3", { id: "h-assign" }, "Assign a questionnaire"),
    h(
      "div",
      { class: "row" },
      row("instrument_id", "Instrument", instrument),
      row("start_date", "Baseline day", start),
      row("every_weeks", "Repeat every (weeks)", every, "0 for the baseline only, up to 52"),
    ),
    row("visit_dates", "Visit dates", visits, "Optional: YYYY-MM-DD, separated by commas; one is due 3 days before each"),
    row("end_date", "Last day (optional)", end),
    formError,
    h("div", { class: "actions" }, submit),
  );
  return form;
}
