/**
 * A notebook's first cell: picks the tfjs backend as the library does ("auto", or
 * $GRADLAB_BACKEND), embeds plotly.js for the figures below (the first figure would otherwise),
 * sends the library's warnings into the notebook instead of stderr, and shows what it chose.
 */
import * as tf from "@tensorflow/tfjs";
import { BACKEND_CHOICES, setBackend, type BackendChoice, type BackendInfo } from "../backend";
import { embedPlotlyOnce } from "../plot/embed";
import { setWarningHandler } from "../warnings";
import { kernelKind, markdown, table } from "./display";
import { fact } from "./facts";

export const BACKEND_ENV = "GRADLAB_BACKEND";

export interface NotebookSetup {
  backend: BackendInfo;
  requested: BackendChoice;
  plotly: string | null;
}

/** The backend asked for in $GRADLAB_BACKEND, or "auto". */
export function backendFromEnv(env: Record<string, string | undefined> = process.env): BackendChoice {
  const value = (env[BACKEND_ENV] ?? "").trim();
  if (value === "") return "auto";
  if (!(BACKEND_CHOICES as readonly string[]).includes(value)) {
    throw new RangeError(`${BACKEND_ENV}=${JSON.stringify(value)} is not a backend; use one of ${BACKEND_CHOICES.join(", ")} (or leave it unset for auto)`);
  }
  return value as BackendChoice;
}

export async function setupNotebook(options: { backend?: BackendChoice } = {}): Promise<NotebookSetup> {
  const requested = options.backend ?? backendFromEnv();
  const backend = await setBackend(requested);
  setWarningHandler((message) => markdown(`⚠️ **gradlab warning:** ${message}`));
  const plotly = await embedPlotlyOnce();
  const how = options.backend !== undefined ? `asked for "${requested}"` : process.env[BACKEND_ENV] ? `${BACKEND_ENV}=${requested}` : `"auto" (set ${BACKEND_ENV} to choose)`;
  table(
    ["setting", "value"],
    [
      ["tfjs backend", backend.name],
      ["device", backend.device],
      ["chosen by", how],
      ...backend.skipped.map((s) => ["passed over", s]),
      ["tfjs", tf.version_core],
      ["runtime", runtimeName()],
    ],
  );
  fact("backend", { name: backend.name, device: backend.device, requested }, `Using tfjs backend ${backend.name} on ${backend.device}.`);
  return { backend, requested, plotly };
}

function runtimeName(): string {
  const deno = (globalThis as { Deno?: { version?: { deno?: string } } }).Deno;
  const kernel = kernelKind();
  const where = deno?.version?.deno ? `Deno ${deno.version.deno}` : `Node ${process.version}`;
  return kernel ? `${where}, ${kernel} kernel` : where;
}
