/**
 * Small grey-scale images in a grid of panels, each titled (the misclassified digits: "true 3,
 * predicted 8"). Each image is rows of values, drawn dark for high values as ink on paper.
 */
import { makeFigure, type Figure, type PlotlyObject } from "./figure";

export interface GridImage {
  pixels: readonly (readonly number[])[];
  title: string;
}

export interface ImageGridOptions {
  title?: string;
  columns?: number;
  /** The value drawn black (default: the largest in all images). */
  max?: number;
}

export function imageGrid(name: string, images: readonly GridImage[], options: ImageGridOptions = {}): Figure {
  images.forEach((im, k) => {
    const width = im.pixels[0]?.length ?? 0;
    if (im.pixels.length === 0 || width === 0 || im.pixels.some((row) => row.length !== width)) {
      throw new RangeError(`imageGrid "${name}": image ${k} (${JSON.stringify(im.title)}) must be non-empty rows of equal length, got rows of lengths ${im.pixels.map((r) => r.length).join(", ") || "none"}`);
    }
  });
  const columns = Math.max(1, Math.min(options.columns ?? 8, images.length));
  const rows = Math.max(1, Math.ceil(images.length / columns));
  const max = options.max ?? Math.max(1e-12, ...images.flatMap((im) => im.pixels.flat()));
  const gap = 0.02;
  const w = (1 - gap * (columns - 1)) / columns;
  const h = (1 - 0.08 * (rows - 1)) / rows;
  const data: PlotlyObject[] = [];
  const layout: PlotlyObject = { annotations: [] as PlotlyObject[] };
  images.forEach((im, k) => {
    const suffix = k === 0 ? "" : String(k + 1);
    const col = k % columns;
    const row = Math.floor(k / columns);
    const x0 = col * (w + gap);
    const y1 = 1 - row * (h + 0.08);
    data.push({ type: "heatmap", z: im.pixels, xaxis: `x${suffix}`, yaxis: `y${suffix}`, colorscale: "Greys", zmin: 0, zmax: max, showscale: false, hovertemplate: `${im.title}<br>[%{y}, %{x}] = %{z}<extra></extra>` });
    layout[`xaxis${suffix}`] = { domain: [x0, x0 + w], visible: false, anchor: `y${suffix}` };
    layout[`yaxis${suffix}`] = { domain: [y1 - h, y1], visible: false, autorange: "reversed", scaleanchor: `x${suffix}`, anchor: `x${suffix}` };
    (layout.annotations as PlotlyObject[]).push({ text: im.title, x: x0 + w / 2, y: y1, xref: "paper", yref: "paper", xanchor: "center", yanchor: "bottom", showarrow: false, font: { size: 11 } });
  });
  return makeFigure(name, data, { ...layout, title: { text: options.title ?? "Images" }, height: 120 + rows * 130, margin: { l: 20, r: 20, t: 70, b: 20 } });
}
