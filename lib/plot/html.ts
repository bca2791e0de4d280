/**
 * Figures as HTML: a <div> and the script that draws it with window.Plotly (a notebook loads the
 * bundle once: setupNotebook() or the first figure, plot/embed.ts), or a standalone page with the
 * bundle inlined.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { figureTitle, type Figure } from "./figure";
import { plotlyBundle, scriptSafe } from "./plotly_bundle";

let counter = 0;

/** JSON that can sit inside a <script> element. */
export function scriptJson(value: unknown): string {
  return scriptSafe(JSON.stringify(value)).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

/**
 * The figure's <div> and drawing script. It expects window.Plotly; where it is missing (the cell
 * that loads it was not run) the div says so instead of staying blank.
 */
export function figureHtml(figure: Figure): string {
  const id = `gradlab-plot-${figure.name}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
  const height = typeof figure.layout.height === "number" ? figure.layout.height : 420;
  return [
    `<div class="gradlab-plot" id="${id}" data-figure="${escapeHtml(figure.name)}" style="width:100%;min-height:${height}px"></div>`,
    `<script type="text/javascript">`,
    `(function () {`,
    `  var el = document.getElementById(${JSON.stringify(id)});`,
    `  var fig = ${scriptJson({ data: figure.data, layout: figure.layout, config: figure.config ?? {} })};`,
    `  if (!window.Plotly) {`,
    `    el.style.minHeight = "0";`,
    `    el.textContent = ${JSON.stringify(`[${figure.name}: plotly.js is not loaded here; run the cell that embeds it: setupNotebook() or the first figure's]`)};`,
    `    return;`,
    `  }`,
    `  window.Plotly.newPlot(el, fig.data, fig.layout, fig.config);`,
    `})();`,
    `</script>`,
  ].join("\n");
}

/** The <script> that defines window.Plotly, with a visible line saying which version was loaded. */
export async function plotlyLoaderHtml(): Promise<string> {
  const bundle = await plotlyBundle();
  return [
    `<div class="gradlab-plotly-loader" style="color:#777;font-size:90%">plotly.js ${escapeHtml(bundle.version)} embedded (offline, no CDN)</div>`,
    `<script type="text/javascript">${bundle.source}\n</script>`,
  ].join("\n");
}

/** A whole page: plotly.js inlined once, then each figure. Opens from disk without a network. */
export async function standaloneHtml(figures: readonly Figure[], title = figures.map(figureTitle).filter(Boolean).join(" · ") || "gradlab figures"): Promise<string> {
  const bundle = await plotlyBundle();
  return [
    "<!DOCTYPE html>",
    `<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>`,
    `<script type="text/javascript">${bundle.source}\n</script>`,
    `<style>body{font-family:system-ui,sans-serif;margin:24px;max-width:1100px} .gradlab-plot{margin-bottom:32px}</style>`,
    `</head><body>`,
    ...figures.map(figureHtml),
    `</body></html>`,
  ].join("\n");
}

/** Writes standaloneHtml(figures) to path (folders created); returns the path. */
export async function writeFigureHtml(path: string, ...figures: Figure[]): Promise<string> {
  if (figures.length === 0) throw new RangeError("writeFigureHtml: no figures given");
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, await standaloneHtml(figures));
  return path;
}
