/**
 * exportOnnx's options, as torch.onnx.export's (input_names, output_names, dynamic_axes,
 * opset_version) plus how custom ops are written, and their validation. Everything is checked
 * before anything is traced or written, and a name in dynamicAxes that matches no input or output
 * is an error rather than PyTorch's warning: the seed's own call names "image" and "output" for a
 * model whose input and output are "x" and "y", and so exports a model fixed at batch 1.
 */
import type * as tf from "@tensorflow/tfjs";
import { OnnxExportError } from "./errors";
import { DEFAULT_OPSET, MAX_OPSET, MIN_OPSET } from "./proto";
import type { ExportDtype } from "./tensor_data";
import type { ExportTrainingMode } from "./training_mode";

/**
 * - "function" (default): the custom op is a node in gradlab's domain, and the model carries its
 *   definition in standard ops as a model-local function, so the ONNX checker passes and any
 *   runtime runs it.
 * - "standard": the op's standard-op form inlined (for LinearF, one Gemm).
 * - "opaque": the bare custom node, as PyTorch writes it, for runtimes with a kernel registered.
 */
export type CustomOpsMode = "function" | "standard" | "opaque";
export const CUSTOM_OPS_MODES: readonly CustomOpsMode[] = ["function", "standard", "opaque"];

/** Per input or output name, the axes whose size is free: `{ x: { 0: "batch" } }` or `{ x: [0] }`. */
export type DynamicAxes = Readonly<Record<string, Readonly<Record<number, string>> | readonly number[]>>;

export interface ExportOptions {
  /** The input(s) forward is traced with (default: zeros of shape [1, model.inFeatures]). */
  example?: tf.Tensor | readonly tf.Tensor[];
  /** Graph input names, one per forward argument (default ["x"]). */
  inputNames?: readonly string[];
  /** Graph output name (default ["y"]). */
  outputNames?: readonly string[];
  dynamicAxes?: DynamicAxes;
  /** Default-domain opset, 11 to 17 (default 17). */
  opset?: number;
  customOps?: CustomOpsMode;
  /** Element type of inputs, outputs and weights (default float32; float64 widens the weights). */
  dtype?: ExportDtype;
  /** The mode the forward is traced in, as torch.onnx.export's `training` (default "eval"; see training_mode.ts). */
  training?: ExportTrainingMode;
}

export interface ResolvedExportOptions {
  inputNames: string[];
  outputName: string;
  /** name → axis → dimension name. */
  dynamicAxes: Map<string, Map<number, string>>;
  opset: number;
  customOps: CustomOpsMode;
  dtype: ExportDtype;
}

/** Checks every option against the example's input count and the traced ranks. */
export function resolveExportOptions(options: ExportOptions, inputRanks: readonly number[], outputRank: number): ResolvedExportOptions {
  const customOps = options.customOps ?? "function";
  if (!CUSTOM_OPS_MODES.includes(customOps)) fail(`customOps must be one of ${CUSTOM_OPS_MODES.map((m) => `"${m}"`).join(", ")}, got ${JSON.stringify(customOps)}`);
  const opset = options.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) fail(`opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}, got ${JSON.stringify(opset)}`);
  const dtype = options.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "float64") fail(`dtype must be "float32" or "float64", got ${JSON.stringify(dtype)}`);

  const inputNames = names(options.inputNames, inputRanks.length === 1 ? ["x"] : null, "inputNames", inputRanks.length, "forward argument");
  const [outputName] = names(options.outputNames, ["y"], "outputNames", 1, "output") as [string];
  const all = [...inputNames, outputName];
  const duplicate = all.find((n, i) => all.indexOf(n) !== i);
  if (duplicate !== undefined) fail(`the name "${duplicate}" is used twice among inputNames and outputNames`);

  const ranks = new Map<string, number>([...inputNames.map((n, i) => [n, inputRanks[i]!] as const), [outputName, outputRank]]);
  return { inputNames, outputName, dynamicAxes: resolveDynamicAxes(options.dynamicAxes ?? {}, ranks), opset, customOps, dtype };
}

function names(given: readonly string[] | undefined, fallback: string[] | null, option: string, count: number, what: string): string[] {
  if (given === undefined) {
    if (fallback === null) fail(`forward takes ${count} inputs; name them with ${option} (one per ${what})`);
    return fallback!;
  }
  if (!Array.isArray(given) || given.length !== count) fail(`${option} must list ${count} name${count === 1 ? "" : "s"} (one per ${what}), got ${JSON.stringify(given)}`);
  given.forEach((n) => {
    if (typeof n !== "string" || n.length === 0) fail(`${option} must hold non-empty strings, got ${JSON.stringify(n)}`);
  });
  return [...given];
}

function resolveDynamicAxes(dynamicAxes: DynamicAxes, ranks: Map<string, number>): Map<string, Map<number, string>> {
  if (dynamicAxes === null || typeof dynamicAxes !== "object" || Array.isArray(dynamicAxes)) fail(`dynamicAxes must be an object keyed by input and output names, got ${JSON.stringify(dynamicAxes)}`);
  const unknown = Object.keys(dynamicAxes).filter((k) => !ranks.has(k));
  if (unknown.length > 0) {
    const list = (xs: string[]) => xs.map((x) => `"${x}"`).join(", ");
    fail(`dynamicAxes names ${list(unknown)}, which match${unknown.length === 1 ? "es" : ""} no input or output; the inputs and outputs are ${list([...ranks.keys()])}`);
  }
  const out = new Map<string, Map<number, string>>();
  for (const [name, axes] of Object.entries(dynamicAxes)) {
    const rank = ranks.get(name)!;
    // torch.onnx names the axes of the list form `<name>_dynamic_axes_<k>`, k counting from 1.
    const entries: [string, unknown][] = Array.isArray(axes)
      ? axes.map((axis, k) => [String(axis), `${name}_dynamic_axes_${k + 1}`])
      : Object.entries(axes ?? fail(`dynamicAxes["${name}"] must be an object {axis: "name"} or a list of axes`));
    const byAxis = new Map<number, string>();
    for (const [key, dimName] of entries) {
      const axis = Number(key);
      if (!Number.isInteger(axis) || axis < 0 || axis >= rank) fail(`dynamicAxes["${name}"]: axis ${key} does not exist; "${name}" has rank ${rank} (axes 0 to ${rank - 1})`);
      if (typeof dimName !== "string" || dimName.length === 0) fail(`dynamicAxes["${name}"][${key}] must be a non-empty dimension name, got ${JSON.stringify(dimName)}`);
      byAxis.set(axis, dimName as string);
    }
    out.set(name, byAxis);
  }
  return out;
}

function fail(message: string): never {
  throw new OnnxExportError(`exportOnnx: ${message}`);
}
