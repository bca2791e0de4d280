/**
 * The ONNX protobuf schema (onnx-proto's generated code, on protobufjs's runtime) and the few
 * constants gradlab writes and reads.
 *
 * onnx-proto is CommonJS whose only export is `module.exports = { onnx }`; Node's and Deno's ESM
 * loaders expose that as the default export, tslab's CommonJS output as the module itself, so
 * the namespace is looked up in both places rather than imported by name.
 */
import * as onnxProtoModule from "onnx-proto";
// The file itself, with its extension: Deno resolves no extensionless paths inside packages.
import * as protobufModule from "protobufjs/minimal.js";

type OnnxNamespace = typeof onnxProtoModule.onnx;
type Loaded<T, K extends string> = { [key in K]?: T } & { default?: { [key in K]?: T } };

const loadedOnnx = onnxProtoModule as unknown as Loaded<OnnxNamespace, "onnx">;
export const onnx: OnnxNamespace = loadedOnnx.onnx ?? loadedOnnx.default!.onnx!;
export type { onnx as OnnxTypes } from "onnx-proto";

type Protobuf = typeof protobufModule;
const loadedProtobuf = protobufModule as unknown as Protobuf & { default?: Protobuf };
export const protobuf: Protobuf = typeof loadedProtobuf.Reader === "function" ? loadedProtobuf : loadedProtobuf.default!;

/**
 * IR version 8: the newest that onnx-proto's schema (ONNX 1.10) describes and that Debian's ONNX
 * 1.12 checker accepts; model-local functions (ModelProto.functions) need it.
 */
export const IR_VERSION = 8;
/** Opsets the exporter writes: 11 (the seed's) up to 17, the newest ONNX 1.12 knows. */
export const MIN_OPSET = 11;
export const MAX_OPSET = 17;
export const DEFAULT_OPSET = 17;
/** The domain of gradlab's custom ops and their model-local functions. */
export const CUSTOM_DOMAIN = "gradlab";
export const CUSTOM_DOMAIN_VERSION = 1;
export const PRODUCER_NAME = "gradlab";
export const PRODUCER_VERSION = "0.1.0";

export const DataType = {
  FLOAT: 1,
  DOUBLE: 11,
} as const;

/** ONNX element type names, for messages and descriptions. */
export const DATA_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: "undefined", 1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
  8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 14: "complex64",
  15: "complex128", 16: "bfloat16",
};

export function dataTypeName(type: number | null | undefined): string {
  return DATA_TYPE_NAMES[type ?? 0] ?? `unknown type ${type}`;
}

/**
 * An int64 field as a JavaScript number, or null when it is not a safe integer. protobufjs
 * returns int64s as Long objects when the `long` package is around and as numbers when not;
 * LongBits reads both (and strings).
 */
export function int64ToNumber(value: number | { low: number; high: number; unsigned?: boolean } | string | null | undefined): number | null {
  if (value === null || value === undefined) return 0;
  if (typeof value === "number") return Number.isSafeInteger(value) ? value : null;
  const bits = protobuf.util.LongBits.from(value as Parameters<typeof protobuf.util.LongBits.from>[0]);
  const n = bits.toNumber(false);
  return Number.isSafeInteger(n) ? n : null;
}
