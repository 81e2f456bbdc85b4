// Export for a follow-up visit: ExportService.Export streams the file
// (FHIR R4 Bundle, CSV or PDF) in chunks; the page joins them and offers
// the result as a download. Nothing is kept after the download starts.
import { api, errorText } from "./api";
import { clear, h, parseDate } from "./dom";
import { ExportFormat } from "./gen/hep/v1/export_pb";

export function exportForm(patientId: string): HTMLElement {
  const format = h(
    "select",
    { id: "export-format" },
    h("option", { value: String(ExportFormat.PDF) }, "PDF visit summary"),
    h("option", { value: String(ExportFormat.CSV) }, "CSV"),
    h("option", { value: String(ExportFormat.FHIR) }, "FHIR R4 Bundle (JSON)"),
  );
  const from = h("input", { id: "export-from", type: "date" });
  const to = h("input", { id: "export-to", type: "date" });
  const status = h("div", { role: "status", "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Download");
  return h(
    "form",
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        submit.disabled = true;
        clear(status, h("p", { class: "notice" }, "Preparing the export…"));
        try {
          const chunks: Uint8Array<ArrayBuffer>[] = [];
          let fileName = "export";
          let mediaType = "application/octet-stream";
          let total = 0n;
          for await (const r of api.exports.export({ patientId, format: Number(format.value), from: parseDate(from.value), to: parseDate(to.value) })) {
            if (r.header) {
              fileName = r.header.fileName || fileName;
              mediaType = r.header.mediaType || mediaType;
              total = r.header.totalRows;
            }
            if (r.data.length) chunks.push(new Uint8Array(r.data));
            if (total > 0n) clear(status, h("p", { class: "notice" }, `Preparing the export… ${r.rowsDone} of ${total} rows`));
          }
          const url = URL.createObjectURL(new Blob(chunks, { type: mediaType }));
          const a = h("a", { href: url, download: fileName });
          document.body.appendChild(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 60_000);
          clear(status, h("p", { class: "notice ok" }, `Downloaded ${fileName}.`));
        } catch (err) {
          clear(status, h("p", { class: "notice error", role: "alert" }, `Export failed: ${errorText(err)}`));
        } finally {
          submit.disabled = false;
        }
      },
    },
    h(
      "div",
      { class: "row" },
      h("div", { class: "field" }, h("label", { for: "export-format" }, "Format"), format),
      h("div", { class: "field" }, h("label", { for: "export-from" }, "From (optional)"), from),
      h("div", { class: "field" }, h("label", { for: "export-to" }, "To (optional)"), to),
    ),
    status,
    h("div", { class: "actions" }, submit),
  );
}
