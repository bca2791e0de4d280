/** Parameters step by step, each with a dotted line at the value it should reach. */
import { axis, COLORS, makeFigure, type Figure, type PlotlyObject } from "./figure";

export interface TrajectoryOptions {
  title?: string;
  /** One name per column of the trajectory ("w1", "w2", "b"). */
  names: readonly string[];
  /** Where each parameter should end up (the rule's 2, 3, 4); omitted: no target lines. */
  targets?: readonly number[];
}

/** trajectory[step][k] is parameter k after that step. */
export function trajectories(name: string, trajectory: readonly (readonly number[])[], options: TrajectoryOptions): Figure {
  const width = trajectory[0]?.length ?? 0;
  if (options.names.length !== width) throw new RangeError(`trajectories: ${options.names.length} names for ${width} parameters`);
  const steps = trajectory.map((_, i) => i + 1);
  const traces: PlotlyObject[] = [];
  options.names.forEach((label, k) => {
    const color = COLORS.series[k % COLORS.series.length];
    traces.push({ type: "scatter", mode: "lines", name: label, x: steps, y: trajectory.map((row) => row[k]), line: { color, width: 2 } });
    const target = options.targets?.[k];
    if (target !== undefined) {
      traces.push({
        type: "scatter",
        mode: "lines",
        name: `${label} → ${target}`,
        x: [1, Math.max(steps.length, 2)],
        y: [target, target],
        line: { color, dash: "dot", width: 1 },
        showlegend: false,
        hovertemplate: `target ${label} = ${target}<extra></extra>`,
      });
    }
  });
  return makeFigure(name, traces, {
    title: { text: options.title ?? "Parameters per step" },
    xaxis: axis("step"),
    yaxis: axis("value"),
    legend: { x: 0.98, xanchor: "right", y: 0.05, yanchor: "bottom" },
    annotations: (options.targets ?? []).map((t, k) => ({
      x: 1,
      xref: "paper",
      xanchor: "left",
      y: t,
      text: `${options.names[k]} → ${t}`,
      showarrow: false,
      font: { color: COLORS.target, size: 11 },
    })),
    margin: { l: 60, r: 70, t: 60, b: 50 },
  });
}
