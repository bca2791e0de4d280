/** Loss per step on a log scale, ours against a reference run (PyTorch's) on the same inputs. */
import { axis, COLORS, makeFigure, type Figure, type PlotlyObject } from "./figure";

export interface LossCurveOptions {
  title?: string;
  oursLabel?: string;
  reference?: readonly number[];
  referenceLabel?: string;
}

export function lossCurve(name: string, losses: readonly number[], options: LossCurveOptions = {}): Figure {
  const steps = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  // A loss of exactly 0 has no place on a log axis; Plotly would drop it silently.
  const positive = (xs: readonly number[]) => xs.map((v) => (v > 0 ? v : null));
  const traces: PlotlyObject[] = [];
  if (options.reference) {
    traces.push({
      type: "scatter",
      mode: "lines",
      name: options.referenceLabel ?? "reference",
      x: steps(options.reference.length),
      y: positive(options.reference),
      line: { color: COLORS.reference, width: 5 },
      opacity: 0.45,
    });
  }
  traces.push({
    type: "scatter",
    mode: "lines",
    name: options.oursLabel ?? "ours",
    x: steps(losses.length),
    y: positive(losses),
    line: { color: COLORS.ours, width: 1.5 },
  });
  return makeFigure(name, traces, {
    title: { text: options.title ?? "Loss per step" },
    xaxis: axis("step"),
    yaxis: axis("loss (log scale)", { type: "log", exponentformat: "power" }),
    legend: { x: 0.98, xanchor: "right", y: 0.98 },
  });
}
