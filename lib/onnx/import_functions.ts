/**
 * Model-local functions (ModelProto.functions, any domain) inlined, so the importer runs one flat
 * list of nodes: a call's formal inputs and outputs become the caller's values, the body's own
 * values get the call's unique prefix (function bodies are closed scopes), and attributes that
 * refer to the call's (ref_attr_name) take the caller's values.
 *
 * Before anything is expanded, each function's inlined size and nesting depth are counted once
 * (memoised over the call graph), so functions calling each other twice at each of 16 levels are
 * refused at once with the figure, instead of expanding 2¹⁶-fold; recursion is refused by name.
 */
import { overBudget, type ImportBudgets } from "./import_budgets";
import { OnnxImportError } from "./errors";
import type { OnnxTypes } from "./proto";

export interface FlatNode {
  /** The node's name (or #index), behind the (shortened) label of the call it came from. */
  label: string;
  opType: string;
  domain: string;
  /** "" marks an absent optional input. */
  inputs: string[];
  outputs: string[];
  attributes: OnnxTypes.IAttributeProto[];
}

/** Labels of nested calls keep their last characters only: depth × name length must not grow memory. */
const MAX_LABEL = 200;

export function expandFunctions(
  nodes: readonly OnnxTypes.INodeProto[],
  functions: readonly OnnxTypes.IFunctionProto[],
  budgets: ImportBudgets,
  /** Op types the caller runs itself (importOnnx's `ops`): their function bodies are not inlined. */
  userOps: ReadonlySet<string> = new Set(),
): FlatNode[] {
  const table = new Map<string, OnnxTypes.IFunctionProto>();
  for (const f of functions) {
    if (userOps.has(f.name ?? "")) continue;
    const key = keyOf(f.domain, f.name);
    checkName(f.name, `function ${describeKey(key)}`, budgets);
    if (table.has(key)) throw new OnnxImportError(`the model defines function ${describeKey(key)} twice`);
    table.set(key, f);
  }

  // Inlined size and depth of every function, counted over the call graph without expanding it.
  const size = new Map<string, number>();
  const depth = new Map<string, number>();
  const measure = (key: string, stack: string[]): void => {
    if (size.has(key)) return;
    if (stack.includes(key)) throw new OnnxImportError(`function ${describeKey(key)} calls itself (via ${[...stack, key].map(describeKey).join(" → ")}); ONNX functions may not recurse`);
    let n = 0, d = 0;
    for (const node of table.get(key)!.node ?? []) {
      const callee = keyOf(node.domain, node.opType);
      if (table.has(callee)) {
        measure(callee, [...stack, key]);
        n += size.get(callee)!;
        d = Math.max(d, depth.get(callee)!);
      } else n += 1;
    }
    size.set(key, n);
    depth.set(key, d + 1);
  };
  let total = 0;
  nodes.forEach((node, i) => {
    const key = keyOf(node.domain, node.opType);
    const label = node.name || `#${i}`;
    if (!table.has(key)) return void total++;
    measure(key, []);
    const d = depth.get(key)!;
    if (d > budgets.maxFunctionDepth) throw overBudget("maxFunctionDepth", `node "${label}" (${describeKey(key)})`, `its functions nest ${d} deep`, budgets.maxFunctionDepth);
    total += size.get(key)!;
    if (total > budgets.maxNodes) {
      throw overBudget("maxNodes", `node "${label}" (${describeKey(key)})`, `it inlines to ${size.get(key)} nodes, ${total > 1e15 ? "astronomically many" : total} in the graph so far`, budgets.maxNodes);
    }
  });
  if (total > budgets.maxNodes) throw overBudget("maxNodes", "the main graph", `${total} nodes`, budgets.maxNodes);

  const out: FlatNode[] = [];
  let calls = 0;
  const visit = (body: readonly OnnxTypes.INodeProto[], rename: ((name: string) => string) | null, labelPrefix: string, bound: ReadonlyMap<string, OnnxTypes.IAttributeProto>): void => {
    // The main graph's names stay as they are: no copies of its arrays.
    const top = rename === null;
    body.forEach((node, i) => {
      checkName(node.name, `node #${i} name`, budgets);
      checkName(node.opType, `node #${i} op type`, budgets);
      checkName(node.domain, `node #${i} domain`, budgets);
      const own = node.name || `#${i}`;
      const label = `${labelPrefix}${own.length > MAX_LABEL ? `${own.slice(0, MAX_LABEL)}…` : own}`;
      for (const n of node.input ?? []) checkName(n, `a value of node "${label}"`, budgets);
      for (const n of node.output ?? []) checkName(n, `a value of node "${label}"`, budgets);
      const inputs = top ? (node.input ?? []) : (node.input ?? []).map((n) => (n === "" ? "" : rename!(n)));
      const outputs = top ? (node.output ?? []) : (node.output ?? []).map((n) => (n === "" ? "" : rename!(n)));
      const attributes = bound.size === 0 && top ? (node.attribute ?? []) : substitute(node.attribute ?? [], bound, label);
      const key = keyOf(node.domain, node.opType);
      const fn = table.get(key);
      if (fn === undefined) {
        out.push({ label, opType: node.opType ?? "", domain: node.domain ?? "", inputs, outputs, attributes });
        return;
      }
      const formalIn = fn.input ?? [];
      const formalOut = fn.output ?? [];
      if (inputs.length > formalIn.length || outputs.length > formalOut.length) {
        throw new OnnxImportError(`node "${label}" calls function ${describeKey(key)} with ${inputs.length} inputs and ${outputs.length} outputs; it takes ${formalIn.length} and gives ${formalOut.length}`);
      }
      const declared = new Set(fn.attribute ?? []);
      for (const a of attributes) if (!declared.has(a.name ?? "")) throw new OnnxImportError(`node "${label}" passes attribute "${a.name}" to function ${describeKey(key)}, which declares ${[...declared].join(", ") || "none"}`);
      // The body's own values get short names unique to this call (@call/index), whatever their
      // length in the file: memory stays proportional to the node count, not to name lengths.
      const call = `@${++calls}/`;
      const actual = new Map<string, string>();
      formalIn.forEach((f, j) => actual.set(f, inputs[j] ?? ""));
      formalOut.forEach((f, j) => actual.set(f, outputs[j] || `${call}${actual.size}`));
      const local = (n: string) => {
        let v = actual.get(n);
        if (v === undefined) actual.set(n, (v = `${call}${actual.size}`));
        return v;
      };
      const shortLabel = label.length > MAX_LABEL ? `…${label.slice(-MAX_LABEL)}` : label;
      visit(fn.node ?? [], local, `${shortLabel}/`, new Map(attributes.map((a) => [a.name ?? "", a])));
    });
  };
  visit(nodes, null, "", new Map());
  return out;
}

