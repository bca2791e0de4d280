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

/** A tensor read from a file into host memory: floats as float32, integers exactly (to 2⁵³), bools as 0/1. */
export interface HostTensor {
  /** The ONNX element type it was stored as. */
  dtype: number;
  shape: number[];
  values: Float32Array | Float64Array | Uint8Array;
}

/** Element widths in raw_data, and which repeated field holds the values otherwise. */
const STORAGE: Record<number, { width: number; field: "floatData" | "doubleData" | "int32Data" | "int64Data" | "uint64Data"; kind: "float" | "int" | "bool" | "half" | "bhalf" }> = {
  1: { width: 4, field: "floatData", kind: "float" },
  2: { width: 1, field: "int32Data", kind: "int" },
  3: { width: 1, field: "int32Data", kind: "int" },
  4: { width: 2, field: "int32Data", kind: "int" },
  5: { width: 2, field: "int32Data", kind: "int" },
  6: { width: 4, field: "int32Data", kind: "int" },
  7: { width: 8, field: "int64Data", kind: "int" },
  9: { width: 1, field: "int32Data", kind: "bool" },
  10: { width: 2, field: "int32Data", kind: "half" },
  11: { width: 8, field: "doubleData", kind: "float" },
  12: { width: 4, field: "uint64Data", kind: "int" },
  13: { width: 8, field: "uint64Data", kind: "int" },
  16: { width: 2, field: "int32Data", kind: "bhalf" },
};

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Any numeric or bool TensorProto in host memory; sizes are checked before anything is allocated. */
export function readAnyTensor(t: OnnxTypes.ITensorProto, what: string): HostTensor {
  if (t.dataLocation === 1) throw new OnnxImportError(`${what}: its data is stored outside the model file (external data), which gradlab does not read`);
  if (t.segment) throw new OnnxImportError(`${what}: segmented tensors are not supported`);
  const dtype = t.dataType ?? 0;
  const storage = STORAGE[dtype];
  if (storage === undefined) throw new OnnxImportError(`${what}: element type ${dataTypeName(dtype)} is not supported; gradlab reads numeric and bool tensors`);
  const shape = readDims(t.dims, what);
  const size = checkedSize(shape, what);
  const raw = t.rawData ?? new Uint8Array(0);
  const listed = (t[storage.field] ?? []) as unknown[];
  const held = raw.length > 0 ? raw.length / storage.width : listed.length;
  if (held !== size) {
    const holds = raw.length > 0 ? `${raw.length} bytes of raw data (${storage.width} per element)` : `${listed.length} values`;
    throw new OnnxImportError(`${what}: shape ${formatShape(shape)} needs ${size} elements of ${dataTypeName(dtype)}, but it holds ${holds}`);
  }
  const values = storage.kind === "float" || storage.kind === "half" || storage.kind === "bhalf" ? new Float32Array(size) : storage.kind === "bool" ? new Uint8Array(size) : new Float64Array(size);
  if (dtype === 1 && raw.length > 0 && LITTLE_ENDIAN) {
    // float32 raw data as it lies, copied out (a Node Buffer's slice shares its pool: no .slice()).
    (values as Float32Array).set(new Float32Array(new Uint8Array(raw).buffer));
    return { dtype, shape, values };
  }
  const view = raw.length > 0 ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  for (let i = 0; i < size; i++) {
    let v: number;
    if (view) v = rawValue(view, i, dtype);
    else if (storage.field === "int64Data" || storage.field === "uint64Data") v = longValue(listed[i], storage.field === "uint64Data");
    else v = listed[i] as number;
    if (storage.kind === "half") v = halfToFloat(v & 0xffff);
    else if (storage.kind === "bhalf") v = bfloat16ToFloat(v & 0xffff);
    else if (storage.kind === "bool") v = v ? 1 : 0;
    values[i] = v;
  }
  return { dtype, shape, values };
}

function rawValue(view: DataView, i: number, dtype: number): number {
  switch (dtype) {
    case 1: return view.getFloat32(i * 4, true);
    case 11: return view.getFloat64(i * 8, true);
    case 2: case 9: return view.getUint8(i);
    case 3: return view.getInt8(i);
    case 4: case 10: case 16: return view.getUint16(i * 2, true);
    case 5: return view.getInt16(i * 2, true);
    case 6: return view.getInt32(i * 4, true);
    case 12: return view.getUint32(i * 4, true);
    case 7: return saturate(Number(view.getBigInt64(i * 8, true)));
    case 13: return saturate(Number(view.getBigUint64(i * 8, true)));
  }
  throw new OnnxImportError(`element type ${dataTypeName(dtype)} has no raw form gradlab reads`);
}

const saturate = (n: number) => Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, n));

function longValue(value: unknown, unsigned: boolean): number {
  if (typeof value === "number") return value;
  if (typeof value === "string") return saturate(Number(value));
  const v = value as { low: number; high: number };
  return saturate((unsigned ? v.high >>> 0 : v.high) * 2 ** 32 + (v.low >>> 0));
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function bfloat16ToFloat(b: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, b << 16);
  return view.getFloat32(0);
}
