/**
 * lib/plot outside Jupyter: every figure builder's output, written as a standalone HTML page from
 * Node and from Deno, draws in headless Chromium (Debian's, via playwright-core) with the network
 * cut off — plotly.js is inlined, no CDN. Screenshots go to test/out/screenshots/.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ChromiumMissingError, assertChromium, checkPage, launchChromium, pageProblems } from "../kernel/chromium";
import { DEMO_FIGURES, demoFigures } from "../kernel/figures_demo";
import { ROOT } from "../kernel/install";
import { ensureSystemDeps } from "../kernel/system_deps";
import { figureHtml, scriptJson, writeFigureHtml } from "../lib/plot/html";
import { makeFigure } from "../lib/plot/figure";

const OUT = join(ROOT, "test", "out", "browser");
const SCREENSHOTS = join(ROOT, "test", "out", "screenshots");
let browser: Awaited<ReturnType<typeof launchChromium>>;

before(async () => {
  ensureSystemDeps({ jupyter: false, chromium: true });
  browser = await launchChromium();
});
after(async () => browser?.close());

describe("figures in a standalone page, offline", () => {
  it("every builder draws, from Node", async () => {
    const path = await writeFigureHtml(join(OUT, "figures_node.html"), ...demoFigures());
    const check = await checkPage(browser, path, { screenshot: join(SCREENSHOTS, "figures_node.png") });
    assert.deepEqual(pageProblems(check, DEMO_FIGURES), []);
    assert.deepEqual(check.blockedRequests, [], "the page tried to reach the network");
    assert.equal(check.plots.length, DEMO_FIGURES.length);
  });

  it("every builder draws, from Deno", async () => {
    const path = join(OUT, "figures_deno.html");
    const r = spawnSync("npx", ["deno", "run", "-A", join(ROOT, "kernel", "figures_demo.ts"), path], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(readFileSync(path, "utf8"), /^<!DOCTYPE html>/);
    const check = await checkPage(browser, path, { screenshot: join(SCREENSHOTS, "figures_deno.png") });
    assert.deepEqual(pageProblems(check, DEMO_FIGURES), []);
    assert.deepEqual(check.blockedRequests, []);
  });

  it("a figure whose data holds </script> or U+2028 still draws, and a missing plotly.js is said in the page", async () => {
    const nasty = makeFigure("nasty-text", [{ type: "scatter", x: [1, 2], y: [1, 2], name: "</script><script>throw new Error('escaped')</script>\u2028" }], { title: { text: "</script>" } });
    assert.doesNotMatch(scriptJson(nasty), /<\/script/i);
    const drawn = await checkPage(browser, await writeFigureHtml(join(OUT, "nasty.html"), nasty));
    assert.deepEqual(pageProblems(drawn, ["nasty-text"]), []);
    // A figure's HTML without the bundle (the notebook's first cell not run): the div explains.
    const bare = join(OUT, "no_plotly.html");
    await writeFigureHtml(bare, nasty);
    const page = readFileSync(bare, "utf8").replace(/<script type="text\/javascript">[\s\S]*?<\/script>\n<style>/, "<style>");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(bare, page);
    const missing = await checkPage(browser, bare);
    assert.match(missing.plots[0]!.problem ?? "", /plotly\.js is not loaded here; run the cell that embeds it/);
    assert.match(figureHtml(nasty), /data-figure="nasty-text"/);
  });

  it("a missing Chromium is a clear message with the command that installs it", () => {
    const saved = process.env.GRADLAB_CHROMIUM;
    process.env.GRADLAB_CHROMIUM = "/nonexistent/chromium";
    try {
      assert.throws(() => assertChromium(), (e: Error) => e instanceof ChromiumMissingError && /Chromium not found at \/nonexistent\/chromium/.test(e.message) && /apt-get install -y --no-install-recommends chromium/.test(e.message));
    } finally {
      if (saved === undefined) delete process.env.GRADLAB_CHROMIUM;
      else process.env.GRADLAB_CHROMIUM = saved;
    }
  });
});
