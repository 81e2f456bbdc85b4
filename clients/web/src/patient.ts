// One patient: progress (adherence and pain as charts and a table, with
// the MCID band), open alerts to acknowledge, the plan's items and their
// gating state, screening with its entry form, recent sessions and
// check-ins, the decision trail, and export.
import { Code } from "@connectrpc/connect";
import { api, errorText, isCode } from "./api";
import { adherenceChart, baselineMean, chartLegend, painChart } from "./charts";
import { clear, enumText, fmtDate, fmtNum, fmtTime, h, loading, type Child } from "./dom";
import { reason } from "./errors";
import { AlertSeverity, AlertStatus, AlertKind, type Alert } from "./gen/hep/v1/alert_pb";
import { DecisionCause, ItemState } from "./gen/hep/v1/plan_pb";
import { PainChange, type Progress } from "./gen/hep/v1/review_pb";
import { focusHeading, type PageContext } from "./main";
import { exerciseNames } from "./names";
import { doseText, flagText, frequencyText, outcomeClass, outcomeText, reasonText, stateText } from "./text";
import { renderScreening } from "./screening";
import { loadActivity } from "./activity";
import { exportForm } from "./export";
import { loadDevices } from "./devices";
import { loadOutcomes } from "./outcomes";
import { loadMessages } from "./messages";

// alertTitle names an alert's kind; the questionnaire kinds in words.
export function alertTitle(k: AlertKind): string {
  if (k === AlertKind.FUNCTION_WORSENED) return "Function worsened (questionnaire score)";
  if (k === AlertKind.QUESTIONNAIRE_OVERDUE) return "Questionnaire overdue";
  return capital(enumText(AlertKind, k));
}

function capital(t: string): string {
  return t.charAt(0).toUpperCase() + t.slice(1);
}

