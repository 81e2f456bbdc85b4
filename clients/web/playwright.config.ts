// Playwright runs the specs in tests/ against the real hepd that
// tests/global-setup.ts builds, starts and seeds, in Debian's Chromium
// (Playwright's own browser download is not used).
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "tests",
  globalSetup: "./tests/global-setup.ts",
  fullyParallel: true,
  workers: 2,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 7_000 },
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    browserName: "chromium",
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox"] },
    timezoneId: "UTC",
    locale: "en-GB",
    trace: "off",
    screenshot: "off",
    video: "off",
  },
});
