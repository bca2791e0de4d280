/**
 * gradcheck's two Jacobians entry against entry: every point on the diagonal means the backward
 * agrees with finite differences; a wrong backward leaves the diagonal (a slope of 2, a mirror
 * image, a cloud).
 */
import { axis, COLORS, makeFigure, type Figure, type PlotlyObject } from "./figure";

export interface JacobianSeries {
  /** "x", "weight", "dW doubled", … */
  label: string;
  numerical: ArrayLike<number>;
  analytic: ArrayLike<number>;
  color?: string;
}

export function jacobianScatter(name: string, title: string, series: readonly JacobianSeries[]): Figure {
  let low = Infinity;
  let high = -Infinity;
  const traces: PlotlyObject[] = series.map((s, index) => {
    if (s.numerical.length !== s.analytic.length) {
      throw new RangeError(`jacobianScatter: series ${JSON.stringify(s.label)} has ${s.numerical.length} numerical and ${s.analytic.length} analytic entries`);
    }
    const x = Array.from(s.numerical);
    const y = Array.from(s.analytic);
    for (const v of [...x, ...y]) {
      low = Math.min(low, v);
      high = Math.max(high, v);
    }
    return {
      type: "scatter",
      mode: "markers",
      name: s.label,
      x,
      y,
      marker: { size: 8, opacity: 0.8, color: s.color ?? COLORS.series[index % COLORS.series.length] },
      hovertemplate: `${s.label}: numerical %{x:.5f}, analytic %{y:.5f}<extra></extra>`,
    };
  });
  if (!Number.isFinite(low)) [low, high] = [-1, 1];
  const pad = 0.05 * Math.max(high - low, 1e-6);
  const diagonal = {
    type: "scatter",
    mode: "lines",
    name: "analytic = numerical",
    x: [low - pad, high + pad],
    y: [low - pad, high + pad],
    line: { color: COLORS.target, dash: "dash", width: 1 },
    hoverinfo: "skip",
  };
  // One range on both axes, so the diagonal is at 45° and a factor of 2 looks like one.
  const range = [low - pad, high + pad];
  return makeFigure(name, [diagonal, ...traces], {
    title: { text: title },
    xaxis: axis("numerical (central differences)", { range }),
    yaxis: axis("analytic (the op's backward)", { range }),
    legend: { orientation: "h", y: -0.2 },
    height: 460,
  });
}
