/**
 * importOnnx: an ONNX file (or its bytes) as a gradlab model that runs and trains: what PyTorch
 * exports for MLPs, CNNs and small transformer blocks (opsets 7 to 17, float32 and float64, the
 * int64 shape arithmetic around them), gradlab's own exports, model-local functions of any domain,
 * and a user's own ops through `ops`.
 *
 * tfjs has no float64 or int64: floats compute in float32 (a relative change of at most 2⁻²⁴ per
 * value), integers in int32 (values outside it are refused where a tensor needs them). Anything
 * gradlab cannot read or run (corrupt bytes, an unsupported op or attribute, an inconsistent
 * graph, a tensor over budget) is an OnnxImportError that says what and where.
 */
import { readFileSync } from "node:fs";
import { decodeModel } from "./decode";
import { OnnxImportError } from "./errors";
import { resolveBudgets, type ImportBudgets } from "./import_budgets";
import { planGraph } from "./import_graph";
import { userOps, type UserOp } from "./import_user_ops";
import { OnnxModel } from "./onnx_model";

export interface ImportOptions {
  /** A user's defineFunction ops by ONNX op type (any domain); they run in place of any function body the file gives. */
  ops?: Readonly<Record<string, UserOp>>;
  /** Limits checked before allocation; see DEFAULT_BUDGETS. */
  budgets?: Partial<ImportBudgets>;
}

export function importOnnx(source: string | Uint8Array | ArrayBuffer, options: ImportOptions = {}): OnnxModel {
  const budgets = resolveBudgets(options.budgets);
  return new OnnxModel(planGraph(decodeModel(modelBytes(source)), budgets, userOps(options.ops)));
}

/** The bytes of a model given as a path, bytes or an ArrayBuffer. */
export function modelBytes(source: string | Uint8Array | ArrayBuffer): Uint8Array {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (typeof source !== "string") throw new OnnxImportError(`expected a file path, a Uint8Array or an ArrayBuffer, got ${typeof source}`);
  try {
    return readFileSync(source);
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new OnnxImportError(`cannot read ONNX file ${source}: ${code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
}
