// Debian's Chromium driven by playwright-core (never a downloaded browser) against the built app
// served on 127.0.0.1; shared by the browser tests and bench/web.ts.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { buildSite } from "../../src/cli/web/site.js";
import { serveStatic, type StaticServer } from "../../src/cli/web/server.js";

export const CHROMIUM = process.env.MASKBIT_CHROMIUM ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

export interface AppSession {
  readonly server: StaticServer;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and uncaught page errors seen so far. */
  readonly errors: string[];
  /** Opens (or reopens) the app at `query` and waits for its models. */
  open(query?: string): Promise<void>;
  close(): Promise<void>;
}

export async function startApp(): Promise<AppSession> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium)`);
  const root = mkdtempSync(join(tmpdir(), "maskbit-web-"));
  await buildSite(join(root, "site"));
  const server = await serveStatic(join(root, "site"));
  const context = await chromium.launchPersistentContext(join(root, "profile"), {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 1000 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
  page.on("crash", () => errors.push("page crashed"));
  return {
    server, context, page, errors,
    async open(query = "") {
      await page.goto(`${server.url}${query}`);
      await page.evaluate(() => window.maskbitApp.ready());
    },
    async close() {
      await context.close().catch(() => undefined);
      await server.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
