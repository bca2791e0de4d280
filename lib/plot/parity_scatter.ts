/**
 * A parity plot: one set of values against another, entry by entry, on equal axes with the line
 * y = x. Agreement puts every point on the line; a wrong scale, sign or offset leaves it (a slope
 * of 2, a mirror image, a parallel line, a cloud).
 */
import { axis, COLORS, makeFigure, type Figure, type PlotlyObject } from "./figure";

export interface ParitySeries {
  label: string;
  /** The reference values (horizontal axis). */
  x: ArrayLike<number>;
  /** The values under test (vertical axis), same length and order as x. */
  y: ArrayLike<number>;
  color?: string;
  /** Plotly marker settings over the default (e.g. an open symbol, so overlapping series both show). */
  marker?: PlotlyObject;
}

export interface ParityOptions {
  title: string;
  /** What each axis holds: `axis` titles it, `short` names it in the hover text and errors. */
  x: { axis: string; short: string };
  y: { axis: string; short: string };
  /** Legend entry of the y = x line (default "<y> = <x>"). */
  diagonal?: string;
}

export function parityScatter(name: string, series: readonly ParitySeries[], options: ParityOptions): Figure {
  let low = Infinity;
  let high = -Infinity;
  const traces: PlotlyObject[] = series.map((s, index) => {
    if (s.x.length !== s.y.length) {
      throw new RangeError(`figure "${name}": series ${JSON.stringify(s.label)} has ${s.x.length} ${options.x.short} and ${s.y.length} ${options.y.short} entries`);
    }
    const x = Array.from(s.x);
    const y = Array.from(s.y);
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
      marker: { size: 8, opacity: 0.8, color: s.color ?? COLORS.series[index % COLORS.series.length], ...s.marker },
      hovertemplate: `${s.label}: ${options.x.short} %{x:.5f}, ${options.y.short} %{y:.5f}<extra></extra>`,
    };
  });
  if (!Number.isFinite(low)) [low, high] = [-1, 1];
  const pad = 0.05 * Math.max(high - low, 1e-6);
  // One range on both axes, so the diagonal is at 45° and a factor of 2 looks like one.
  const range = [low - pad, high + pad];
  const diagonal = {
    type: "scatter",
    mode: "lines",
    name: options.diagonal ?? `${options.y.short} = ${options.x.short}`,
    x: range,
    y: range,
    line: { color: COLORS.target, dash: "dash", width: 1 },
    hoverinfo: "skip",
  };
  return makeFigure(name, [diagonal, ...traces], {
    title: { text: options.title },
    xaxis: axis(options.x.axis, { range }),
    yaxis: axis(options.y.axis, { range }),
    legend: { orientation: "h", y: -0.2 },
    height: 460,
  });
}
