/** A confusion matrix as a heatmap: true class down, predicted class across, counts in the cells. */
import { makeFigure, type Figure } from "./figure";

export interface ConfusionOptions {
  title?: string;
  /** Class names (default "0", "1", …). */
  labels?: readonly string[];
}

export function confusionMatrix(name: string, counts: readonly (readonly number[])[], options: ConfusionOptions = {}): Figure {
  const n = counts.length;
  if (counts.some((row) => row.length !== n)) throw new RangeError(`confusionMatrix: expected a square matrix, got ${n} rows of lengths ${counts.map((r) => r.length).join(", ")}`);
  const labels = options.labels ?? counts.map((_, i) => String(i));
  const total = counts.flat().reduce((a, b) => a + b, 0);
  const correct = counts.reduce((s, row, i) => s + row[i]!, 0);
  return makeFigure(
    name,
    [
      {
        type: "heatmap",
        z: counts,
        x: labels,
        y: labels,
        colorscale: "Blues",
        texttemplate: "%{z}",
        hovertemplate: "true %{y}, predicted %{x}: %{z}<extra></extra>",
        showscale: false,
      },
    ],
    {
      title: { text: options.title ?? `Confusion matrix (${correct} of ${total} correct)` },
      xaxis: { title: { text: "predicted" }, type: "category", side: "bottom" },
      yaxis: { title: { text: "true" }, type: "category", autorange: "reversed" },
      width: 520,
      height: 520,
    },
  );
}
