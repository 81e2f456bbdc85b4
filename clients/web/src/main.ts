// The dashboard's shell: sign-in, the header, the routes (in the URL's
// fragment: #/ triage, #/patients/ID, #/patients/ID/plan for a
// clinician; #/, #/care-teams, #/audit for an administrator) and the dialog
// that asks to sign in again when the session ends, without leaving the
// page.
import { api, errorText, onSessionEnded, principal, refresh, signIn, signOut } from "./api";
import { h, clear } from "./dom";
import { Role } from "./gen/hep/v1/common_pb";
import { resetCatalog } from "./names";
import { renderTriage } from "./triage";
import { renderPatient } from "./patient";
import { renderPlanEditor } from "./plan";
import { renderAdmin } from "./admin";

const app = document.getElementById("app")!;
let lastEmail = "";
// shownAccount is whose data the page shows (the session may already be
// gone when the re-sign-in dialog opens).
let shownAccount: string | undefined;

// A page is rendered into main; live() turns false once the user has
// navigated elsewhere, so a slow answer never paints over a newer page.
export interface PageContext {
  main: HTMLElement;
  live: () => boolean;
  title: (t: string) => void;
}

let generation = 0;

function shell(): HTMLElement {
  const p = principal();
  const main = h("main", { id: "main", tabindex: "-1" });
  const who = p ? (p.role === Role.ADMIN ? "Administrator" : "Clinician") : "";
  const skip = h("a", { class: "skip", href: "#main", onclick: (e: Event) => { e.preventDefault(); main.focus(); } }, "Skip to content");
  clear(
    app,
    skip,
    h(
      "header",
      { class: "top" },
      h("a", { class: "brand", href: "#/" }, "hep"),
      h("nav", { "aria-label": "Main" }, h("ul", null, navLinks(p?.role === Role.ADMIN))),
      h("span", { class: "spacer" }),
      h("span", { class: "who" }, `Signed in as ${who}`),
      h("button", { type: "button", onclick: () => void doSignOut() }, "Sign out"),
    ),
    main,
  );
  return main;
}

function navLinks(admin: boolean): HTMLElement[] {
  const here = location.hash.replace(/^#/, "") || "/";
  const links: [string, string][] = admin ? [["/", "Accounts"], ["/care-teams", "Care teams"], ["/audit", "Audit trail"]] : [["/", "Triage"]];
  return links.map(([path, label]) => h("li", null, h("a", { href: "#" + path, "aria-current": here === path ? "page" : undefined }, label)));
}

async function doSignOut() {
  await signOut();
  resetCatalog();
  location.hash = "#/";
  showSignIn("You have signed out.");
}

function showSignIn(message?: string) {
  generation++;
  document.title = "Sign in · hep";
  const email = h("input", { id: "email", type: "email", name: "email", autocomplete: "username", required: true, value: lastEmail });
  const password = h("input", { id: "password", type: "password", name: "password", autocomplete: "current-password", required: true });
  const status = h("div", { role: "status", "aria-live": "polite" }, message ? h("p", { class: "notice" }, message) : null);
  const error = h("div", { role: "alert" });
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        submit.disabled = true;
        clear(error);
        try {
          lastEmail = email.value;
          await signIn(email.value, password.value);
          void route();
        } catch (err) {
          clear(error, h("p", { class: "notice error" }, signInError(err)));
          submit.disabled = false;
          password.focus();
        }
      },
    },
    h("div", { class: "field" }, h("label", { for: "email" }, "Email"), email),
    h("div", { class: "field" }, h("label", { for: "password" }, "Password"), password),
    h("div", { class: "actions" }, submit),
  );
  clear(app, h("main", { id: "main", class: "signin" }, h("h1", null, "Sign in to hep"), status, error, form));
  (lastEmail ? password : email).focus();
}

function signInError(err: unknown): string {
  const t = errorText(err);
  if (/credential|password|unauthenticated/i.test(t) || /invalid/i.test(t)) return "The email or password is not right.";
  return t;
}

