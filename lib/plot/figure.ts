/**
 * A figure is plain Plotly JSON ({data, layout, config}) plus a name: the same object goes to
 * JupyterLab's Plotly renderer (application/vnd.plotly.v1+json), into the HTML that draws it
 * everywhere else, and into a standalone file. Builders return figures; nothing here draws.
 */

/** One Plotly trace or layout object: Plotly's schema is open-ended, so this is too. */
export type PlotlyObject = Record<string, unknown>;

export interface Figure {
  /** A stable id ("loss-curve"): output metadata and the regression tests find plots by it. */
  name: string;
  data: PlotlyObject[];
  layout: PlotlyObject;
  config?: PlotlyObject;
}

/** Colours used across the notebooks, so "ours" and "PyTorch" look the same in every plot. */
export const COLORS = {
  ours: "#1f77b4",
  reference: "#ff7f0e",
  target: "#7f7f7f",
  wrong: "#d62728",
  series: ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b"],
} as const;

const BASE_LAYOUT: PlotlyObject = {
  font: { family: "system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif", size: 13 },
  margin: { l: 60, r: 30, t: 60, b: 50 },
  paper_bgcolor: "white",
  plot_bgcolor: "white",
  hovermode: "closest",
};

const BASE_CONFIG: PlotlyObject = { responsive: true, displaylogo: false };

/** A figure with the house layout: `layout` overrides it key by key (one level deep). */
export function makeFigure(name: string, data: PlotlyObject[], layout: PlotlyObject, config: PlotlyObject = {}): Figure {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new RangeError(`figure name must be lower-case words joined by "-", got ${JSON.stringify(name)}`);
  return { name, data, layout: { ...BASE_LAYOUT, height: 420, ...layout }, config: { ...BASE_CONFIG, ...config } };
}

/** A Cartesian axis with a grid, titled. */
export function axis(title: string, extra: PlotlyObject = {}): PlotlyObject {
  return { title: { text: title }, gridcolor: "#e5e5e5", zerolinecolor: "#bdbdbd", ...extra };
}

/** The figure's title, for text fallbacks ("<Figure loss-curve: …>"). */
export function figureTitle(figure: Figure): string {
  const title = figure.layout.title as { text?: unknown } | string | undefined;
  const text = typeof title === "string" ? title : typeof title?.text === "string" ? title.text : "";
  return text.replace(/<[^>]+>/g, "");
}
