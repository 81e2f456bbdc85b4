// Shared steps of the specs: signing in through the page, and the axe
// check every page passes.
import AxeBuilder from "@axe-core/playwright";
import { expect, test as base, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { seed } from "./seed";

export async function signInAs(page: Page, who: { email: string; password: string }, hash = "#/") {
  await page.goto(seed().base + "/" + hash);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
}

// expectAccessible fails on any serious or critical axe violation.
export async function expectAccessible(page: Page, name: string) {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`), `axe on ${name}`).toEqual([]);
}

// shot saves a screenshot under artifacts/ (ignored by git). With
// HEP_DOC_SHOTS=1 (npm run shots), a shot given a docs name is also
// written to docs/images/dashboard/ at the 1280-px viewport, the page's
// top `height` CSS pixels at most (or just the `section` element), for
// docs/dashboard.md.
export async function shot(page: Page, name: string, docs?: { name: string; height?: number; section?: string }) {
  mkdirSync("artifacts", { recursive: true });
  await page.screenshot({ path: `artifacts/${name}.png`, fullPage: true });
  if (docs && process.env.HEP_DOC_SHOTS === "1") {
    const dir = fileURLToPath(new URL("../../../docs/images/dashboard/", import.meta.url));
    mkdirSync(dir, { recursive: true });
    // No focus ring or hover left over from the steps before.
    await page.mouse.move(0, 0);
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    if (docs.section) {
      await page.locator(docs.section).screenshot({ path: `${dir}${docs.name}.png`, animations: "disabled", caret: "hide" });
      return;
    }
    const full = await page.evaluate(() => document.documentElement.scrollHeight);
    const width = page.viewportSize()?.width ?? 1280;
    await page.screenshot({ path: `${dir}${docs.name}.png`, fullPage: true, animations: "disabled", caret: "hide", clip: { x: 0, y: 0, width, height: Math.min(full, docs.height ?? 1100) } });
  }
}

// test is Playwright's, with every page watched: a script error or a
// Content-Security-Policy violation fails the test (a refused sign-in's
// HTTP 401 is logged by Chromium as a failed load, and is not an error).
export function watchPage(page: Page, problems: string[]) {
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
}

export const test = base.extend<{ watch: void }>({
  watch: [
    async ({ page }, use) => {
      const problems: string[] = [];
      watchPage(page, problems);
      await use();
      expect(problems, "script errors or CSP violations").toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };
