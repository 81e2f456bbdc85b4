// What an administrator sees: the dashboard is for clinicians (an admin
// has no clinical access by role), so the page says so and lists the
// clinic's accounts, which an admin may read.
import { api } from "./api";
import { clear, enumText, fmtTime, h, loading } from "./dom";
import { Role } from "./gen/hep/v1/common_pb";
import type { Account } from "./gen/hep/v1/account_pb";
import type { PageContext } from "./main";

export async function renderAdmin(ctx: PageContext) {
  ctx.title("Accounts");
  const list = h("div");
  clear(
    ctx.main,
    h("h1", null, "Accounts"),
    h(
      "p",
      { class: "notice" },
      "This dashboard is for clinicians: an administrator's account has no access to patients. Manage accounts with hepctl (",
      h("code", null, "hepctl account create"),
      ", ",
      h("code", null, "hepctl account disable"),
      ").",
    ),
    list,
  );
  loading(list, "accounts");
  const all: Account[] = [];
  let pageToken = "";
  do {
    const r = await api.accounts.listAccounts({ pageSize: 200, pageToken });
    all.push(...r.accounts);
    pageToken = r.nextPageToken;
  } while (pageToken && all.length < 2000);
  if (!ctx.live()) return;
  clear(
    list,
    h(
      "table",
      null,
      h("caption", null, `${all.length} accounts`),
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Email"), h("th", { scope: "col" }, "Role"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Created"))),
      h(
        "tbody",
        null,
        all.map((a) =>
          h("tr", null, h("td", null, a.displayName), h("td", null, a.email), h("td", null, enumText(Role, a.role).replace("role ", "")), h("td", null, a.disabled ? "disabled" : "active"), h("td", null, fmtTime(a.createTime))),
        ),
      ),
    ),
  );
}
