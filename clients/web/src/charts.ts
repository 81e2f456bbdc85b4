// Weekly adherence and pain as SVG charts. Each chart is an image with a
// text alternative, and the page prints the same numbers in a table (the
// chart is never the only place a value is shown).
import { s, fmtDate, fmtNum, h } from "./dom";
import type { Progress } from "./gen/hep/v1/review_pb";
import type { OutcomeSeries } from "./gen/hep/v1/outcome_pb";

const W = 560;
const H = 240;
const M = { left: 40, right: 12, top: 14, bottom: 34 };
const plotW = W - M.left - M.right;
const plotH = H - M.top - M.bottom;

function frame(id: string, title: string, desc: string, children: SVGElement[]): SVGElement {
  return s(
    "svg",
    { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${id}-t ${id}-d`, id },
    s("title", { id: `${id}-t` }, title),
    s("desc", { id: `${id}-d` }, desc),
    children,
  );
}

function xOf(i: number, n: number): number {
  return M.left + (plotW * (i + 0.5)) / Math.max(1, n);
}

function yAxis(max: number, step: number, unit: string): SVGElement[] {
  const out: SVGElement[] = [];
  for (let v = 0; v <= max; v += step) {
    const y = M.top + plotH - (plotH * v) / max;
    out.push(s("line", { class: "grid", x1: M.left, x2: W - M.right, y1: y, y2: y }));
    out.push(s("text", { class: "label", x: M.left - 6, y: y + 4, "text-anchor": "end" }, `${v}${unit}`));
  }
  out.push(s("line", { class: "axis", x1: M.left, x2: M.left, y1: M.top, y2: M.top + plotH }));
  out.push(s("line", { class: "axis", x1: M.left, x2: W - M.right, y1: M.top + plotH, y2: M.top + plotH }));
  return out;
}

function weekLabel(p: Progress, i: number): string {
  const d = p.weeks[i].start;
  return d ? `${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}` : "";
}

function xLabels(p: Progress): SVGElement[] {
  return p.weeks.map((_, i) => s("text", { class: "label", x: xOf(i, p.weeks.length), y: H - M.bottom + 16, "text-anchor": "middle" }, weekLabel(p, i)));
}

export function adherenceChart(p: Progress): SVGElement {
  const n = p.weeks.length;
  const line = p.thresholds?.adherentPercent ?? 80;
  const bw = Math.min(48, (plotW / Math.max(1, n)) * 0.6);
  const bars: SVGElement[] = [];
  p.weeks.forEach((w, i) => {
    const a = w.adherence;
    if (!a || a.prescribed === 0) return;
    const y = M.top + plotH - (plotH * Math.min(100, a.percent)) / 100;
    bars.push(
      s(
        "rect",
        {
          class: a.adherent ? "bar adherent" : "bar",
          x: xOf(i, n) - bw / 2,
          y,
          width: bw,
          height: M.top + plotH - y,
          "data-week": fmtDate(w.start),
          "data-value": fmtNum(a.percent, 0),
        },
        s("title", null, `Week of ${fmtDate(w.start)}: ${fmtNum(a.percent, 0)}% (${a.completed} of ${a.prescribed} sessions)`),
      ),
    );
  });
  const ly = M.top + plotH - (plotH * line) / 100;
  const shown = p.weeks.filter((w) => w.adherence && w.adherence.prescribed > 0).length;
  return frame(
    "chart-adherence",
    "Weekly adherence",
    `Bars show the percentage of prescribed sessions done each week, for ${shown} of ${n} weeks with sessions prescribed; the dashed line is the adherent line at ${line}%. The table below lists the same values.`,
    [
      ...yAxis(100, 25, "%"),
      ...xLabels(p),
      ...bars,
      s("line", { class: "threshold", x1: M.left, x2: W - M.right, y1: ly, y2: ly }),
    ],
  );
}

// baselineMean is the baseline week's mean check-in score, or undefined.
export function baselineMean(p: Progress): number | undefined {
  const w = p.baselineWeek >= 0 ? p.weeks[p.baselineWeek] : undefined;
  return w && w.checkins > 0 ? w.painMean : undefined;
}

export function painChart(p: Progress): SVGElement {
  const n = p.weeks.length;
  const y = (v: number) => M.top + plotH - (plotH * Math.max(0, Math.min(10, v))) / 10;
  const parts: SVGElement[] = [];
  const base = baselineMean(p);
  if (base !== undefined) {
    const top = y(base + p.mcidRise);
    const bottom = y(base - p.mcidFall);
    parts.push(s("rect", { class: "band", id: "mcid-band", x: M.left, width: plotW, y: top, height: bottom - top, "data-low": fmtNum(base - p.mcidFall), "data-high": fmtNum(base + p.mcidRise) }));
  }
  parts.push(...yAxis(10, 2, ""), ...xLabels(p));
  const pts = p.weeks.map((w, i) => ({ w, i })).filter(({ w }) => w.checkins > 0);
  if (pts.length > 1) {
    parts.push(s("polyline", { class: "line", points: pts.map(({ w, i }) => `${xOf(i, n)},${y(w.painMean)}`).join(" ") }));
  }
  for (const { w, i } of pts) {
    parts.push(
      s(
        "circle",
        { class: "point", cx: xOf(i, n), cy: y(w.painMean), r: 5, "data-week": fmtDate(w.start), "data-value": fmtNum(w.painMean) },
        s("title", null, `Week of ${fmtDate(w.start)}: mean pain ${fmtNum(w.painMean)} from ${w.checkins} check-ins`),
      ),
    );
  }
  const band =
    base === undefined
      ? "There is no baseline week yet."
      : `The shaded band runs from ${fmtNum(base - p.mcidFall)} to ${fmtNum(base + p.mcidRise)}: weekly means inside it are within the minimal clinically important difference of the baseline week's mean ${fmtNum(base)}.`;
  return frame("chart-pain", "Weekly mean pain (0–10)", `Points show the mean pain check-in score of ${pts.length} weeks with check-ins. ${band} The table below lists the same values.`, parts);
}

export function chartLegend(p: Progress): HTMLElement {
  const base = baselineMean(p);
  return h(
    "p",
    { class: "legend" },
    base === undefined
      ? "No check-ins yet: no baseline."
      : [h("span", { class: "swatch band", "aria-hidden": "true" }), `Within the MCID of the baseline (${fmtNum(base)}): from −${fmtNum(p.mcidFall)} to +${fmtNum(p.mcidRise)} points.`],
  );
}

// mcidThreshold is the smallest change from the baseline that counts, as
// the server classifies it: mcid_points, or mcid_percent of the baseline
// where the instrument has one, whichever is reached first.
export function mcidThreshold(o: OutcomeSeries): number | undefined {
  if (o.baseline === undefined) return undefined;
  let t = o.mcidPoints;
  if (o.mcidPercent > 0 && o.baseline > 0) t = Math.min(t, (o.mcidPercent * o.baseline) / 100);
  return t;
}

// outcomeChart draws one assignment's scores by slot, with the baseline
// line and the MCID band around it, on the instrument's score range.
export function outcomeChart(id: string, title: string, o: OutcomeSeries, min: number, max: number): SVGElement {
  const span = max - min || 1;
  const y = (v: number) => M.top + plotH - (plotH * (Math.max(min, Math.min(max, v)) - min)) / span;
  const n = o.points.length;
  const parts: SVGElement[] = [];
  const t = mcidThreshold(o);
  if (o.baseline !== undefined && t !== undefined) {
    const top = y(o.baseline + t);
    const bottom = y(o.baseline - t);
    parts.push(s("rect", { class: "band mcid-band", x: M.left, width: plotW, y: top, height: bottom - top, "data-low": fmtNum(o.baseline - t), "data-high": fmtNum(o.baseline + t) }));
  }
  const step = span <= 10 ? 2 : span / 5;
  for (let v = min; v <= max + 1e-9; v += step) {
    const yy = y(v);
    parts.push(s("line", { class: "grid", x1: M.left, x2: W - M.right, y1: yy, y2: yy }));
    parts.push(s("text", { class: "label", x: M.left - 6, y: yy + 4, "text-anchor": "end" }, fmtNum(v, 0)));
  }
  parts.push(s("line", { class: "axis", x1: M.left, x2: M.left, y1: M.top, y2: M.top + plotH }));
  parts.push(s("line", { class: "axis", x1: M.left, x2: W - M.right, y1: M.top + plotH, y2: M.top + plotH }));
  o.points.forEach((p, i) => {
    const d = p.slotDate;
    parts.push(s("text", { class: "label", x: xOf(i, n), y: H - M.bottom + 16, "text-anchor": "middle" }, d ? `${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}` : ""));
  });
  if (o.baseline !== undefined) {
    const by = y(o.baseline);
    parts.push(s("line", { class: "threshold baseline", x1: M.left, x2: W - M.right, y1: by, y2: by, "data-value": fmtNum(o.baseline) }));
  }
  const scored = o.points.map((p, i) => ({ p, i })).filter(({ p }) => p.score !== undefined);
  if (scored.length > 1) {
    parts.push(s("polyline", { class: "line", points: scored.map(({ p, i }) => `${xOf(i, n)},${y(p.score!)}`).join(" ") }));
  }
  for (const { p, i } of scored) {
    parts.push(
      s(
        "circle",
        { class: "point", cx: xOf(i, n), cy: y(p.score!), r: 5, "data-slot": fmtDate(p.slotDate), "data-value": fmtNum(p.score!) },
        s("title", null, `Due ${fmtDate(p.slotDate)}: score ${fmtNum(p.score!)}`),
      ),
    );
  }
  const band =
    o.baseline === undefined || t === undefined
      ? "There is no baseline score yet."
      : `The dashed line is the baseline score ${fmtNum(o.baseline)}; the shaded band runs from ${fmtNum(o.baseline - t)} to ${fmtNum(o.baseline + t)}, within the minimal clinically important difference of the baseline.`;
  return frame(id, title, `Points show the score of ${scored.length} answered questionnaires by the day each was due, on a scale of ${fmtNum(min, 0)} to ${fmtNum(max, 0)}. ${band} The table below lists the same values.`, parts);
}
