// The plan editor: the clinician edits items, checks them with
// PlanService.CheckPlan (a dry run of the gate: refusals and items waiting
// for a clearance are shown with their reasons before anything is
// written), clears what may be cleared, and saves with SetPlan's
// compare-and-set on the version.
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { api, errorText, isCode } from "./api";
import { clear, fmtDate, h, isoDate, loading, parseDate, uid } from "./dom";
import { violations } from "./errors";
import { ExerciseKind, type Exercise } from "./gen/hep/v1/catalog_pb";
import { GateOutcome, PlanItemSpecSchema, type CheckPlanResponse, type GateReason, type PlanItemSpec } from "./gen/hep/v1/plan_pb";
import { ScreeningFlag } from "./gen/hep/v1/screening_pb";
import { focusHeading, type PageContext } from "./main";
import { exercises } from "./names";
import { flagText, outcomeClass, outcomeText, reasonText } from "./text";

interface Row {
  exercise: Exercise;
  el: HTMLElement;
  result: HTMLElement;
  spec: () => PlanItemSpec;
}

function num(label: string, value: number, min: number, max: number): [HTMLElement, HTMLInputElement] {
  const input = h("input", { type: "number", min: String(min), max: String(max), value: String(value), id: uid("n") });
  return [h("div", { class: "field" }, h("label", { for: input.id }, label), input), input];
}

function itemRow(x: Exercise, s: PlanItemSpec | undefined, onRemove: (r: Row) => void): Row {
  const d = s?.dose ?? x.defaultDose;
  const [setsF, sets] = num("Sets", d?.sets ?? 1, 0, 20);
  const [repsF, reps] = num("Reps", d?.reps ?? 0, 0, 100);
  const [holdF, hold] = num("Hold (s)", d?.holdSeconds ?? 0, 0, 600);
  const [durF, dur] = num("Duration (s)", d?.durationSeconds ?? 0, 0, 7200);
  const device = x.kind === ExerciseKind.DEVICE;
  const [angF, ang] = num("Angle (°)", d?.angleDegrees ?? 0, 0, 90);
  const [forF, force] = num("Force (kg)", d?.forceKg ?? 0, 0, 100);
  const [tpdF, tpd] = num("Times a day", s?.frequency?.timesPerDay || 1, 1, 10);
  const [dpwF, dpw] = num("Days a week", s?.frequency?.daysPerWeek || (s?.frequency?.weekdays.length ? 0 : 7), 0, 7);
  const start = h("input", { type: "date", id: uid("d"), value: s?.startDate ? fmtDate(s.startDate) : isoDate(new Date()), required: true });
  const end = h("input", { type: "date", id: uid("d"), value: s?.endDate ? fmtDate(s.endDate) : "" });
  const notes = h("textarea", { id: uid("t"), maxlength: "2000", value: s?.notes ?? "" });
  const result = h("div", { class: "check-result", "aria-live": "polite" });
  const legendId = uid("lg");
  const row: Row = {
    exercise: x,
    result,
    el: h("div"),
    spec: () =>
      create(PlanItemSpecSchema, {
        exerciseId: x.id,
        dose: {
          sets: +sets.value, reps: +reps.value, holdSeconds: +hold.value, durationSeconds: +dur.value,
          angleDegrees: device ? +ang.value : 0, forceKg: device ? +force.value : 0,
        },
        // Weekdays written elsewhere are kept; otherwise days a week.
        frequency: s?.frequency?.weekdays.length && +dpw.value === 0
          ? { timesPerDay: +tpd.value, weekdays: s.frequency.weekdays }
          : { timesPerDay: +tpd.value, daysPerWeek: +dpw.value },
        startDate: parseDate(start.value),
        endDate: parseDate(end.value),
        notes: notes.value,
      }),
  };
  row.el = h(
    "div",
    { class: "plan-item", "data-exercise": x.id, role: "group", "aria-labelledby": legendId },
    h("h3", { id: legendId }, x.name, device ? " (device)" : ""),
    h("div", { class: "row" }, setsF, repsF, holdF, durF, device ? [angF, forF] : null, tpdF, dpwF),
    h(
      "div",
      { class: "row" },
      h("div", { class: "field" }, h("label", { for: start.id }, "Start"), start),
      h("div", { class: "field" }, h("label", { for: end.id }, "End (optional)"), end),
    ),
    h("div", { class: "field" }, h("label", { for: notes.id }, "Notes for the patient"), notes),
    result,
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: () => onRemove(row) }, `Remove ${x.name}`)),
  );
  return row;
}

