/**
 * Limits on what an imported file may make gradlab allocate, checked before the allocation: a
 * hostile or mistaken file (a broadcast Add of two 64 KB vectors into a 1 GiB matrix, 20 000 Relus
 * on a large input, functions that call each other twice at each of 16 levels) is refused at once,
 * naming the budget, the node and the figure, instead of exhausting memory minutes later.
 *
 * The defaults fit a machine with 24 GiB: no tensor past 2²⁷ elements (512 MiB of float32) and at
 * most 2³⁰ elements (4 GiB) created in one forward, which training's saved activations roughly
 * double or triple; 50 000 nodes (PyTorch writes one nn.TransformerEncoderLayer as about 110, so
 * that is over 400 such layers). Override any of them in importOnnx's options.
 */
import { OnnxImportError } from "./errors";

export interface ImportBudgets {
  /** Elements of any one tensor the graph would create. */
  maxTensorElements: number;
  /** Elements of all the tensors one forward creates, together. */
  maxTotalElements: number;
  /** Nodes once model-local functions are inlined. */
  maxNodes: number;
  /** How deep model-local functions may call each other. */
  maxFunctionDepth: number;
  /** Characters in any name (node, value, function, initializer). */
  maxNameLength: number;
}

export const DEFAULT_BUDGETS: Readonly<ImportBudgets> = {
  maxTensorElements: 2 ** 27,
  maxTotalElements: 2 ** 30,
  maxNodes: 50_000,
  maxFunctionDepth: 32,
  maxNameLength: 4096,
};

/** The defaults with the caller's overrides, each checked to be a positive integer. */
export function resolveBudgets(given: Partial<ImportBudgets> | undefined): ImportBudgets {
  const out = { ...DEFAULT_BUDGETS };
  for (const [key, value] of Object.entries(given ?? {})) {
    if (!Object.hasOwn(DEFAULT_BUDGETS, key)) throw new OnnxImportError(`unknown budget "${key}"; importOnnx's budgets are ${Object.keys(DEFAULT_BUDGETS).join(", ")}`);
    if (typeof value !== "number" || !(value >= 1) || !Number.isInteger(value)) throw new OnnxImportError(`budget ${key} must be a positive integer, got ${String(value)}`);
    out[key as keyof ImportBudgets] = value;
  }
  return out;
}

/** The error for a budget exceeded: which budget, where, the figure and the limit. */
export function overBudget(budget: keyof ImportBudgets, where: string, figure: string, limit: number): OnnxImportError {
  return new OnnxImportError(
    `budget ${budget} exceeded at ${where}: ${figure}; the budget is ${limit} (raise it with importOnnx(file, { budgets: { ${budget}: … } }) if the file is trusted)`,
  );
}
