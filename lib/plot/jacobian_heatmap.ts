/**
 * Two matrices side by side on one colour scale: for the linear layer, the Jacobian ∂Y/∂X that
 * autodiff measured and the weight W it should equal, entry for entry.
 */
import { makeFigure, type Figure, type PlotlyObject } from "./figure";

export interface MatrixPanel {
  title: string;
  values: readonly (readonly number[])[];
  /** Axis titles: rows first, then columns. */
  rows: string;
  columns: string;
}

export function sideBySideHeatmaps(name: string, title: string, left: MatrixPanel, right: MatrixPanel): Figure {
  const all = [...left.values.flat(), ...right.values.flat()];
  const bound = Math.max(1e-12, ...all.map(Math.abs));
  const panel = (p: MatrixPanel, index: 1 | 2): PlotlyObject => ({
    type: "heatmap",
    name: p.title,
    z: p.values,
    x: p.values[0]?.map((_, i) => i) ?? [],
    y: p.values.map((_, j) => j),
    xaxis: index === 1 ? "x" : "x2",
    yaxis: index === 1 ? "y" : "y2",
    colorscale: "RdBu",
    reversescale: true,
    zmin: -bound,
    zmax: bound,
    showscale: index === 2,
    texttemplate: "%{z:.3f}",
    hovertemplate: `${p.title}[%{y}, %{x}] = %{z:.6f}<extra></extra>`,
  });
  const axes = (p: MatrixPanel, index: 1 | 2): PlotlyObject => {
    const suffix = index === 1 ? "" : "2";
    const domain = index === 1 ? [0, 0.45] : [0.53, 0.98];
    return {
      [`xaxis${suffix}`]: { domain, title: { text: p.columns }, dtick: 1, side: "bottom", anchor: `y${suffix}` },
      [`yaxis${suffix}`]: { title: { text: p.rows }, dtick: 1, autorange: "reversed", anchor: `x${suffix}` },
    };
  };
  return makeFigure(name, [panel(left, 1), panel(right, 2)], {
    title: { text: title },
    ...axes(left, 1),
    ...axes(right, 2),
    annotations: [
      { text: `<b>${left.title}</b>`, x: 0.225, y: 1.06, xref: "paper", yref: "paper", showarrow: false },
      { text: `<b>${right.title}</b>`, x: 0.755, y: 1.06, xref: "paper", yref: "paper", showarrow: false },
    ],
    height: 380,
  });
}
