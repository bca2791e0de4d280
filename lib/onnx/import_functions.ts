/**
 * Model-local functions (ModelProto.functions) expanded in place, so the importer runs one flat
 * list of nodes: a call's formal inputs and outputs become the caller's values, and the body's
 * own values get names prefixed by the call's path, as ONNX function bodies are closed scopes.
 * A function that calls itself, nesting past MAX_FUNCTION_DEPTH or an expansion past MAX_NODES is
 * an error: a hostile file could otherwise make a small graph expand without end.
 */
import { OnnxImportError } from "./errors";
import type { OnnxTypes } from "./proto";

export const MAX_FUNCTION_DEPTH = 32;
export const MAX_NODES = 100_000;

export interface FlatNode {
  /** The node's name (or #index), behind the names of the function calls it came from. */
  label: string;
  opType: string;
  domain: string;
  /** "" marks an absent optional input. */
  inputs: string[];
  outputs: string[];
  attributes: OnnxTypes.IAttributeProto[];
}

export function expandFunctions(nodes: readonly OnnxTypes.INodeProto[], functions: readonly OnnxTypes.IFunctionProto[]): FlatNode[] {
  const table = new Map<string, OnnxTypes.IFunctionProto>();
  for (const f of functions) {
    const key = keyOf(f.domain, f.name);
    if (table.has(key)) throw new OnnxImportError(`the model defines function ${describeKey(key)} twice`);
    table.set(key, f);
  }
  const out: FlatNode[] = [];
  let visited = 0;

  const visit = (body: readonly OnnxTypes.INodeProto[], rename: (name: string) => string, prefix: string, stack: readonly string[]): void => {
    body.forEach((node, i) => {
      if (++visited > MAX_NODES) throw new OnnxImportError(`the graph has more than ${MAX_NODES} nodes once its functions are expanded; gradlab stops there`);
      const label = `${prefix}${node.name || `#${i}`}`;
      const inputs = (node.input ?? []).map((n) => (n === "" ? "" : rename(n)));
      const outputs = (node.output ?? []).map((n) => (n === "" ? "" : rename(n)));
      const key = keyOf(node.domain, node.opType);
      const fn = table.get(key);
      if (fn === undefined) {
        out.push({ label, opType: node.opType ?? "", domain: node.domain ?? "", inputs, outputs, attributes: node.attribute ?? [] });
        return;
      }
      if (stack.includes(key)) throw new OnnxImportError(`function ${describeKey(key)} calls itself (via ${[...stack, key].map(describeKey).join(" → ")}); ONNX functions may not recurse`);
      if (stack.length >= MAX_FUNCTION_DEPTH) throw new OnnxImportError(`node "${label}": functions nest more than ${MAX_FUNCTION_DEPTH} deep`);
      if ((node.attribute ?? []).length > 0) throw new OnnxImportError(`node "${label}" calls function ${describeKey(key)} with attributes, which gradlab does not support`);
      const formalIn = fn.input ?? [];
      const formalOut = fn.output ?? [];
      if (inputs.length > formalIn.length || outputs.length > formalOut.length) {
        throw new OnnxImportError(
          `node "${label}" calls function ${describeKey(key)} with ${inputs.length} inputs and ${outputs.length} outputs; it takes ${formalIn.length} and gives ${formalOut.length}`,
        );
      }
      const actual = new Map<string, string>();
      formalIn.forEach((f, j) => actual.set(f, inputs[j] ?? ""));
      formalOut.forEach((f, j) => actual.set(f, outputs[j] ?? `${label}/${f}`));
      visit(fn.node ?? [], (n) => actual.get(n) ?? `${label}/${n}`, `${label}/`, [...stack, key]);
    });
  };
  visit(nodes, (n) => n, "", []);
  return out;
}

function keyOf(domain: string | null | undefined, name: string | null | undefined): string {
  return `${domain ?? ""}::${name ?? ""}`;
}

function describeKey(key: string): string {
  const [domain, name] = key.split("::");
  return domain ? `${domain}.${name}` : `${name}`;
}
