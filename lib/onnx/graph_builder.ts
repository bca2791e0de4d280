/**
 * The exporter's side of SymbolicGraph: each g.op(...) call becomes an ONNX NodeProto, with a
 * fresh output name and its attributes typed by torch.onnx's key suffixes (see symbolic.ts).
 * One builder serves the main graph and each model-local function body; names are drawn from a
 * shared table so that an op's nodes never reuse an input's, an initializer's or another node's.
 */
import { OnnxExportError } from "./errors";
import { CUSTOM_DOMAIN, onnx, type OnnxTypes } from "./proto";
import type { SymbolicAttribute, SymbolicGraph, SymbolicValue } from "./symbolic";

/** Hands out names no other value or node in the model has. */
export class NameTable {
  readonly #used = new Set<string>();

  reserve(name: string): void {
    this.#used.add(name);
  }

  has(name: string): boolean {
    return this.#used.has(name);
  }

  /** `base`, or `base_1`, `base_2`, … when taken. */
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.#used.has(name); i++) name = `${base}_${i}`;
    this.#used.add(name);
    return name;
  }
}

export interface GraphBuilderOptions {
  /** Who is emitting nodes, for messages: e.g. `MYLINEAR.symbolic (call 1)`. */
  context: string;
  /** The custom op's own name: nodes of this type go in gradlab's domain. null: none may. */
  customOpName: string | null;
  /** Whether "domain::Op" types are allowed (not in a body that must be standard ONNX). */
  allowOtherDomains: boolean;
}

export class GraphBuilder implements SymbolicGraph {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  /** Values this builder may hand to ops: the inputs it was given and the outputs it made. */
  readonly #known = new Set<string>();

  constructor(private readonly names: NameTable, private readonly options: GraphBuilderOptions) {}

  /** A value the op may use (an input of the op being exported). */
  value(name: string): SymbolicValue {
    this.#known.add(name);
    return { name };
  }

  op(opType: string, ...args: (SymbolicValue | Record<string, SymbolicAttribute>)[]): SymbolicValue {
    return this.#node(opType, 1, args)[0]!;
  }

  multiOp(opType: string, outputs: number, ...args: (SymbolicValue | Record<string, SymbolicAttribute>)[]): SymbolicValue[] {
    if (!Number.isInteger(outputs) || outputs < 1) throw new OnnxExportError(`${this.options.context}: g.multiOp("${opType}") needs a positive whole number of outputs, got ${JSON.stringify(outputs)}`);
    return this.#node(opType, outputs, args);
  }

  #node(opType: string, count: number, args: (SymbolicValue | Record<string, SymbolicAttribute>)[]): SymbolicValue[] {
    const { context } = this.options;
    if (typeof opType !== "string" || opType.length === 0) throw new OnnxExportError(`${context}: g.op needs an op type string, got ${JSON.stringify(opType)}`);
    const [domain, type] = this.#domainOf(opType);
    const last = args[args.length - 1];
    const attributes = last !== undefined && !isValue(last) ? (args.pop() as Record<string, SymbolicAttribute>) : {};
    const inputs = args.map((arg, i) => {
      if (!isValue(arg) || !this.#known.has(arg.name)) {
        throw new OnnxExportError(
          `${context}: argument ${i} of g.op("${opType}") is ${isValue(arg) ? `the unknown value "${arg.name}"` : `${JSON.stringify(arg)}, not a graph value`}; ` +
            "pass the values the op received (or that earlier g.op calls returned), attributes last in one object",
        );
      }
      return arg.name;
    });
    const name = this.names.fresh(type);
    const outputs = Array.from({ length: count }, (_, i) => this.names.fresh(i === 0 ? `${name}_output` : `${name}_output${i}`));
    for (const output of outputs) this.#known.add(output);
    this.nodes.push(
      onnx.NodeProto.create({
        name,
        opType: type,
        domain,
        input: inputs,
        output: outputs,
        attribute: Object.entries(attributes).map(([key, value]) => encodeAttribute(key, value, `${context}: g.op("${opType}")`)),
      }),
    );
    return outputs.map((output) => ({ name: output }));
  }

  /** A Constant node holding `tensor` (its name is ignored), e.g. an int64 shape for Reshape. */
  constant(tensor: OnnxTypes.ITensorProto): SymbolicValue {
    const name = this.names.fresh("Constant");
    const output = this.names.fresh(`${name}_output`);
    this.#known.add(output);
    this.nodes.push(
      onnx.NodeProto.create({
        name,
        opType: "Constant",
        domain: "",
        input: [],
        output: [output],
        attribute: [{ name: "value", type: AttributeType.TENSOR, t: tensor }],
      }),
    );
    return { name: output };
  }

  /** Whether `value` is one this builder knows (an input or an output it made). */
  knows(value: unknown): value is SymbolicValue {
    return isValue(value) && this.#known.has(value.name);
  }

  #domainOf(opType: string): [string, string] {
    const split = opType.indexOf("::");
    if (split !== -1) {
      if (!this.options.allowOtherDomains) {
        throw new OnnxExportError(`${this.options.context}: "${opType}" is not a standard ONNX op; this body must use standard ops only (e.g. Gemm, MatMul, Add)`);
      }
      return [opType.slice(0, split), opType.slice(split + 2)];
    }
    return [opType === this.options.customOpName ? CUSTOM_DOMAIN : "", opType];
  }
}

function isValue(arg: unknown): arg is SymbolicValue {
  return typeof arg === "object" && arg !== null && typeof (arg as SymbolicValue).name === "string" && Object.keys(arg).length === 1;
}

const SUFFIX = /^(.+)_([ifs])$/;
const AttributeType = onnx.AttributeProto.AttributeType;

/** One attribute, typed by its key's suffix as torch.onnx does (`transB_i`, `alpha_f`, `mode_s`). */
export function encodeAttribute(key: string, value: SymbolicAttribute, context: string): OnnxTypes.IAttributeProto {
  const match = SUFFIX.exec(key);
  if (match === null) {
    throw new OnnxExportError(`${context}: attribute "${key}" needs a type suffix, as in torch.onnx: "${key}_i" (int or ints), "${key}_f" (float or floats) or "${key}_s" (string or strings)`);
  }
  const [, name, kind] = match as unknown as [string, string, "i" | "f" | "s"];
  const list = Array.isArray(value);
  const items: unknown[] = list ? value : [value];
  const bad = items.find((v) => (kind === "s" ? typeof v !== "string" : typeof v !== "number" || !Number.isFinite(v) || (kind === "i" && !Number.isSafeInteger(v))));
  if (bad !== undefined) {
    const expected = { i: "integers", f: "finite numbers", s: "strings" }[kind];
    throw new OnnxExportError(`${context}: attribute "${key}" must hold ${expected}, got ${JSON.stringify(bad)}`);
  }
  const utf8 = (s: unknown) => new TextEncoder().encode(s as string);
  switch (kind) {
    case "i":
      return list ? { name, type: AttributeType.INTS, ints: items as number[] } : { name, type: AttributeType.INT, i: value as number };
    case "f":
      return list ? { name, type: AttributeType.FLOATS, floats: items as number[] } : { name, type: AttributeType.FLOAT, f: value as number };
    case "s":
      return list ? { name, type: AttributeType.STRINGS, strings: items.map(utf8) } : { name, type: AttributeType.STRING, s: utf8(value) };
  }
}