export async function renderPlanEditor(ctx: PageContext, patientId: string, notice?: string) {
  ctx.title("Edit plan");
  loading(ctx.main, "the plan");
  let patientName: string;
  let version: bigint;
  let specs: PlanItemSpec[];
  let catalog: Exercise[];
  try {
    const [p, plan, cat] = await Promise.all([api.patients.getPatient({ patientId }), api.plans.getPlan({ patientId }), exercises()]);
    patientName = p.patient?.displayName ?? "";
    version = plan.plan?.version ?? 0n;
    specs = (plan.plan?.items ?? []).map((i) => i.spec).filter((x): x is PlanItemSpec => !!x);
    catalog = cat.filter((x) => !x.retired);
  } catch (e) {
    if (!ctx.live()) return;
    clear(ctx.main, h("h1", null, isCode(e, Code.NotFound) ? "Patient not found" : "Could not open the plan"), h("p", { class: "notice error", role: "alert" }, errorText(e)), h("p", null, h("a", { href: "#/" }, "Back to triage")));
    return;
  }
  if (!ctx.live()) return;
  ctx.title(`Edit plan · ${patientName}`);

  const rows: Row[] = [];
  const list = h("div", { id: "plan-rows" });
  const status = h("div", { role: "status", "aria-live": "polite" }, notice ? h("p", { class: "notice warn" }, notice) : null);
  const errors = h("div", { role: "alert" });
  const add = h("select", { id: "add-exercise" });
  const note = h("textarea", { id: "plan-note", maxlength: "2000" });
  const byId = new Map(catalog.map((x) => [x.id, x]));
  const editing = h("p", { class: "meta", id: "editing-version" }, version ? `Editing version ${version}.` : "No plan yet: this writes the first version.");

  const refreshAdd = () => {
    const used = new Set(rows.map((r) => r.exercise.id));
    clear(add, catalog.filter((x) => !used.has(x.id)).map((x) => h("option", { value: x.id }, x.name + (x.kind === ExerciseKind.DEVICE ? " (device)" : ""))));
  };
  const remove = (r: Row) => {
    rows.splice(rows.indexOf(r), 1);
    r.el.remove();
    refreshAdd();
    clear(status, `Removed ${r.exercise.name}.`);
  };
  const push = (x: Exercise, s?: PlanItemSpec) => {
    const r = itemRow(x, s, remove);
    rows.push(r);
    list.appendChild(r.el);
  };
  for (const s of specs) {
    const x = byId.get(s.exerciseId);
    if (x) push(x, s);
  }
  refreshAdd();

  const check = async (keepErrors = false): Promise<CheckPlanResponse | undefined> => {
    if (!keepErrors) clear(errors);
    if (rows.length === 0) {
      clear(status, "Add an item to check.");
      return undefined;
    }
    const r = await api.plans.checkPlan({ patientId, items: rows.map((x) => x.spec()) });
    r.decisions.forEach((d, i) => {
      const row = rows[i];
      const blocking = d.reasons.filter((x) => x.outcome !== GateOutcome.ALLOWED);
      clear(
        row.result,
        h("p", null, "Gate: ", h("span", { class: outcomeClass(d.outcome) }, outcomeText[d.outcome])),
        d.reasons.length ? h("ul", { class: "reasons" }, d.reasons.map((x) => h("li", null, reasonText(x), x.source ? h("span", { class: "meta" }, ` (source: ${x.source})`) : null))) : null,
        d.outcome === GateOutcome.CONTRAINDICATED
          ? h("p", { class: "meta" }, "A contraindication cannot be cleared; only a changed screening answer lifts it.")
          : blocking.filter((x) => x.outcome === GateOutcome.NEEDS_CLEARANCE && !x.cleared).map((x) => clearForm(patientId, row.exercise, x, () => void run(() => check()))),
      );
    });
    clear(status, h("p", { class: r.writable ? "notice ok" : "notice warn" }, r.writable ? "The gate allows every item: the plan can be saved." : "The gate blocks at least one item: see the reasons under each item."));
    return r;
  };

  const save = async () => {
    clear(errors);
    try {
      const r = await api.plans.setPlan({ patientId, expectedVersion: version, items: rows.map((x) => x.spec()), note: note.value });
      version = r.plan?.version ?? version;
      clear(editing, `Editing version ${version}.`);
      clear(status, h("p", { class: "notice ok" }, `Saved version ${version}.`));
    } catch (e) {
      if (isCode(e, Code.Aborted)) {
        // Never a silent overwrite, never a silent merge: the edits stay on
        // screen until the user chooses to load the newest version, which
        // replaces them (the button says so).
        const mine = version;
        clear(
          errors,
          h(
            "div",
            { class: "notice error conflict" },
            h("p", null, `Someone else changed this plan since you opened version ${mine}: nothing was saved. Your edits are still on this page.`),
            h("button", { type: "button", onclick: () => void renderPlanEditor(ctx, patientId, `Loaded the newest version. Your unsaved edits to version ${mine} were discarded: make them again if they are still needed.`) }, "Load the newest plan (discards your edits)"),
          ),
        );
      } else if (isCode(e, Code.FailedPrecondition) || isCode(e, Code.InvalidArgument)) {
        const v = violations(e);
        clear(errors, h("div", { class: "notice error" }, h("p", null, "Not saved: ", errorText(e)), v.length ? h("ul", null, v.map((x) => h("li", null, `${x.field}: ${x.description}`))) : null));
        await check(true).catch(() => undefined);
      } else {
        throw e;
      }
    }
  };

  const run = async (f: () => Promise<unknown>) => {
    try {
      await f();
    } catch (e) {
      clear(errors, h("p", { class: "notice error" }, errorText(e)));
    }
  };

  clear(
    ctx.main,
    h("p", null, h("a", { href: `#/patients/${encodeURIComponent(patientId)}` }, `← ${patientName}`)),
    h("h1", null, `Edit plan: ${patientName}`),
    editing,
    list,
    h(
      "div",
      { class: "row" },
      h("div", { class: "field" }, h("label", { for: "add-exercise" }, "Exercise to add"), add),
      h("button", { type: "button", class: "secondary", onclick: () => { const x = byId.get(add.value); if (x) { push(x); refreshAdd(); clear(status, `Added ${x.name}.`); } } }, "Add item"),
    ),
    h("div", { class: "field" }, h("label", { for: "plan-note" }, "Note on this version"), note),
    errors,
    status,
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: () => void run(() => check()) }, "Check with the gate"), h("button", { type: "button", onclick: () => void run(save) }, "Save plan")),
  );
  focusHeading(ctx.main);
}

// clearForm records a clinician's clearance for one NEEDS_CLEARANCE reason.
function clearForm(patientId: string, x: Exercise, r: GateReason, after: () => void): HTMLElement {
  const id = uid("clear");
  const why = h("input", { id, type: "text", required: true, maxlength: "2000" });
  const what = r.flag === ScreeningFlag.UNSPECIFIED ? `${x.name} (device standing clearance)` : `${x.name} despite ${flagText(r.flag)}`;
  const error = h("div", { role: "alert" });
  return h(
    "form",
    {
      class: "row",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          await api.plans.clearItem({ patientId, exerciseId: x.id, flag: r.flag, reason: why.value });
          after();
        } catch (err) {
          clear(error, h("p", { class: "notice error" }, errorText(err)));
        }
      },
    },
    h("div", { class: "field" }, h("label", { for: id }, `Reason to clear ${what}`), why),
    h("button", { type: "submit" }, `Clear ${what}`),
    error,
  );
}
