/**
 * The model-local functions of "function" mode: each custom op's `lower`, in standard ops, as the
 * definition of its custom node.
 *
 * One function per distinct body. Two calls of one op may lower to different bodies: the op's
 * constants reach `lower` through its attributes or baked into its definition (two instances of
 * one op name with a leaky slope of 0.01 and 0.9), and `lower` may compute with them (1 − slope, a
 * tensor built from them). ONNX's other answer, function attributes with ref_attr_name, can only
 * pass an attribute unchanged into one node of the body, so it cannot describe those; and a body
 * written once for the first call gives every other call the first call's constants (the silently
 * wrong file of issue 12). So each call's body is written with its own values and compared, as
 * encoded bytes, with the bodies already written: an equal one is shared (a model of ten equal
 * layers has one function), a different one becomes a function of its own, named OP_2, OP_3, …,
 * and the call's node takes that name. The node keeps the attributes its symbolic gave it, and the
 * function declares them, so a runtime with a kernel for the op still reads them.
 */
import type { Arg, CustomFunction, Outputs } from "../function";
import { GraphBuilder, NameTable } from "./graph_builder";
import { CUSTOM_DOMAIN, onnx, type OnnxTypes } from "./proto";
import type { SymbolicValue } from "./symbolic";
import type { TraceStep } from "./trace";

export interface FunctionBodyWriter {
  g: GraphBuilder;
  inputs: SymbolicValue[];
}

export class FunctionBodies {
  readonly #protos: OnnxTypes.IFunctionProto[] = [];
  /** op name → [encoded body, function name] of each distinct body so far. */
  readonly #bodies = new Map<string, [string, string][]>();
  /** Every custom op's name, so a numbered function name never takes another op's. */
  readonly #names = new NameTable();

  constructor(private readonly opset: number, steps: readonly TraceStep[]) {
    for (const step of steps) if (step.kind === "function") this.#names.reserve(step.fn.name);
  }

  /** The function (name) defining this call of `fn`, whose body `write` emits with the call's own values. */
  nameFor(fn: CustomFunction<Arg[], Outputs>, formal: readonly string[], outputs: number, attributes: readonly string[], write: (body: FunctionBodyWriter) => SymbolicValue[]): string {
    const proto = functionProto(fn, this.opset, formal, outputs, attributes, write);
    const key = bodyKey(proto);
    const known = this.#bodies.get(fn.name) ?? [];
    const same = known.find(([body]) => body === key);
    if (same !== undefined) return same[1];
    const name = known.length === 0 ? fn.name : this.#names.fresh(`${fn.name}_${known.length + 1}`);
    proto.name = name;
    if (known.length > 0) proto.docString = `${proto.docString} Call-specific body ${known.length + 1} of ${fn.name}: its constants differ from the other bodies'.`;
    known.push([key, name]);
    this.#bodies.set(fn.name, known);
    this.#protos.push(proto);
    return name;
  }

  functions(): OnnxTypes.IFunctionProto[] {
    return this.#protos;
  }
}

/** The op's lower, as a model-local function: formal inputs named after the op's inputNames. */
function functionProto(
  fn: CustomFunction<Arg[], Outputs>,
  opset: number,
  formalNames: readonly string[],
  outputs: number,
  attributes: readonly string[],
  write: (body: FunctionBodyWriter) => SymbolicValue[],
): OnnxTypes.IFunctionProto {
  // A function's names are its own (ONNX functions are closed), so they need not avoid the graph's;
  // a fresh table per body also makes equal bodies encode to equal bytes.
  const local = new NameTable();
  const formal = formalNames.map((name) => local.fresh(name));
  const g = new GraphBuilder(local, { context: `${fn.name}.lower (function body)`, customOpName: null, allowOtherDomains: false });
  const results = write({ g, inputs: formal.map((n) => g.value(n)) });
  const output = Array.from({ length: outputs }, (_, i) => local.fresh(i === 0 ? "output" : `output${i}`));
  results.forEach((value, i) => {
    for (const node of g.nodes) {
      node.output = (node.output ?? []).map((n) => (n === value.name ? output[i]! : n));
      node.input = (node.input ?? []).map((n) => (n === value.name ? output[i]! : n));
    }
  });
  return onnx.FunctionProto.create({
    name: fn.name,
    domain: CUSTOM_DOMAIN,
    input: formal,
    output,
    attribute: [...attributes],
    node: g.nodes,
    opsetImport: [{ domain: "", version: opset }],
    docString: `${fn.name} in standard ONNX ops (gradlab's lower).`,
  });
}

function bodyKey(proto: OnnxTypes.IFunctionProto): string {
  const bytes = onnx.FunctionProto.encode({ ...proto, name: "", docString: "" }).finish();
  return bytes.join(",");
}
