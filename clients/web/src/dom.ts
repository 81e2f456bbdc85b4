// Tiny DOM helpers: the dashboard builds its pages with h() and s(), no
// framework, no innerHTML (so nothing a server returns can become markup).
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { Date as PDate } from "./gen/hep/v1/plan_pb";

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown> | null | undefined;

function apply(el: Element, attrs: Attrs, children: Child[]) {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2), v as EventListener);
    } else if (k === "value" && el instanceof HTMLInputElement) {
      el.value = String(v);
    } else if (k === "value" && (el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement)) {
      queueMicrotask(() => ((el as HTMLSelectElement).value = String(v)));
      (el as HTMLTextAreaElement).value = String(v);
    } else if (k === "checked" || k === "selected" || k === "disabled") {
      (el as unknown as Record<string, unknown>)[k] = Boolean(v);
      if (v) el.setAttribute(k, "");
    } else {
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
}

export function append(el: Node, children: Child[]) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  apply(el, attrs, children);
  return el;
}

export function s(tag: string, attrs?: Attrs, ...children: Child[]): SVGElement {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  apply(el, attrs, children);
  return el;
}

export function clear(el: Element, ...children: Child[]) {
  el.replaceChildren();
  append(el, children);
}

let ids = 0;
export function uid(prefix: string) {
  return `${prefix}-${++ids}`;
}

// labelled wraps a control with its visible label.
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || uid("f");
  control.id = id;
  const hintEl = hint ? h("span", { class: "hint", id: id + "-hint" }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl);
}

// enumName turns SCREENING_FLAG_OSTEOPOROSIS-style names into "osteoporosis".
export function enumText(e: Record<number, string>, v: number): string {
  const n = e[v];
  if (n === undefined || /UNSPECIFIED/.test(n)) return "—";
  return n.toLowerCase().replace(/_/g, " ");
}

export function fmtTime(t?: Timestamp): string {
  if (!t) return "—";
  const d = timestampDate(t);
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

export function fmtDate(d?: PDate): string {
  if (!d || !d.year) return "—";
  return `${d.year}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}`;
}

export function isoDate(d: globalThis.Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

export function parseDate(v: string): { year: number; month: number; day: number } | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  return m ? { year: +m[1], month: +m[2], day: +m[3] } : undefined;
}

export function fmtNum(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "—";
}

// loading shows a polite status while work runs in el.
export function loading(el: Element, what: string) {
  clear(el, h("p", { class: "loading", role: "status" }, `Loading ${what}…`));
}
