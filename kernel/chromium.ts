/**
 * Opens an HTML page (an executed notebook, a standalone figure file) in headless Chromium —
 * Debian's /usr/bin/chromium driven by playwright-core, since `npx playwright install` cannot
 * download browsers here — with the network cut off, waits for every gradlab plot to draw, and
 * takes a screenshot. A plot counts as drawn when Plotly has built its SVG (and, for 3-D
 * scenes, a WebGL canvas) and shows no "WebGL is not supported" notice.
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import { SYSTEM_PACKAGES, aptCommand } from "./system_deps";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  // WebGL (Plotly's 3-D scenes) on the CPU: without a GPU, Chromium gives WebGL only through SwiftShader, on request.
  "--use-angle=swiftshader",
  "--enable-unsafe-swiftshader",
];

export class ChromiumMissingError extends Error {
  override name = "ChromiumMissingError";
}

/** $GRADLAB_CHROMIUM, else Debian's /usr/bin/chromium. */
export function chromiumPath(): string {
  return process.env.GRADLAB_CHROMIUM || "/usr/bin/chromium";
}

export function assertChromium(path = chromiumPath()): void {
  if (existsSync(path)) return;
  throw new ChromiumMissingError(
    `Chromium not found at ${path}: the browser check needs Debian's chromium. Install it with\n  ${aptCommand(["chromium"])}\n` +
      `(or the whole set the notebooks need: ${aptCommand(SYSTEM_PACKAGES)}), or point GRADLAB_CHROMIUM at a Chromium binary.`,
  );
}

export interface PlotState {
  figure: string;
  drawn: boolean;
  /** What is wrong when it did not draw. */
  problem: string | null;
}

export interface PageCheck {
  url: string;
  plots: PlotState[];
  /** Uncaught exceptions in the page. */
  pageErrors: string[];
  /** Requests that tried to leave the machine (blocked). */
  blockedRequests: string[];
  screenshot: string | null;
  ms: number;
}

type Browser = { newPage(options?: object): Promise<Page>; close(): Promise<void> };
type Page = {
  on(event: "pageerror", handler: (error: Error) => void): void;
  route(pattern: string, handler: (route: { request(): { url(): string }; abort(): Promise<void>; continue(): Promise<void> }) => Promise<void>): Promise<void>;
  goto(url: string, options?: object): Promise<unknown>;
  waitForFunction(fn: string, arg?: unknown, options?: object): Promise<unknown>;
  evaluate<T>(fn: string): Promise<T>;
  screenshot(options: object): Promise<unknown>;
  close(): Promise<void>;
};

export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  assertChromium(executablePath);
  const { chromium } = (await import("playwright-core")) as unknown as { chromium: { launch(options: object): Promise<Browser> } };
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

// Runs in the page: each plot's state (a string, so no DOM types are needed here).
const PLOT_STATES = `(() => Array.from(document.querySelectorAll(".gradlab-plot")).map((el) => {
  const figure = el.getAttribute("data-figure") || el.id;
  const text = (el.textContent || "").trim();
  const needsGl = !!(el._fullLayout && typeof el._fullLayout._has === "function" && el._fullLayout._has("gl3d"));
  if (/WebGL is not supported/i.test(text)) return { figure, drawn: false, problem: "WebGL is not supported in this browser" };
  if (!el.querySelector("svg.main-svg")) return { figure, drawn: false, problem: text ? "no Plotly SVG; the div says: " + text.slice(0, 200) : "no Plotly SVG" };
  if (needsGl && !el.querySelector("canvas")) return { figure, drawn: false, problem: "3-D scene without a WebGL canvas" };
  return { figure, drawn: true, problem: null };
}))()`;

/** Opens `htmlPath` offline, waits for its plots (up to timeoutMs), screenshots it to `screenshot`. */
export async function checkPage(browser: Browser, htmlPath: string, options: { screenshot?: string; timeoutMs?: number } = {}): Promise<PageCheck> {
  const start = performance.now();
  const url = pathToFileURL(htmlPath).href;
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const pageErrors: string[] = [];
  const blockedRequests: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(String(error?.stack ?? error)));
  await page.route("**/*", async (route) => {
    const target = route.request().url();
    if (/^(file|data|blob|about):/.test(target)) return route.continue();
    blockedRequests.push(target);
    return route.abort();
  });
  try {
    await page.goto(url, { waitUntil: "load", timeout: options.timeoutMs ?? 60_000 });
    // Wait until every plot has drawn or given up; the final states say which.
    await page
      .waitForFunction(`${PLOT_STATES}.every((p) => p.drawn || p.problem !== "no Plotly SVG")`, undefined, { timeout: options.timeoutMs ?? 60_000, polling: 250 })
      .catch(() => undefined);
    const plots = await page.evaluate<PlotState[]>(PLOT_STATES);
    let screenshot: string | null = null;
    if (options.screenshot) {
      mkdirSync(dirname(options.screenshot), { recursive: true });
      await page.screenshot({ path: options.screenshot, fullPage: true });
      screenshot = options.screenshot;
    }
    return { url, plots, pageErrors, blockedRequests, screenshot, ms: performance.now() - start };
  } finally {
    await page.close();
  }
}

/** One line per problem; empty when every plot drew and the page raised nothing. */
export function pageProblems(check: PageCheck, expectedFigures: readonly string[] = []): string[] {
  const problems: string[] = [];
  for (const p of check.plots) if (!p.drawn) problems.push(`plot ${p.figure} did not draw: ${p.problem}`);
  for (const name of expectedFigures) if (!check.plots.some((p) => p.figure === name)) problems.push(`plot ${name} is missing from the page`);
  for (const e of check.pageErrors) problems.push(`page error: ${e.split("\n")[0]}`);
  if (check.plots.length === 0) problems.push("the page has no gradlab plots");
  return problems;
}
