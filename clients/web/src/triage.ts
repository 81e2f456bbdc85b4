// Triage: the clinician's patients ranked by ReviewService.ListTriage
// (urgent alerts, open alerts, worsening pain, low adherence, inactivity),
// each with the server's one-line reason; filters narrow the list without
// changing its order.
import { api } from "./api";
import { clear, fmtNum, fmtTime, h, loading } from "./dom";
import { TriageTier, type TriageEntry } from "./gen/hep/v1/review_pb";
import { focusHeading, type PageContext } from "./main";

export const tierText: Record<TriageTier, string> = {
  [TriageTier.UNSPECIFIED]: "—",
  [TriageTier.URGENT]: "Urgent",
  [TriageTier.OPEN_ALERTS]: "Open alerts",
  [TriageTier.WORSENING]: "Worsening pain",
  [TriageTier.LOW_ADHERENCE]: "Low adherence",
  [TriageTier.INACTIVE]: "Inactive",
  [TriageTier.ON_TRACK]: "On track",
};

function tierClass(t: TriageTier): string {
  return "tier tier-" + tierText[t].toLowerCase().replace(/\s+/g, "-").replace(" pain", "");
}

export async function renderTriage(ctx: PageContext) {
  ctx.title("Triage");
  const body = h("div");
  clear(ctx.main, h("h1", null, "Patients to review"), body);
  focusHeading(ctx.main);
  loading(body, "the triage list");

  const entries: TriageEntry[] = [];
  let total = 0;
  let pageToken = "";
  do {
    const r = await api.review.listTriage({ pageSize: 500, pageToken });
    entries.push(...r.entries);
    total = r.total;
    pageToken = r.nextPageToken;
  } while (pageToken && entries.length < 5000);
  if (!ctx.live()) return;

  if (entries.length === 0) {
    clear(body, h("p", null, "No patients on your care team yet. Create one with hepctl (", h("code", null, "hepctl patient create"), ")."));
    return;
  }

  const tier = h(
    "select",
    { id: "filter-tier" },
    h("option", { value: "" }, "All patients"),
    h("option", { value: "attention" }, "Needs attention (not on track)"),
    Object.values(TriageTier)
      .filter((v): v is TriageTier => typeof v === "number" && v !== TriageTier.UNSPECIFIED)
      .map((v) => h("option", { value: String(v) }, tierText[v])),
  );
  const name = h("input", { id: "filter-name", type: "search", autocomplete: "off" });
  const count = h("p", { role: "status", "aria-live": "polite", class: "meta" });
  const tbody = h("tbody");

  const draw = () => {
    const q = name.value.trim().toLowerCase();
    const shown = entries.filter((e) => {
      if (tier.value === "attention" && e.tier === TriageTier.ON_TRACK) return false;
      if (tier.value && tier.value !== "attention" && String(e.tier) !== tier.value) return false;
      return !q || e.displayName.toLowerCase().includes(q);
    });
    clear(count, `Showing ${shown.length} of ${total} patients, most pressing first.`);
    clear(
      tbody,
      shown.map((e) =>
        h(
          "tr",
          { "data-patient": e.patientId },
          h("td", { class: "num" }, e.rank),
          h("th", { scope: "row" }, h("a", { href: `#/patients/${encodeURIComponent(e.patientId)}` }, e.displayName)),
          h("td", null, h("span", { class: tierClass(e.tier) }, tierText[e.tier])),
          h("td", null, e.reason, e.oldestOpenAlertTime ? h("div", { class: "meta" }, `Oldest open alert: ${fmtTime(e.oldestOpenAlertTime)}`) : null),
          h("td", { class: "num" }, e.openAlerts, e.openOccurrences > e.openAlerts ? h("div", { class: "meta" }, `${e.openOccurrences} occurrences`) : null),
          h("td", { class: "num unread-messages" }, e.unreadMessages ? h("span", { class: "badge" }, `${e.unreadMessages} unread`) : "0"),
          h("td", { class: "num" }, e.hasPainDelta ? (e.painDelta > 0 ? "+" : "") + fmtNum(e.painDelta) : "—"),
          h("td", { class: "num" }, e.adherencePercent < 0 ? "—" : `${fmtNum(e.adherencePercent, 0)}%`),
          h("td", { class: "num" }, e.daysSinceActivity < 0 ? "never" : String(e.daysSinceActivity)),
        ),
      ),
    );
  };
  tier.addEventListener("change", draw);
  name.addEventListener("input", draw);

  clear(
    body,
    h(
      "form",
      { class: "filters", role: "search", "aria-label": "Filter patients", onsubmit: (e: Event) => e.preventDefault() },
      h("div", { class: "field" }, h("label", { for: "filter-tier" }, "Show"), tier),
      h("div", { class: "field" }, h("label", { for: "filter-name" }, "Name contains"), name),
    ),
    count,
    h(
      "table",
      { id: "triage" },
      h("caption", null, "Care-team patients ranked by need"),
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", { scope: "col", class: "num" }, "Rank"),
          h("th", { scope: "col" }, "Patient"),
          h("th", { scope: "col" }, "Need"),
          h("th", { scope: "col" }, "Why"),
          h("th", { scope: "col", class: "num" }, "Open alerts"),
          h("th", { scope: "col", class: "num" }, "Unread messages"),
          h("th", { scope: "col", class: "num" }, "Pain change (7 days)"),
          h("th", { scope: "col", class: "num" }, "Adherence (7 days)"),
          h("th", { scope: "col", class: "num" }, "Days since a session"),
        ),
      ),
      tbody,
    ),
  );
  draw();
}
