/**
 * Every figure builder once, on small made-up data, written as one standalone HTML page: how to
 * use lib/plot outside a notebook, from Node or Deno alike. The browser test opens the result.
 *
 *   npx tsx kernel/figures_demo.ts [out.html]
 *   npx deno run -A kernel/figures_demo.ts [out.html]
 */
import { confusionMatrix, fittedPlane, imageGrid, jacobianScatter, lossCurve, parityScatter, sideBySideHeatmaps, trainTestCurves, trajectories, writeFigureHtml, type Figure } from "../lib/plot/mod";

export const DEMO_FIGURES = ["demo-heatmaps", "demo-jacobian", "demo-loss", "demo-trajectories", "demo-plane", "demo-parity", "demo-train-test", "demo-confusion", "demo-images"] as const;

export function demoFigures(): Figure[] {
  const w = [
    [0.5, -1, 2],
    [1.5, 0, -0.5],
  ];
  const steps = Array.from({ length: 60 }, (_, i) => i);
  const decay = (i: number) => Math.exp(-i / 8);
  const xs = Array.from({ length: 40 }, (_, i) => [((i * 37) % 40) / 40, ((i * 17) % 40) / 40]);
  return [
    sideBySideHeatmaps("demo-heatmaps", "Two matrices", { title: "A", values: w, rows: "row", columns: "column" }, { title: "B", values: w.map((r) => r.map((v) => -v)), rows: "row", columns: "column" }),
    jacobianScatter("demo-jacobian", "Analytic vs numerical", [{ label: "x", numerical: [1, -2, 0.5], analytic: [1, -2, 0.5] }, { label: "doubled", numerical: [1, -2, 0.5], analytic: [2, -4, 1] }]),
    lossCurve("demo-loss", steps.map((i) => 10 * decay(i) + 1e-4), { reference: steps.map((i) => 10 * decay(i) * 1.01 + 1e-4), referenceLabel: "reference" }),
    trajectories("demo-trajectories", steps.map((i) => [2 - decay(i), 3 - 2 * decay(i), 4 - 3 * decay(i)]), { names: ["w1", "w2", "b"], targets: [2, 3, 4] }),
    fittedPlane("demo-plane", { x: xs, y: xs.map(([a, b]) => 2 * a! + 3 * b! + 4) }, { weight: [2, 3], bias: 4 }, { range: [0, 1] }),
    parityScatter("demo-parity", [{ label: "runtime", x: [4, 5.5, 7, 8.5], y: [4, 5.5, 7, 8.5], marker: { symbol: "circle-open", size: 12 } }, { label: "off by 1", x: [4, 5.5, 7, 8.5], y: [5, 6.5, 8, 9.5] }], {
      title: "Runtime vs reference",
      x: { axis: "reference", short: "reference" },
      y: { axis: "runtime", short: "runtime" },
    }),
    trainTestCurves("demo-train-test", { train: steps.map((i) => 1 - decay(i)), test: steps.map((i) => 0.9 - decay(i)) }, { metric: "accuracy", reference: { train: steps.map((i) => 1 - decay(i)), test: steps.map((i) => 0.9 - decay(i)) } }),
    confusionMatrix("demo-confusion", [[5, 1, 0], [0, 6, 1], [1, 0, 7]], { labels: ["a", "b", "c"] }),
    imageGrid("demo-images", [0, 1, 2].map((k) => ({ pixels: [[k, 1, 0], [1, 2, 1], [0, 1, k]], title: `image ${k}` })), { columns: 3 }),
  ];
}

const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
const isMain = (import.meta as ImportMeta & { main?: boolean }).main ?? (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href);
if (isMain) {
  const path = await writeFigureHtml(args[0] ?? "out/plots/demo.html", ...demoFigures());
  console.log(`wrote ${path}`);
}
