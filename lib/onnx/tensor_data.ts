/**
 * Tensor data in and out of TensorProto: the exporter's initializers (float32, or float64 widened
 * from gradlab's float32 values) and the importer's reading of them into float32, since tfjs has
 * no float64. Every size is checked before anything is allocated: a hostile file may declare a
 * tensor of 10¹² elements and hold eight bytes.
 */
import { formatShape } from "../shape";
import { OnnxImportError } from "./errors";
import { DataType, dataTypeName, int64ToNumber, type OnnxTypes } from "./proto";

/** Largest dimension gradlab accepts (int32, as tfjs's shapes are). */
export const MAX_DIM = 2 ** 31 - 1;
/** Largest tensor gradlab reads: 2²⁸ elements (1 GiB of float32); protobuf stops at 2 GiB anyway. */
export const MAX_ELEMENTS = 2 ** 28;

export type ExportDtype = "float32" | "float64";

/** An initializer holding `values` (row-major), stored as little-endian raw_data. */
export function tensorProto(name: string, values: Float32Array, shape: readonly number[], dtype: ExportDtype): OnnxTypes.ITensorProto {
  const width = dtype === "float64" ? 8 : 4;
  const raw = new Uint8Array(values.length * width);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => (width === 8 ? view.setFloat64(i * 8, v, true) : view.setFloat32(i * 4, v, true)));
  return { name, dims: [...shape], dataType: dtype === "float64" ? DataType.DOUBLE : DataType.FLOAT, rawData: raw };
}

/** A shape read from int64 dims, each a safe, non-negative int32; `what` names it in errors. */
export function readDims(dims: readonly unknown[] | null | undefined, what: string): number[] {
  return (dims ?? []).map((d, i) => {
    const n = int64ToNumber(d as Parameters<typeof int64ToNumber>[0]);
    if (n === null || n < 0 || n > MAX_DIM) {
      throw new OnnxImportError(`${what}: dimension ${i} is ${n === null ? "beyond any safe integer" : n}; dimensions must lie in [0, ${MAX_DIM}]`);
    }
    return n;
  });
}

/** Element count of `shape`, or an error once it passes MAX_ELEMENTS (checked as it grows). */
export function checkedSize(shape: readonly number[], what: string): number {
  let size = 1;
  for (const d of shape) {
    size *= d;
    if (size > MAX_ELEMENTS) {
      throw new OnnxImportError(`${what}: shape ${formatShape(shape)} has more than ${MAX_ELEMENTS} elements, the most gradlab reads`);
    }
  }
  return size;
}

/** A float32 or float64 TensorProto as float32 values and a shape. */
export function readTensor(t: OnnxTypes.ITensorProto, what: string): { shape: number[]; values: Float32Array } {
  if (t.dataLocation === 1) throw new OnnxImportError(`${what}: its data is stored outside the model file (external data), which gradlab does not read`);
  if (t.segment) throw new OnnxImportError(`${what}: segmented tensors are not supported`);
  const type = t.dataType ?? 0;
  if (type !== DataType.FLOAT && type !== DataType.DOUBLE) {
    throw new OnnxImportError(`${what}: element type ${dataTypeName(type)} is not supported; gradlab reads float32 and float64 tensors`);
  }
  const shape = readDims(t.dims, what);
  const size = checkedSize(shape, what);
  const width = type === DataType.DOUBLE ? 8 : 4;
  const raw = t.rawData ?? new Uint8Array(0);
  const listed = type === DataType.DOUBLE ? (t.doubleData ?? []) : (t.floatData ?? []);
  const held = raw.length > 0 ? raw.length / width : listed.length;
  if (held !== size) {
    const holds = raw.length > 0 ? `${raw.length} bytes of raw data (${width} per element)` : `${listed.length} values`;
    throw new OnnxImportError(`${what}: shape ${formatShape(shape)} needs ${size} elements of ${dataTypeName(type)}, but it holds ${holds}`);
  }
  const values = new Float32Array(size);
  if (raw.length > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < size; i++) values[i] = width === 8 ? view.getFloat64(i * 8, true) : view.getFloat32(i * 4, true);
  } else {
    for (let i = 0; i < size; i++) values[i] = listed[i]!;
  }
  return { shape, values };
}