// reauthenticate shows a modal sign-in over the page and resolves once the
// user has signed in again; the page underneath keeps its content, and the
// call that found the session over is sent again.
let pending: Promise<void> | undefined;
function reauthenticate(why: string): Promise<void> {
  pending ??= new Promise<void>((resolve) => {
    const before = shownAccount;
    const email = h("input", { id: "reauth-email", type: "email", autocomplete: "username", required: true, value: lastEmail });
    const password = h("input", { id: "reauth-password", type: "password", autocomplete: "current-password", required: true });
    const error = h("div", { role: "alert" });
    const submit = h("button", { type: "submit" }, "Sign in again");
    const dialog = h(
      "dialog",
      { "aria-labelledby": "reauth-title", "aria-describedby": "reauth-why" },
      h("h2", { id: "reauth-title" }, "Sign in again"),
      h("p", { id: "reauth-why" }, `${why} Sign in again to continue; this page keeps what it shows.`),
      error,
      h(
        "form",
        {
          onsubmit: async (e: Event) => {
            e.preventDefault();
            submit.disabled = true;
            try {
              lastEmail = email.value;
              const p = await signIn(email.value, password.value);
              dialog.close();
              dialog.remove();
              pending = undefined;
              resolve();
              // Someone else signed in: what the page shows is not theirs.
              if (p?.accountId !== before) {
                resetCatalog();
                void route();
              }
            } catch (err) {
              clear(error, h("p", { class: "notice error" }, signInError(err)));
              submit.disabled = false;
            }
          },
        },
        h("div", { class: "field" }, h("label", { for: "reauth-email" }, "Email"), email),
        h("div", { class: "field" }, h("label", { for: "reauth-password" }, "Password"), password),
        h("div", { class: "actions" }, submit, h("button", { type: "button", class: "secondary", onclick: () => location.reload() }, "Leave this page")),
      ),
    );
    // Escape must not dismiss it: the page cannot work without a session.
    dialog.addEventListener("cancel", (e) => e.preventDefault());
    document.body.appendChild(dialog);
    dialog.showModal();
    (lastEmail ? password : email).focus();
  });
  return pending;
}

async function route() {
  const p = principal();
  if (!p) return showSignIn();
  shownAccount = p.accountId;
  const gen = ++generation;
  const main = shell();
  const ctx: PageContext = {
    main,
    live: () => gen === generation,
    title: (t) => {
      if (gen === generation) document.title = `${t} · hep`;
    },
  };
  const hash = location.hash.replace(/^#/, "") || "/";
  const parts = hash.split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (p.role === Role.ADMIN) {
      await renderAdmin(ctx, parts[0] ?? "");
    } else if (p.role !== Role.CLINICIAN) {
      ctx.title("Not for this account");
      clear(main, h("h1", null, "This dashboard is for clinicians"), h("p", null, "Patients use the hep app on their phone."));
    } else if (parts[0] === "patients" && parts[1] && parts[2] === "plan") {
      await renderPlanEditor(ctx, parts[1]);
    } else if (parts[0] === "patients" && parts[1]) {
      await renderPatient(ctx, parts[1]);
    } else {
      await renderTriage(ctx);
    }
  } catch (e) {
    if (ctx.live()) clear(main, h("h1", null, "Something went wrong"), h("p", { class: "notice error", role: "alert" }, errorText(e)));
  }
}

// focusHeading moves focus to a new page's heading, so keyboard and screen
// reader users start at the top of what changed.
export function focusHeading(main: HTMLElement) {
  const h1 = main.querySelector("h1");
  if (h1) {
    h1.setAttribute("tabindex", "-1");
    h1.focus({ preventScroll: false });
  }
}

onSessionEnded(reauthenticate);
window.addEventListener("hashchange", () => void route());

// A cookie from an earlier visit may still hold a live session.
(async () => {
  if (await refresh()) {
    void api; // the clients are created with the module
    await route();
  } else {
    showSignIn();
  }
})();
