// Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by playwright-core, with
// a fresh profile and no background traffic (without those flags Chromium's own connections fail here).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.RAFTSTACK_CHROMIUM ?? "/usr/bin/chromium";
/** Screenshots land here (git-ignored). */
export const OUTPUT_DIR = resolve("test-output");

/**
 * The reason to skip the browser tests, or false to run them: CI installs Debian's chromium, a
 * machine without it skips them with this one line instead of failing.
 */
export const SKIP_WITHOUT_CHROMIUM: string | false = existsSync(CHROMIUM)
  ? false
  : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set RAFTSTACK_CHROMIUM)`;

/** Saves a full-page screenshot under OUTPUT_DIR and prints its path. */
export async function screenshot(page: Page, name: string, shows: string): Promise<string> {
  const path = join(OUTPUT_DIR, name);
  await page.screenshot({ path, fullPage: true });
  console.log(`# screenshot ${path}: ${shows}`);
  return path;
}

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  readonly page: Page;
  /** Console errors and uncaught exceptions of the page, in order. */
  readonly errors: string[];
  close(): Promise<void>;
}

export async function openBrowser(): Promise<Browser> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), "raftstack-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1280, height: 1000 },
      timeout: 30_000,
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`console: ${msg.text()}`);
  });
  page.on("pageerror", (err) => errors.push(`page: ${err.message}`));
  return {
    page,
    errors,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
