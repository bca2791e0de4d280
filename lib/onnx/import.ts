/**
 * importOnnx: an ONNX file (or its bytes) as a gradlab model that runs and trains. It reads
 * gradlab's exports in every customOps mode, PyTorch's export of the seed (MYLINEAR in the default
 * domain, float64 weights also listed as graph inputs) and plain Gemm or MatMul + Add models.
 *
 * tfjs has no float64: float64 weights and inputs become float32 (a relative change of at most
 * 2⁻²⁴ per value). Anything gradlab cannot read (corrupt or truncated bytes, absurd sizes, a
 * missing initializer, a cycle, an unsupported op) is an OnnxImportError that says what and where.
 */
import { readFileSync } from "node:fs";
import { decodeModel } from "./decode";
import { OnnxImportError } from "./errors";
import { planGraph } from "./import_graph";
import { OnnxModel } from "./onnx_model";

export function importOnnx(source: string | Uint8Array | ArrayBuffer): OnnxModel {
  return new OnnxModel(planGraph(decodeModel(modelBytes(source))));
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
