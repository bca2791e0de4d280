/**
 * An ONNX model as plain data and as text: inputs, outputs and initializers with their types and
 * shapes, the nodes, and the bodies of model-local functions. For notebooks and the CLI, to show
 * what an export wrote (or what another tool did) without an ONNX viewer. It only decodes, so it
 * describes models gradlab cannot run too.
 */
import { decodeModel } from "./decode";
import { modelBytes } from "./import";
import { dataTypeName, int64ToNumber, onnx, type OnnxTypes } from "./proto";

export interface OnnxValueDescription {
  name: string;
  dtype: string;
  /** Sizes, dimension names (dynamic axes), or null where unknown. */
  shape: (number | string | null)[];
}

export type OnnxAttributeValue = number | string | number[] | string[];

export interface OnnxNodeDescription {
  name: string;
  opType: string;
  /** "" for the default ONNX domain. */
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, OnnxAttributeValue>;
}

export interface OnnxFunctionDescription {
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  nodes: OnnxNodeDescription[];
}

export interface OnnxModelDescription {
  bytes: number;
  irVersion: number | null;
  producer: string;
  /** Domain ("" for the default one) → opset version. */
  opsets: Record<string, number | null>;
  /** Graph inputs; PyTorch also lists its weights here, marked `initialized`. */
  inputs: (OnnxValueDescription & { initialized: boolean })[];
  outputs: OnnxValueDescription[];
  initializers: OnnxValueDescription[];
  nodes: OnnxNodeDescription[];
  functions: OnnxFunctionDescription[];
}

export function describeOnnx(source: string | Uint8Array | ArrayBuffer): OnnxModelDescription {
  const bytes = modelBytes(source);
  const model = decodeModel(bytes);
  const graph = model.graph!;
  const initialized = new Set((graph.initializer ?? []).map((t) => t.name ?? ""));
  return {
    bytes: bytes.length,
    irVersion: int64ToNumber(model.irVersion),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(" "),
    opsets: Object.fromEntries((model.opsetImport ?? []).map((o) => [o.domain ?? "", int64ToNumber(o.version)])),
    inputs: (graph.input ?? []).map((v) => ({ ...valueDescription(v), initialized: initialized.has(v.name ?? "") })),
    outputs: (graph.output ?? []).map(valueDescription),
    initializers: (graph.initializer ?? []).map((t) => ({
      name: t.name ?? "",
      dtype: dataTypeName(t.dataType),
      shape: (t.dims ?? []).map((d) => int64ToNumber(d)),
    })),
    nodes: (graph.node ?? []).map(nodeDescription),
    functions: (model.functions ?? []).map((f) => ({
      domain: f.domain ?? "",
      name: f.name ?? "",
      inputs: f.input ?? [],
      outputs: f.output ?? [],
      nodes: (f.node ?? []).map(nodeDescription),
    })),
  };
}

/** The description as a few readable lines (what a notebook cell prints). */
export function formatOnnxDescription(d: OnnxModelDescription): string {
  const opsets = Object.entries(d.opsets).map(([domain, v]) => `${domain || "ai.onnx"} ${v}`).join(", ");
  const value = (v: OnnxValueDescription) => `${v.name}: ${v.dtype} [${v.shape.map((s) => s ?? "?").join(", ")}]`;
  const lines = [`ONNX model, IR ${d.irVersion}, ${d.producer || "unknown producer"}, opsets ${opsets || "none"} (${d.bytes} bytes)`];
  const section = (title: string, items: string[]) => {
    if (items.length > 0) lines.push(`${title}:`, ...items.map((s) => `  ${s}`));
  };
  section("inputs", d.inputs.map((v) => value(v) + (v.initialized ? "  (has an initializer: a weight)" : "")));
  section("outputs", d.outputs.map(value));
  section("initializers", d.initializers.map(value));
  section("nodes", d.nodes.map(formatNode));
  for (const f of d.functions) {
    section(`function ${f.domain ? `${f.domain}.` : ""}${f.name}(${f.inputs.join(", ")}) → ${f.outputs.join(", ")}`, f.nodes.map(formatNode));
  }
  return lines.join("\n");
}

function formatNode(n: OnnxNodeDescription): string {
  const attributes = Object.entries(n.attributes).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  const call = `${n.domain ? `${n.domain}.` : ""}${n.opType}(${n.inputs.join(", ")})`;
  return `${n.outputs.join(", ")} = ${call}${attributes.length ? ` {${attributes.join(", ")}}` : ""}`;
}

function valueDescription(v: OnnxTypes.IValueInfoProto): OnnxValueDescription {
  const tensor = v.type?.tensorType;
  return {
    name: v.name ?? "",
    dtype: tensor ? dataTypeName(tensor.elemType) : "not a tensor",
    shape: (tensor?.shape?.dim ?? []).map((dim) => dim.dimParam || (dim.dimValue === null || dim.dimValue === undefined ? null : int64ToNumber(dim.dimValue))),
  };
}

const AttributeType = onnx.AttributeProto.AttributeType;
const utf8 = new TextDecoder();

function nodeDescription(n: OnnxTypes.INodeProto): OnnxNodeDescription {
  const attributes: Record<string, OnnxAttributeValue> = {};
  for (const a of n.attribute ?? []) {
    const name = a.name ?? "";
    switch (a.type) {
      case AttributeType.INT: attributes[name] = int64ToNumber(a.i) ?? Number.NaN; break;
      case AttributeType.FLOAT: attributes[name] = a.f ?? 0; break;
      case AttributeType.STRING: attributes[name] = utf8.decode(a.s ?? new Uint8Array()); break;
      case AttributeType.INTS: attributes[name] = (a.ints ?? []).map((i) => int64ToNumber(i) ?? Number.NaN); break;
      case AttributeType.FLOATS: attributes[name] = a.floats ?? []; break;
      case AttributeType.STRINGS: attributes[name] = (a.strings ?? []).map((s) => utf8.decode(s)); break;
      default: attributes[name] = a.refAttrName ? `@${a.refAttrName}` : `<attribute type ${a.type}>`;
    }
  }
  return { name: n.name ?? "", opType: n.opType ?? "", domain: n.domain ?? "", inputs: n.input ?? [], outputs: n.output ?? [], attributes };
}
