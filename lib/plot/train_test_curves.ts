/**
 * A metric per epoch for the training and the test set, ours (solid) and a reference run's
 * (PyTorch's, dashed and wide) on one axis: the classifier's loss and accuracy curves.
 */
import { axis, COLORS, makeFigure, type Figure, type PlotlyObject } from "./figure";

export interface TrainTestSeries {
  train: readonly number[];
  test: readonly number[];
}

export interface TrainTestOptions {
  title?: string;
  /** The y axis' title ("loss", "accuracy"). */
  metric?: string;
  /** A log y axis (for losses). */
  log?: boolean;
  oursLabel?: string;
  reference?: TrainTestSeries;
  referenceLabel?: string;
}

export function trainTestCurves(name: string, ours: TrainTestSeries, options: TrainTestOptions = {}): Figure {
  const epochs = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  const oursLabel = options.oursLabel ?? "ours";
  const referenceLabel = options.referenceLabel ?? "reference";
  const traces: PlotlyObject[] = [];
  const colors = { train: COLORS.ours, test: COLORS.series[1] };
  for (const split of ["train", "test"] as const) {
    if (options.reference) {
      traces.push({
        type: "scatter",
        mode: "lines",
        name: `${split}, ${referenceLabel}`,
        x: epochs(options.reference[split].length),
        y: options.reference[split],
        line: { color: colors[split], width: 6, dash: "dot" },
        opacity: 0.35,
      });
    }
    traces.push({ type: "scatter", mode: "lines", name: `${split}, ${oursLabel}`, x: epochs(ours[split].length), y: ours[split], line: { color: colors[split], width: 1.8 } });
  }
  return makeFigure(name, traces, {
    title: { text: options.title ?? `${options.metric ?? "metric"} per epoch` },
    xaxis: axis("epoch"),
    yaxis: axis(options.metric ?? "value", options.log ? { type: "log", exponentformat: "power" } : {}),
    legend: { x: 0.98, xanchor: "right", y: 0.98 },
  });
}
