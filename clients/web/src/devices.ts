// A patient's phones: the enrolled devices (revocable), and a one-time
// enrollment code with its QR code for the patient's app to scan. The QR
// code holds the code only; it is drawn as SVG squares, never as markup
// from a string.
import qrcode from "qrcode-generator";
import { api, errorText } from "./api";
import { clear, fmtTime, h, s, enumText, loading } from "./dom";
import { Platform } from "./gen/hep/v1/auth_pb";
import type { Device } from "./gen/hep/v1/device_pb";

export function qrSvg(text: string, label: string): SVGElement {
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const quiet = 4;
  const cells: SVGElement[] = [];
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (qr.isDark(r, c)) cells.push(s("rect", { x: c + quiet, y: r + quiet, width: 1, height: 1 }));
    }
  }
  const size = n + 2 * quiet;
  return s(
    "svg",
    { class: "qr", viewBox: `0 0 ${size} ${size}`, width: 200, height: 200, role: "img", "aria-label": label, "data-modules": String(n), "shape-rendering": "crispEdges" },
    s("rect", { x: 0, y: 0, width: size, height: size, fill: "#fff" }),
    s("g", { fill: "#000" }, cells),
  );
}

export async function renderDevices(el: HTMLElement, patientId: string, message?: HTMLElement) {
  const r = await api.devices.listDevices({ patientId });
  const status = h("div", { role: "status", "aria-live": "polite" }, message ?? null);
  const enroll = h("div", { id: "enroll" });
  const ttl = h(
    "select",
    { id: "enroll-ttl" },
    h("option", { value: String(30 * 60) }, "30 minutes"),
    h("option", { value: String(24 * 3600), selected: true }, "24 hours"),
    h("option", { value: String(72 * 3600) }, "72 hours"),
  );
  const create = h("button", {
    type: "button",
    onclick: async () => {
      create.disabled = true;
      try {
        const c = await api.devices.createEnrollmentCode({ patientId, ttlSeconds: Number(ttl.value) });
        clear(
          enroll,
          h("p", null, "Enrollment code (one use): ", h("strong", { class: "code", id: "enroll-code" }, c.code)),
          h("p", { class: "meta" }, `Valid until ${fmtTime(c.expireTime)}. The patient enters it in the app, or scans:`),
          qrSvg(c.code, "QR code of the enrollment code"),
          h("p", null, h("button", { type: "button", class: "secondary", onclick: () => void guardDevices(el, patientId) }, "Refresh the device list")),
        );
      } catch (e) {
        clear(enroll, h("p", { class: "notice error", role: "alert" }, errorText(e)));
      } finally {
        create.disabled = false;
      }
    },
  }, "Create an enrollment code");
  clear(
    el,
    status,
    r.devices.length
      ? h(
          "table",
          { id: "devices" },
          h("caption", null, "Enrolled phones"),
          h("thead", null, h("tr", null, ["Name", "Platform", "Enrolled", "Status"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", null, r.devices.map((d) => deviceRow(el, patientId, d))),
        )
      : h("p", null, "No phone enrolled yet."),
    h("div", { class: "row" }, h("div", { class: "field" }, h("label", { for: "enroll-ttl" }, "Code valid for"), ttl), create),
    enroll,
  );
}

async function guardDevices(el: HTMLElement, patientId: string, message?: HTMLElement) {
  try {
    await renderDevices(el, patientId, message);
  } catch (e) {
    clear(el, h("p", { class: "notice error", role: "alert" }, `Could not load the phones: ${errorText(e)}`));
  }
}

export function loadDevices(el: HTMLElement, patientId: string) {
  loading(el, "phones");
  return guardDevices(el, patientId);
}

function deviceRow(el: HTMLElement, patientId: string, d: Device): HTMLElement {
  const cell = h("td");
  const ask = h("button", { type: "button", class: "secondary" }, `Revoke ${d.name}`);
  ask.addEventListener("click", () => {
    // A second, explicit confirmation: revoking signs the phone out at once.
    clear(
      cell,
      h("span", null, "Sign this phone out for good? "),
      h("button", {
        type: "button",
        onclick: async () => {
          try {
            await api.devices.revokeDevice({ patientId, deviceId: d.id });
            await guardDevices(el, patientId, h("p", { class: "notice ok" }, `Revoked ${d.name}.`));
          } catch (e) {
            clear(cell, h("span", { class: "notice error", role: "alert" }, errorText(e)));
          }
        },
      }, "Yes, revoke"),
      " ",
      h("button", { type: "button", class: "secondary", onclick: () => clear(cell, ask) }, "Cancel"),
    );
    (cell.querySelector("button") as HTMLButtonElement | null)?.focus();
  });
  if (d.revokeTime) clear(cell, `Revoked ${fmtTime(d.revokeTime)}`);
  else clear(cell, ask);
  return h("tr", { "data-device": d.id }, h("th", { scope: "row" }, d.name), h("td", null, enumText(Platform, d.platform)), h("td", null, fmtTime(d.enrollTime)), cell);
}
