/**
 * A node's attributes read once, by type, and handed to its op as an Attrs object whose getters
 * give defaults (`a.int("axis", 1)`). Each op lists the attributes it reads; any other is refused
 * by name, so an attribute gradlab would silently ignore cannot change what the model computes.
 */
import { onnx, type OnnxTypes } from "../proto";
import { readAnyTensor, type HostTensor } from "../tensor_data";
import { OpError, Refusal } from "./values";

export type AttributeKind = "int" | "float" | "string" | "tensor" | "ints" | "floats" | "strings";
export type AttributeValue = number | string | HostTensor | number[] | string[];

const Type = onnx.AttributeProto.AttributeType;
const KIND_OF_TYPE: Record<number, AttributeKind> = {
  [Type.FLOAT]: "float", [Type.INT]: "int", [Type.STRING]: "string", [Type.TENSOR]: "tensor",
  [Type.FLOATS]: "floats", [Type.INTS]: "ints", [Type.STRINGS]: "strings",
};

export class Attrs {
  constructor(readonly values: ReadonlyMap<string, AttributeValue>) {}

  has(name: string): boolean {
    return this.values.has(name);
  }
  int(name: string, fallback: number): number {
    return (this.values.get(name) as number | undefined) ?? fallback;
  }
  float(name: string, fallback: number): number {
    return (this.values.get(name) as number | undefined) ?? fallback;
  }
  string(name: string, fallback: string): string {
    return (this.values.get(name) as string | undefined) ?? fallback;
  }
  ints(name: string): number[] | undefined {
    return this.values.get(name) as number[] | undefined;
  }
  floats(name: string): number[] | undefined {
    return this.values.get(name) as number[] | undefined;
  }
  tensor(name: string): HostTensor | undefined {
    return this.values.get(name) as HostTensor | undefined;
  }
}

/** Reads `attributes` against what the op takes; unknown names, wrong types and graphs are refused. */
export function readAttributes(attributes: readonly OnnxTypes.IAttributeProto[], spec: Readonly<Record<string, AttributeKind>> | "any", opType: string): Attrs {
  const values = new Map<string, AttributeValue>();
  for (const a of attributes) {
    const name = a.name ?? "";
    const expected = spec === "any" ? KIND_OF_TYPE[a.type ?? 0] ?? inferKind(a) : Object.hasOwn(spec, name) ? spec[name]! : undefined;
    if (expected === undefined && spec === "any") throw new Refusal(`attribute "${name}" of ${opType} has type ${a.type}, which gradlab does not read (graphs, sparse tensors)`);
    if (expected === undefined) {
      const list = spec === "any" ? [] : Object.keys(spec);
      throw new Refusal(`attribute "${name}" of ${opType} is not supported (gradlab reads ${list.length ? list.join(", ") : "none"})`);
    }
    if (values.has(name)) throw new OpError(`attribute "${name}" is given twice`);
    const kind = KIND_OF_TYPE[a.type ?? 0] ?? inferKind(a);
    if (kind !== expected) throw new OpError(`attribute "${name}" must be of type ${expected.toUpperCase()}, got ${kind ? kind.toUpperCase() : `type ${a.type}`}`);
    values.set(name, valueOf(a, kind, name));
  }
  return new Attrs(values);
}

/** Files from some writers leave `type` unset; the filled field says what it is. */
function inferKind(a: OnnxTypes.IAttributeProto): AttributeKind | undefined {
  if (a.t) return "tensor";
  if (a.g || (a.graphs ?? []).length) return undefined;
  if ((a.ints ?? []).length) return "ints";
  if ((a.floats ?? []).length) return "floats";
  if ((a.strings ?? []).length) return "strings";
  if (a.s && a.s.length) return "string";
  return undefined;
}

function valueOf(a: OnnxTypes.IAttributeProto, kind: AttributeKind, name: string): AttributeValue {
  switch (kind) {
    case "int": return int64(a.i, name);
    case "float": return a.f ?? 0;
    case "string": return new TextDecoder().decode(a.s ?? new Uint8Array(0));
    case "tensor": return readAnyTensor(a.t!, `attribute "${name}"`);
    case "ints": return (a.ints ?? []).map((v) => int64(v, name));
    case "floats": return [...(a.floats ?? [])];
    case "strings": return (a.strings ?? []).map((s) => new TextDecoder().decode(s));
  }
}

/** An int64 as a number; values past ±2⁵³ saturate (PyTorch writes INT64_MAX for "to the end"). */
export function int64(value: unknown, name: string): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === "number") return value;
  const v = value as { low: number; high: number; unsigned?: boolean };
  if (typeof v.low !== "number" || typeof v.high !== "number") throw new OpError(`attribute "${name}" is not an integer`);
  const n = v.high * 2 ** 32 + (v.low >>> 0);
  return Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, n));
}