/** A body node's attributes with ref_attr_name resolved against the call's (absent: left out, so the default applies). */
function substitute(attributes: readonly OnnxTypes.IAttributeProto[], bound: ReadonlyMap<string, OnnxTypes.IAttributeProto>, label: string): OnnxTypes.IAttributeProto[] {
  const out: OnnxTypes.IAttributeProto[] = [];
  for (const a of attributes) {
    if (!a.refAttrName) {
      out.push(a);
      continue;
    }
    const value = bound.get(a.refAttrName);
    if (value === undefined) continue;
    if (value.type !== a.type && a.type) throw new OnnxImportError(`node "${label}": attribute "${a.name}" refers to "${a.refAttrName}" of type ${a.type}, but the call gives type ${value.type}`);
    out.push({ ...value, name: a.name, refAttrName: "" });
  }
  return out;
}

export function checkName(name: string | null | undefined, what: string, budgets: ImportBudgets): void {
  if (name && name.length > budgets.maxNameLength) throw overBudget("maxNameLength", what, `a name of ${name.length} characters ("${name.slice(0, 40)}…")`, budgets.maxNameLength);
}

function keyOf(domain: string | null | undefined, name: string | null | undefined): string {
  return `${domain ?? ""}::${name ?? ""}`;
}

function describeKey(key: string): string {
  const [domain, name] = key.split("::");
  return domain ? `${domain}.${name}` : `${name}`;
}
