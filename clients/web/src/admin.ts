// The administrator's pages. An admin has no clinical access by role (the
// authorization table in internal/rpc gives ADMIN the accounts, the care
// teams' membership and the audit trail, and no patient data), so:
//   - Accounts (#/): every account; create one; disable or enable it
//     (AccountService);
//   - Care teams (#/care-teams): for a patient id (an admin cannot list or
//     read patients, so the id comes from the clinician or hepctl), the
//     clinicians on its care team by name, add one, remove one
//     (PatientService Add/Remove/ListCareTeamMembers); no patient name;
//   - Audit (#/audit): AuditService.ListAuditEvents over a time range,
//     optionally one patient's, a page at a time.
import { Code } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { api, errorText, isCode, principal } from "./api";
import { clear, enumText, fmtTime, h, loading, uid } from "./dom";
import { violations } from "./errors";
import { Role } from "./gen/hep/v1/common_pb";
import type { Account } from "./gen/hep/v1/account_pb";
import type { AuditEvent } from "./gen/hep/v1/audit_pb";
import type { CareTeamMember } from "./gen/hep/v1/patient_pb";
import { focusHeading, type PageContext } from "./main";

export async function renderAdmin(ctx: PageContext, page: string) {
  if (page === "care-teams") return renderCareTeams(ctx);
  if (page === "audit") return renderAudit(ctx);
  return renderAccounts(ctx);
}

function roleText(r: Role): string {
  return r === Role.ADMIN ? "administrator" : enumText(Role, r);
}

async function allAccounts(): Promise<Account[]> {
  const all: Account[] = [];
  let pageToken = "";
  do {
    const r = await api.accounts.listAccounts({ pageSize: 200, pageToken });
    all.push(...r.accounts);
    pageToken = r.nextPageToken;
  } while (pageToken && all.length < 5000);
  return all;
}

// ---- Accounts

async function renderAccounts(ctx: PageContext) {
  ctx.title("Accounts");
  const list = h("div");
  const status = h("div", { role: "status", "aria-live": "polite" });
  clear(
    ctx.main,
    h("h1", null, "Accounts"),
    h("p", { class: "notice" }, "This dashboard is for clinicians: an administrator's account has no access to patients. Here you manage accounts, care teams and read the audit trail."),
    status,
    list,
    createForm(ctx, list, status),
  );
  focusHeading(ctx.main);
  await drawAccounts(ctx, list, status);
}