function section(id: string, title: string, ...children: Child[]): HTMLElement {
  return h("section", { "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

function table(caption: string, head: string[], rows: Child[][], attrs: Record<string, unknown> = {}): HTMLElement {
  return h(
    "table",
    attrs,
    h("caption", null, caption),
    h("thead", null, h("tr", null, head.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", null, rows.map((r) => h("tr", null, r.map((c, i) => (i === 0 ? h("th", { scope: "row" }, c) : h("td", null, c)))))),
  );
}

// guard runs one section's load and shows its error in the section only.
async function guard(el: HTMLElement, what: string, f: () => Promise<void>) {
  loading(el, what);
  try {
    await f();
  } catch (e) {
    clear(el, h("p", { class: "notice error", role: "alert" }, `Could not load ${what}: ${errorText(e)}`));
  }
}

export async function renderPatient(ctx: PageContext, patientId: string) {
  ctx.title("Patient");
  loading(ctx.main, "the patient");
  let patient;
  try {
    patient = (await api.patients.getPatient({ patientId })).patient;
  } catch (e) {
    if (!ctx.live()) return;
    ctx.title("Patient not found");
    clear(
      ctx.main,
      h("h1", null, isCode(e, Code.NotFound) ? "Patient not found" : "Could not open this patient"),
      h("p", { class: "notice error", role: "alert" }, errorText(e)),
      h("p", null, h("a", { href: "#/" }, "Back to triage")),
    );
    focusHeading(ctx.main);
    return;
  }
  if (!ctx.live() || !patient) return;
  ctx.title(patient.displayName);

  const progress = h("div");
  const alerts = h("div");
  const plan = h("div");
  const screening = h("div");
  const trail = h("div");
  const phones = h("div");
  const outcomes = h("div");
  const messages = h("div");
  const activity = h("div");
  clear(
    ctx.main,
    h("p", null, h("a", { href: "#/" }, "← Triage")),
    h("h1", null, patient.displayName),
    h("p", { class: "meta" }, `Time zone ${patient.timeZone}`, patient.externalMrn ? ` · MRN ${patient.externalMrn}` : "", " · id ", h("span", { class: "id" }, patient.id)),
    section("h-progress", "Progress", progress),
    section("h-alerts", "Open alerts", alerts),
    section("h-activity", "Recent sessions and check-ins", activity),
    section("h-outcomes", "Outcome measures", outcomes),
    section("h-messages", "Messages", messages),
    section("h-plan", "Plan", h("p", null, h("a", { href: `#/patients/${encodeURIComponent(patientId)}/plan` }, "Edit the plan")), plan),
    section("h-screening", "Screening", screening),
    section("h-trail", "Decision trail", trail),
    section("h-phones", "Phones", phones),
    section("h-export", "Export for a visit", exportForm(patientId)),
  );
  focusHeading(ctx.main);

  const names = await exerciseNames().catch(() => new Map<string, string>());
  const name = (id: string) => names.get(id) ?? id;

  // A recorded screening re-gates the plan on the server: what it touched
  // is loaded again (the screening alert appears under Open alerts).
  const regated = async () => {
    await Promise.all([
      guard(alerts, "alerts", () => renderAlerts(alerts, patientId)),
      guard(plan, "the plan", () => renderPlan(plan, patientId, name)),
      guard(trail, "the decision trail", () => renderTrail(trail, patientId, name)),
    ]);
  };
  await Promise.all([
    renderProgress(progress, patientId, 28),
    guard(alerts, "alerts", () => renderAlerts(alerts, patientId)),
    guard(plan, "the plan", () => renderPlan(plan, patientId, name)),
    guard(screening, "screening", () => renderScreening(screening, patientId, name, regated)),
    guard(trail, "the decision trail", () => renderTrail(trail, patientId, name)),
    guard(activity, "sessions and check-ins", () => loadActivity(activity, patientId, name)),
    loadDevices(phones, patientId),
    loadOutcomes(outcomes, patientId),
    loadMessages(messages, patientId),
  ]);
}

const changeText: Record<PainChange, string> = {
  [PainChange.UNSPECIFIED]: "—",
  [PainChange.NONE]: "no important change",
  [PainChange.IMPROVED]: "improved (≥ MCID)",
  [PainChange.WORSENED]: "worsened (≥ MCID)",
};

function daysAgo(n: number): Date {
  const d = new Date();
  d.setDate(d.getDate() - n);
  return d;
}

async function renderProgress(el: HTMLElement, patientId: string, days: number) {
  const range = h(
    "select",
    { id: "progress-range" },
    [28, 56, 84, 182, 364].map((d) => h("option", { value: String(d), selected: d === days }, `Last ${d / 7} weeks`)),
  );
  range.addEventListener("change", () => void renderProgress(el, patientId, Number(range.value)));
  const body = h("div");
  clear(el, h("div", { class: "filters" }, h("div", { class: "field" }, h("label", { for: "progress-range" }, "Range"), range)), body);
  await guard(body, "progress", async () => {
    // The server counts days in the patient's time zone; "from" is sent
    // only for longer ranges (the default is the last 28 days).
    const from = days === 28 ? undefined : (() => {
      const d = daysAgo(days - 1);
      return { year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate() };
    })();
    const p = (await api.review.getProgress({ patientId, from })).progress;
    if (!p) throw new Error("no progress");
    clear(body, progressView(p));
  });
}

function progressView(p: Progress): Child[] {
  const a = p.adherence;
  const base = baselineMean(p);
  const summary = h(
    "ul",
    { class: "summary" },
    h("li", null, `Adherence ${fmtDate(p.from)} to ${fmtDate(p.to)}: `, a && a.prescribed ? `${fmtNum(a.percent, 0)}% (${a.completed} of ${a.prescribed} sessions)` : "nothing prescribed", a?.adherent ? " — adherent" : ""),
    h("li", null, `Pain: ${base === undefined ? "no check-ins" : `baseline week mean ${fmtNum(base)}, latest ${changeText[p.painChange]}`}`),
    h("li", null, `Last session: ${p.daysSinceActivity < 0 ? "never" : `${p.daysSinceActivity} days ago (${fmtTime(p.lastActivityTime)})`}; streak ${p.streakDays} ${p.streakDays === 1 ? "day" : "days"}`),
    p.redFlagHold ? h("li", { class: "notice error" }, "The whole plan is on hold after a red-flag report.") : null,
  );
  const rows = p.weeks.map((w) => [
    `${fmtDate(w.start)} – ${fmtDate(w.end)}`,
    w.adherence && w.adherence.prescribed ? `${w.adherence.completed} / ${w.adherence.prescribed}` : "none prescribed",
    w.adherence && w.adherence.prescribed ? `${fmtNum(w.adherence.percent, 0)}%` : "—",
    String(w.checkins),
    w.checkins ? fmtNum(w.painMean) : "—",
    w.checkins ? fmtNum(w.painMedian) : "—",
    w.checkins && base !== undefined ? (w.changeFromBaseline > 0 ? "+" : "") + fmtNum(w.changeFromBaseline) : "—",
    changeText[w.change],
  ]);
  const items = p.items.map((it) => [
    it.exerciseName || it.exerciseId,
    it.adherence && it.adherence.prescribed ? `${fmtNum(it.adherence.percent, 0)}% (${it.adherence.completed} / ${it.adherence.prescribed})` : "—",
    String(it.scoredSessions),
    it.scoredSessions ? (it.meanPainResponse > 0 ? "+" : "") + fmtNum(it.meanPainResponse) : "—",
    String(it.flares),
    String(it.suspendedDays),
  ]);
  return [
    summary,
    h(
      "div",
      { class: "charts" },
      h("figure", null, h("figcaption", null, "Adherence per week"), adherenceChart(p)),
      h("figure", null, h("figcaption", null, "Pain per week"), painChart(p), chartLegend(p)),
    ),
    table("Weekly adherence and pain (the charts' data)", ["Week", "Sessions done / prescribed", "Adherence", "Check-ins", "Mean pain", "Median pain", "Change from baseline", "Clinically"], rows, { id: "weeks" }),
    items.length ? table("Per exercise over the range", ["Exercise", "Adherence", "Scored sessions", "Mean pain response (after − before)", "Flares", "Days suspended"], items, { id: "items" }) : null,
  ];
}

async function renderAlerts(el: HTMLElement, patientId: string, message?: HTMLElement) {
  const r = await api.alerts.listAlerts({ patientId, status: AlertStatus.OPEN, pageSize: 100 });
  const status = h("div", { role: "status", "aria-live": "polite" }, message ?? null);
  if (r.alerts.length === 0) {
    clear(el, status, h("p", null, "No open alerts."));
    return;
  }
  clear(el, status, r.alerts.map((a) => alertCard(el, patientId, a)));
}

function alertCard(el: HTMLElement, patientId: string, a: Alert): HTMLElement {
  const urgent = a.severity === AlertSeverity.URGENT;
  const noteId = `note-${a.id}`;
  const note = h("textarea", { id: noteId, required: true, maxlength: "2000" });
  const error = h("div", { role: "alert" });
  const submit = h("button", { type: "submit" }, "Acknowledge");
  const occurrences = h("div");
  const details = h("details", null, h("summary", null, `${a.occurrenceCount} ${a.occurrenceCount === 1 ? "occurrence" : "occurrences"}`), occurrences);
  details.addEventListener("toggle", () => {
    if (!details.open || occurrences.childElementCount) return;
    void guard(occurrences, "occurrences", async () => {
      const o = await api.alerts.listAlertOccurrences({ patientId, alertId: a.id, pageSize: 100 });
      clear(occurrences, h("ul", null, o.occurrences.map((x) => h("li", null, `${fmtTime(x.occurTime)}: ${x.summary}`))));
    });
  });
  const form = h(
    "form",
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        submit.disabled = true;
        clear(error);
        try {
          await api.alerts.acknowledgeAlert({ patientId, alertId: a.id, note: note.value, expectedOccurrenceCount: a.occurrenceCount });
          await renderAlerts(el, patientId, h("p", { class: "notice ok" }, `Acknowledged: ${a.summary}`));
        } catch (err) {
          if (isCode(err, Code.Aborted) || reason(err) === "ALERT_CHANGED") {
            // More occurrences arrived since this card was drawn: an
            // acknowledgement must not cover what its author has not seen.
            await renderAlerts(el, patientId, h("p", { class: "notice warn" }, "This alert changed while you were reading it: new occurrences arrived. It has been reloaded; review it and acknowledge again."));
            return;
          }
          clear(error, h("p", { class: "notice error" }, errorText(err)));
          submit.disabled = false;
        }
      },
    },
    h("div", { class: "field" }, h("label", { for: noteId }, "What was done"), note),
    h("div", { class: "actions" }, submit),
  );
  return h(
    "article",
    { class: urgent ? "alert urgent" : "alert", "aria-labelledby": `alert-${a.id}`, "data-alert": a.id, "data-occurrences": String(a.occurrenceCount) },
    h("h3", { id: `alert-${a.id}` }, `${urgent ? "Urgent: " : ""}${alertTitle(a.kind)}`),
    h("p", null, a.summary),
    h("p", { class: "meta" }, `Open since ${fmtTime(a.createTime)}; latest ${fmtTime(a.latestOccurrenceTime ?? a.createTime)}`),
    details,
    error,
    form,
  );
}

async function renderPlan(el: HTMLElement, patientId: string, name: (id: string) => string) {
  const [plan, cl] = await Promise.all([api.plans.getPlan({ patientId }).then((r) => r.plan), api.plans.listClearances({ patientId })]);
  const clearances = cl.clearances.length
    ? table(
        "Clearances, newest first",
        ["Exercise", "For", "Reason", "Given", "Status"],
        cl.clearances.map((c) => [name(c.exerciseId), flagText(c.flag), c.reason, fmtTime(c.createTime), c.endTime ? `ended ${fmtTime(c.endTime)} (the answer changed)` : "live"]),
        { id: "clearances" },
      )
    : h("p", null, "No clearances.");
  if (!plan || plan.version === 0n) {
    clear(el, h("p", null, "No plan yet."), clearances);
    return;
  }
  const rows = plan.items.map((it) => [
    name(it.spec?.exerciseId ?? ""),
    doseText(it.spec?.dose),
    frequencyText(it.spec?.frequency),
    `${fmtDate(it.spec?.startDate)}${it.spec?.endDate ? ` to ${fmtDate(it.spec.endDate)}` : ""}`,
    h("span", { class: `state-${stateText[it.state].toLowerCase()}` }, stateText[it.state]),
    it.state === ItemState.SUSPENDED || it.stateReasons.length ? h("ul", { class: "reasons" }, it.stateReasons.map((r) => h("li", null, reasonText(r)))) : "—",
  ]);
  clear(
    el,
    h("p", { class: "meta" }, `Version ${plan.version}, written ${fmtTime(plan.createTime)}`, plan.note ? ` — ${plan.note}` : ""),
    plan.redFlagHold ? h("p", { class: "notice error" }, "On hold after a red-flag report: every item is suspended until the red-flag alert is acknowledged.") : null,
    table("Plan items and their gating state", ["Exercise", "Dose", "Frequency", "Dates", "State", "Why"], rows, { id: "plan-items" }),
    clearances,
  );
}

async function renderTrail(el: HTMLElement, patientId: string, name: (id: string) => string) {
  const r = await api.plans.listGatingDecisions({ patientId, pageSize: 100 });
  if (r.decisions.length === 0) {
    clear(el, h("p", null, "No gating decisions yet."));
    return;
  }
  const rows = r.decisions.map((d) => [
    fmtTime(d.decideTime),
    name(d.decision?.exerciseId ?? ""),
    enumText(DecisionCause, d.cause),
    h("span", { class: outcomeClass(d.decision?.outcome ?? 0) }, outcomeText[d.decision?.outcome ?? 0]),
    d.previousState || d.newState ? `${stateText[d.previousState]} → ${stateText[d.newState]}` : "—",
    String(d.planVersion),
    h("ul", { class: "reasons" }, (d.decision?.reasons ?? []).map((x) => h("li", null, reasonText(x)))),
  ]);
  clear(el, table(`${r.decisions.length} most recent decisions, newest first`, ["When", "Exercise", "Cause", "Outcome", "State", "Plan version", "Reasons"], rows, { id: "trail" }));
}
