/**
 * plotly.js goes into a notebook once per kernel: with setupNotebook(), or else with the first
 * figure shown, so that a notebook that never calls setupNotebook() still draws its plots.
 */
import { display, kernelKind } from "../notebook/display";
import { plotlyLoaderHtml } from "./html";
import { plotlyBundle } from "./plotly_bundle";

let embedding: Promise<string> | null = null;

/** Embeds plotly.js in the notebook unless this kernel has already; its version, or null outside a kernel. */
export async function embedPlotlyOnce(): Promise<string | null> {
  if (kernelKind() === null) return null;
  embedding ??= (async () => {
    const bundle = await plotlyBundle();
    display({ "text/html": await plotlyLoaderHtml(), "text/plain": `plotly.js ${bundle.version} embedded (offline)` }, { gradlab: { plotly: bundle.version } });
    return bundle.version;
  })();
  try {
    return await embedding;
  } catch (error) {
    embedding = null; // a later figure tries again (after plotly.js-dist is installed, say)
    throw error;
  }
}