async function drawAccounts(ctx: PageContext, list: HTMLElement, status: HTMLElement) {
  loading(list, "accounts");
  let all: Account[];
  try {
    all = await allAccounts();
  } catch (e) {
    clear(list, h("p", { class: "notice error", role: "alert" }, `Could not load the accounts: ${errorText(e)}`));
    return;
  }
  if (!ctx.live()) return;
  const me = principal()?.accountId;
  const row = (a: Account) => {
    const cell = h("td");
    const state = h("td", null, a.disabled ? "disabled" : "active");
    const set = async (disabled: boolean) => {
      try {
        const r = await api.accounts.updateAccount({ accountId: a.id, disabled });
        clear(status, h("p", { class: "notice ok" }, `${r.account?.displayName ?? a.displayName} is now ${disabled ? "disabled: their sessions end and they cannot sign in" : "enabled"}.`));
        await drawAccounts(ctx, list, status);
      } catch (e) {
        clear(cell, h("span", { class: "notice error", role: "alert" }, errorText(e)));
      }
    };
    const toggle = () => {
      if (a.id === me) return clear(cell, h("span", { class: "meta" }, "you"));
      if (a.disabled) return clear(cell, h("button", { type: "button", class: "secondary", onclick: () => void set(false) }, `Enable ${a.displayName}`));
      const ask = h("button", { type: "button", class: "secondary" }, `Disable ${a.displayName}`);
      ask.addEventListener("click", () => {
        clear(
          cell,
          h("span", null, "Disable and sign out? "),
          h("button", { type: "button", onclick: () => void set(true) }, "Yes, disable"),
          " ",
          h("button", { type: "button", class: "secondary", onclick: () => toggle() }, "Cancel"),
        );
        (cell.querySelector("button") as HTMLButtonElement | null)?.focus();
      });
      clear(cell, ask);
    };
    toggle();
    return h("tr", { "data-account": a.id }, h("th", { scope: "row" }, a.displayName), h("td", null, a.email), h("td", null, roleText(a.role)), state, h("td", null, fmtTime(a.createTime)), cell);
  };
  clear(
    list,
    h(
      "table",
      { id: "accounts" },
      h("caption", null, `${all.length} accounts`),
      h("thead", null, h("tr", null, ["Name", "Email", "Role", "Status", "Created", "Change"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, all.map(row)),
    ),
  );
}

function createForm(ctx: PageContext, list: HTMLElement, status: HTMLElement): HTMLElement {
  const email = h("input", { id: "new-email", type: "email", required: true, autocomplete: "off" });
  const name = h("input", { id: "new-name", type: "text", required: true, maxlength: "200", autocomplete: "off" });
  const role = h("select", { id: "new-role" }, h("option", { value: String(Role.CLINICIAN) }, "Clinician"), h("option", { value: String(Role.ADMIN) }, "Administrator"));
  const password = h("input", { id: "new-password", type: "password", required: true, minlength: "12", autocomplete: "new-password", "aria-describedby": "new-password-hint" });
  const error = h("div", { role: "alert" });
  const submit = h("button", { type: "submit" }, "Create account");
  const fields: Record<string, HTMLElement> = { email, display_name: name, password, role };
  return h(
    "form",
    {
      class: "create",
      "aria-labelledby": "h-create",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        clear(error);
        for (const f of Object.values(fields)) f.removeAttribute("aria-invalid");
        submit.disabled = true;
        try {
          const r = await api.accounts.createAccount({ email: email.value, displayName: name.value, role: Number(role.value) as Role, password: password.value });
          clear(status, h("p", { class: "notice ok" }, `Created ${r.account?.displayName} (${roleText(r.account?.role ?? Role.UNSPECIFIED)}). Give them the password by another channel.`));
          email.value = name.value = password.value = "";
          await drawAccounts(ctx, list, status);
        } catch (err) {
          const v = violations(err);
          for (const x of v) fields[x.field]?.setAttribute("aria-invalid", "true");
          clear(error, h("div", { class: "notice error" }, h("p", null, "Not created: ", errorText(err)), v.length ? h("ul", null, v.map((x) => h("li", null, `${x.field}: ${x.description}`))) : null));
        } finally {
          submit.disabled = false;
        }
      },
    },
    h("h2", { id: "h-create" }, "Create an account"),
    h(
      "div",
      { class: "row" },
      h("div", { class: "field" }, h("label", { for: "new-email" }, "Email"), email),
      h("div", { class: "field" }, h("label", { for: "new-name" }, "Name"), name),
      h("div", { class: "field" }, h("label", { for: "new-role" }, "Role"), role),
      h("div", { class: "field" }, h("label", { for: "new-password" }, "Password"), password, h("span", { class: "hint", id: "new-password-hint" }, "At least 12 characters")),
    ),
    error,
    h("div", { class: "actions" }, submit),
  );
}

// ---- Care teams

async function renderCareTeams(ctx: PageContext) {
  ctx.title("Care teams");
  const pid = h("input", { id: "ct-patient", type: "text", required: true, autocomplete: "off", spellcheck: "false", "aria-describedby": "ct-patient-hint", class: "id" });
  const body = h("div", { id: "care-team" });
  clear(
    ctx.main,
    h("h1", null, "Care teams"),
    h(
      "p",
      { class: "notice" },
      "A clinician sees a patient only while on the patient's care team. An administrator cannot list or open patients, so this page works from the patient's id: the clinician finds it on the patient's page, or with ",
      h("code", null, "hepctl patient list"),
      ".",
    ),
    h(
      "form",
      {
        class: "row",
        role: "search",
        "aria-label": "Find a care team",
        onsubmit: (e: Event) => {
          e.preventDefault();
          void drawTeam(ctx, body, pid.value.trim());
        },
      },
      h("div", { class: "field" }, h("label", { for: "ct-patient" }, "Patient id"), pid, h("span", { class: "hint", id: "ct-patient-hint" }, "The 36-character id shown on the patient's page")),
      h("button", { type: "submit" }, "Show care team"),
    ),
    body,
  );
  focusHeading(ctx.main);
}

async function drawTeam(ctx: PageContext, el: HTMLElement, patientId: string, message?: HTMLElement) {
  loading(el, "the care team");
  let members: CareTeamMember[];
  let clinicians: Account[];
  try {
    [members, clinicians] = await Promise.all([
      api.patients.listCareTeamMembers({ patientId }).then((r) => r.members),
      allAccounts().then((a) => a.filter((x) => x.role === Role.CLINICIAN && !x.disabled)),
    ]);
  } catch (e) {
    if (!ctx.live()) return;
    clear(el, h("p", { class: "notice error", role: "alert" }, isCode(e, Code.NotFound) || isCode(e, Code.InvalidArgument) ? "No patient has this id." : `Could not load the care team: ${errorText(e)}`));
    return;
  }
  if (!ctx.live()) return;
  const on = new Set(members.map((m) => m.clinicianId));
  const status = h("div", { role: "status", "aria-live": "polite" }, message ?? null);
  const error = h("div", { role: "alert" });
  const row = (m: CareTeamMember) => {
    const cell = h("td");
    const ask = h("button", { type: "button", class: "secondary" }, `Remove ${m.clinicianDisplayName}`);
    ask.addEventListener("click", () => {
      clear(
        cell,
        h("span", null, "Remove their access to this patient? "),
        h("button", {
          type: "button",
          onclick: async () => {
            try {
              await api.patients.removeCareTeamMember({ patientId, clinicianId: m.clinicianId });
              await drawTeam(ctx, el, patientId, h("p", { class: "notice ok" }, `Removed ${m.clinicianDisplayName} from the care team.`));
            } catch (e) {
              clear(cell, h("span", { class: "notice error", role: "alert" }, errorText(e)));
            }
          },
        }, "Yes, remove"),
        " ",
        h("button", { type: "button", class: "secondary", onclick: () => clear(cell, ask) }, "Cancel"),
      );
      (cell.querySelector("button") as HTMLButtonElement | null)?.focus();
    });
    cell.appendChild(ask);
    return h("tr", { "data-clinician": m.clinicianId }, h("th", { scope: "row" }, m.clinicianDisplayName), h("td", null, fmtTime(m.addTime)), cell);
  };
  const candidates = clinicians.filter((c) => !on.has(c.id));
  const pick = h("select", { id: "ct-add" }, candidates.map((c) => h("option", { value: c.id }, `${c.displayName} (${c.email})`)));
  const addBtn = h("button", { type: "submit", disabled: candidates.length === 0 }, "Add to the care team");
  clear(
    el,
    status,
    members.length
      ? h(
          "table",
          { id: "members" },
          h("caption", null, `${members.length} ${members.length === 1 ? "clinician" : "clinicians"} on this patient's care team`),
          h("thead", null, h("tr", null, ["Clinician", "Added", "Change"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", null, members.map(row)),
        )
      : h("p", null, "Nobody is on this patient's care team: no clinician can see the patient."),
    h(
      "form",
      {
        class: "row",
        onsubmit: async (e: Event) => {
          e.preventDefault();
          clear(error);
          const c = candidates.find((x) => x.id === pick.value);
          if (!c) return;
          addBtn.disabled = true;
          try {
            await api.patients.addCareTeamMember({ patientId, clinicianId: c.id });
            await drawTeam(ctx, el, patientId, h("p", { class: "notice ok" }, `Added ${c.displayName} to the care team.`));
          } catch (err) {
            clear(error, h("p", { class: "notice error" }, errorText(err)));
            addBtn.disabled = false;
          }
        },
      },
      h("div", { class: "field" }, h("label", { for: "ct-add" }, "Clinician to add"), pick),
      addBtn,
    ),
    error,
  );
}

// ---- Audit

function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

async function renderAudit(ctx: PageContext) {
  ctx.title("Audit trail");
  const now = Date.now();
  const from = h("input", { id: "audit-from", type: "datetime-local", required: true, value: localInput(new Date(now - 86_400_000)) });
  const to = h("input", { id: "audit-to", type: "datetime-local", required: true, value: localInput(new Date(now + 60_000)) });
  const patient = h("input", { id: "audit-patient", type: "text", autocomplete: "off", spellcheck: "false", class: "id" });
  const size = h("select", { id: "audit-size" }, [25, 50, 100, 500].map((n) => h("option", { value: String(n), selected: n === 50 }, String(n))));
  const body = h("div", { id: "audit" });
  let names = new Map<string, string>();
  // tokens[i] is the page token of page i+1 (page 1's is "").
  let tokens: string[] = [""];
  let pageNo = 0;

  const load = async () => {
    loading(body, "the audit trail");
    const start = new Date(from.value);
    const end = new Date(to.value);
    try {
      if (names.size === 0) names = new Map((await allAccounts()).map((a) => [a.id, a.displayName]));
      const r = await api.audit.listAuditEvents({
        startTime: timestampFromDate(start),
        endTime: timestampFromDate(end),
        patientId: patient.value.trim(),
        pageSize: Number(size.value),
        pageToken: tokens[pageNo],
      });
      if (!ctx.live()) return;
      tokens = tokens.slice(0, pageNo + 1);
      if (r.nextPageToken) tokens.push(r.nextPageToken);
      drawEvents(body, r.events, names, pageNo, !!r.nextPageToken, (d) => {
        pageNo += d;
        void load();
      });
    } catch (e) {
      if (!ctx.live()) return;
      const v = violations(e);
      clear(body, h("div", { class: "notice error", role: "alert" }, h("p", null, `Could not load the audit trail: ${errorText(e)}`), v.length ? h("ul", null, v.map((x) => h("li", null, `${x.field}: ${x.description}`))) : null));
    }
  };

  clear(
    ctx.main,
    h("h1", null, "Audit trail"),
    h("p", { class: "meta" }, "Every read or write of patient data, every sign-in and every refused call, oldest first. Ids are shortened to their first 8 characters (the whole id is in each one's tooltip). Check the chain's integrity with ", h("code", null, "hepd audit verify"), "."),
    h(
      "form",
      {
        class: "filters",
        role: "search",
        "aria-label": "Filter the audit trail",
        onsubmit: (e: Event) => {
          e.preventDefault();
          tokens = [""];
          pageNo = 0;
          void load();
        },
      },
      h("div", { class: "field" }, h("label", { for: "audit-from" }, "From"), from),
      h("div", { class: "field" }, h("label", { for: "audit-to" }, "To (not included)"), to),
      h("div", { class: "field" }, h("label", { for: "audit-patient" }, "Patient id (optional)"), patient),
      h("div", { class: "field" }, h("label", { for: "audit-size" }, "Per page"), size),
      h("button", { type: "submit" }, "Show events"),
    ),
    body,
  );
  focusHeading(ctx.main);
  await load();
}

const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

// shortId shows an id by its first 8 characters; the whole id is the
// element's title and data-id (a table of full UUIDs is unreadable).
function shortId(id: string): HTMLElement | string {
  if (!id) return "—";
  return h("span", { class: "id", title: id, "data-id": id }, id.replace(uuid, (m) => m.slice(0, 8) + "…"));
}

function drawEvents(el: HTMLElement, events: AuditEvent[], names: Map<string, string>, pageNo: number, more: boolean, go: (d: number) => void) {
  const actor = (e: AuditEvent) => (e.actorId ? (names.get(e.actorId) ?? (e.actorRole === Role.PATIENT ? "patient's device" : e.actorId)) : "unknown");
  const nav = h(
    "nav",
    { class: "pager", "aria-label": "Audit pages" },
    h("button", { type: "button", class: "secondary", disabled: pageNo === 0, onclick: () => go(-1) }, "Previous page"),
    h("span", { class: "meta", id: uid("pg") }, `Page ${pageNo + 1}${more ? "" : " (last)"}`),
    h("button", { type: "button", class: "secondary", disabled: !more, onclick: () => go(1) }, "Next page"),
  );
  clear(
    el,
    events.length
      ? h(
          "table",
          { id: "audit-events", class: "compact" },
          h("caption", null, `${events.length} events on this page`),
          h("thead", null, h("tr", null, ["Time", "Action", "Outcome", "Actor", "Role", "Patient", "Resource", "Chain", "Request"].map((c) => h("th", { scope: "col" }, c)))),
          h(
            "tbody",
            null,
            events.map((e) =>
              h(
                "tr",
                { "data-action": e.action, class: e.outcome === "OK" ? "" : "refused" },
                h("td", { class: "nowrap" }, fmtTime(e.time)),
                h("th", { scope: "row" }, e.action),
                h("td", null, e.outcome),
                h("td", null, actor(e)),
                h("td", null, e.actorRole ? roleText(e.actorRole) : "—"),
                h("td", { class: "patient" }, shortId(e.patientId)),
                h("td", null, shortId(e.resource)),
                h("td", { class: "nowrap" }, `${e.chain} #${e.sequence}`),
                h("td", null, shortId(e.requestId)),
              ),
            ),
          ),
        )
      : h("p", null, "No events in this range."),
    nav,
  );
}
