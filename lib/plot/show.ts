/**
 * Shows a figure: in a notebook as Plotly JSON (JupyterLab's renderer) and as HTML (the classic
 * notebook, nbconvert, anything else), plotly.js embedded before the first one; outside one, as a
 * standalone HTML file under out/plots/.
 */
import { join } from "node:path";
import { display, kernelKind } from "../notebook/display";
import { embedPlotlyOnce } from "./embed";
import { figureTitle, type Figure } from "./figure";
import { figureHtml, writeFigureHtml } from "./html";

export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

export async function show(figure: Figure, options: { outDir?: string } = {}): Promise<void> {
  if (kernelKind() === null) {
    const path = await writeFigureHtml(join(options.outDir ?? "out/plots", `${figure.name}.html`), figure);
    console.log(`${figure.name}: wrote ${path}`);
    return;
  }
  await embedPlotlyOnce();
  display(
    {
      [PLOTLY_MIME]: { data: figure.data, layout: figure.layout, config: figure.config ?? {} },
      "text/html": figureHtml(figure),
      "text/plain": `<Figure ${figure.name}: ${figureTitle(figure)}>`,
    },
    { gradlab: { figure: figure.name } },
  );
}
