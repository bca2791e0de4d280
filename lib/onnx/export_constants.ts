/**
 * Constants a forward makes (the 2 in tf.mul(x, 2), a mask, an index list) as initializers, and
 * the ONNX element type of each tfjs dtype: float32 is written as the export's float type
 * (float64 widens exactly), int32 and bool as themselves.
 */
import type * as tf from "@tensorflow/tfjs";
import { OnnxExportError } from "./errors";
import { ElementType } from "./kernels/context";
import type { OnnxTypes } from "./proto";
import { tensorProto, type ExportDtype } from "./tensor_data";

export function elementTypeOf(dtype: tf.DataType, exportDtype: ExportDtype, what: string): number {
  switch (dtype) {
    case "float32":
      return exportDtype === "float64" ? ElementType.DOUBLE : ElementType.FLOAT;
    case "int32":
      return ElementType.INT32;
    case "bool":
      return ElementType.BOOL;
    default:
      throw new OnnxExportError(`exportOnnx: ${what} has dtype ${dtype}; gradlab writes float32 (or float64), int32 and bool tensors`);
  }
}

/** Read asynchronously: WebGPU has no synchronous read. */
export async function constantProto(name: string, t: tf.Tensor, exportDtype: ExportDtype): Promise<OnnxTypes.ITensorProto> {
  const type = elementTypeOf(t.dtype, exportDtype, `the constant ${name}`);
  const values = await t.data();
  if (t.dtype === "float32") return tensorProto(name, values as Float32Array, t.shape, exportDtype);
  // int32 and bool (tfjs reads bools as 0/1 bytes) go in int32_data, which ONNX uses for both.
  return { name, dims: [...t.shape], dataType: type, int32Data: Array.from(values as Int32Array | Uint8Array) };
}
