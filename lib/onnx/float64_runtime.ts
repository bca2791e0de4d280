/**
 * A float64 export must run in ONNX Runtime at its default optimisation level, and ORT's CPU
 * provider lacks float64 where ONNX allows it:
 * - some ops have float32 kernels only (Conv, Erf, Elu, …: "Could not find an implementation for
 *   Conv(11)"); in a float64 export they are written as Cast to float32, the op, Cast back, so they
 *   compute at the precision gradlab computed them in, and everything around them in float64;
 * - its QuickGelu fusion turns x·sigmoid(x) and x·sigmoid(αx), a custom op's SiLU or quick GELU
 *   among them, into com.microsoft.QuickGelu, which has no float64 kernel ("Failed to find kernel
 *   for com.microsoft.QuickGelu", issue 12); so Sigmoid is written as 1 / (1 + exp(−x)), the same
 *   function, which the fusion does not match.
 * Applied to the main graph and to every function body (a custom op's `lower` is written in
 * standard ops without a dtype, and in a float64 export it computes in float64 too). For the same
 * reason a lower's float constants (Constant with value_float or value_floats, as
 * `g.op("Constant", { value_float_f: 0.5 })` writes them) are widened to float64: written for the
 * float32 model, they would otherwise meet float64 inputs ("B has inconsistent type tensor(float)").
 */
import { GraphBuilder, NameTable } from "./graph_builder";
import { ElementType } from "./kernels/context";
import { onnx, type OnnxTypes } from "./proto";

/** Ops ORT 1.x's CPU provider runs in float32 but not float64. */
export const ORT_FLOAT32_ONLY: ReadonlySet<string> = new Set(["Conv", "Erf", "Elu", "Softplus", "AveragePool", "Selu"]);

/** `nodes` with those ops made runnable in float64; new names come from `names`. */
export function adaptForFloat64Runtime(nodes: readonly OnnxTypes.INodeProto[], names: NameTable, context: string): OnnxTypes.INodeProto[] {
  return nodes.flatMap((node) => {
    const standard = (node.domain ?? "") === "";
    if (standard && node.opType === "Constant") return [widenedConstant(node)];
    if (!standard || (node.opType !== "Sigmoid" && !ORT_FLOAT32_ONLY.has(node.opType!))) return [node];
    const g = new GraphBuilder(names, { context, customOpName: null, allowOtherDomains: false });
    const inputs = (node.input ?? []).map((name) => g.value(name));
    if (node.opType === "Sigmoid") {
      const one = g.constant({ dims: [], dataType: ElementType.DOUBLE, doubleData: [1] });
      g.op("Reciprocal", g.op("Add", one, g.op("Exp", g.op("Neg", inputs[0]!))));
    } else {
      // An absent optional input ("") stays absent.
      const narrowed = inputs.map((x) => (x.name === "" ? x : g.op("Cast", x, { to_i: ElementType.FLOAT })));
      const inner = g.op(node.opType!, ...narrowed);
      g.nodes[g.nodes.length - 1]!.attribute = node.attribute ?? [];
      g.op("Cast", inner, { to_i: ElementType.DOUBLE });
    }
    // The last node now produces what the original did.
    g.nodes[g.nodes.length - 1]!.output = [...(node.output ?? [])];
    return g.nodes;
  });
}

/** The same, for a model-local function body (its names are its own). */
export function adaptFunctionForFloat64Runtime(f: OnnxTypes.IFunctionProto): void {
  const local = new NameTable();
  for (const name of [...(f.input ?? []), ...(f.output ?? [])]) local.reserve(name);
  for (const node of f.node ?? []) for (const name of [node.name ?? "", ...(node.input ?? []), ...(node.output ?? [])]) local.reserve(name);
  f.node = adaptForFloat64Runtime(f.node ?? [], local, `${f.name} (function body, float64)`);
}

/** A Constant of value_float(s) as the same values in a float64 tensor; any other as it was. */
function widenedConstant(node: OnnxTypes.INodeProto): OnnxTypes.INodeProto {
  const [attribute] = node.attribute ?? [];
  if (attribute === undefined || (attribute.name !== "value_float" && attribute.name !== "value_floats")) return node;
  const values = attribute.name === "value_float" ? [attribute.f ?? 0] : [...(attribute.floats ?? [])];
  const dims = attribute.name === "value_float" ? [] : [values.length];
  return { ...node, attribute: [{ name: "value", type: onnx.AttributeProto.AttributeType.TENSOR, t: { dims, dataType: ElementType.DOUBLE, doubleData: values } }] };
}
