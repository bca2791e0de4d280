/**
 * A user's defineFunction op as the importer's op, for importOnnx(file, { ops: { MYOP: fn } }):
 * the node runs fn.apply, so the op's own forward and backward (not a lowered body) compute it,
 * and the imported model trains through it. ONNX node attributes become the op's non-tensor
 * arguments: an argument named in the definition's inputNames takes the attribute of that name;
 * the node's inputs fill the other places in order; attributes no name claims follow, in the
 * node's order. Output shapes are not known until the op runs, so the budgets check what follows.
 */
import * as tf from "@tensorflow/tfjs";
import type { Attribute, CustomFunction } from "../function";
import { OnnxImportError } from "./errors";
import type { Attrs } from "./import_ops/attributes";
import type { ImportOp } from "./import_ops/op";
import { T } from "./import_ops/values";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type UserOp = CustomFunction<any, any>;

export function userOps(ops: Readonly<Record<string, UserOp>> | undefined): Map<string, ImportOp> {
  const out = new Map<string, ImportOp>();
  for (const [name, fn] of Object.entries(ops ?? {})) {
    if (!fn || typeof (fn as UserOp).apply !== "function" || typeof (fn as UserOp).definition !== "object") {
      throw new OnnxImportError(`importOnnx options.ops.${name} must be an op made by defineFunction, got ${fn === null ? "null" : typeof fn}`);
    }
    out.set(name, userOp(fn));
  }
  return out;
}

function userOp(fn: UserOp): ImportOp {
  return {
    inputs: [0, Infinity],
    outputs: [1, Infinity],
    attributes: "any",
    infer: (ins, _a, ctx) => Array.from({ length: ctx.outputs }, () => ({ dtype: ins.find((v) => v)?.dtype ?? T.FLOAT, shape: null })),
    run(xs, a) {
      const y = fn.apply(...argumentsOf(fn, xs, a));
      return Array.isArray(y) ? y : [y];
    },
  };
}

function argumentsOf(fn: UserOp, xs: readonly (tf.Tensor | null)[], a: Attrs): (tf.Tensor | Attribute)[] {
  const names = fn.definition.inputNames ?? [];
  const tensors = xs.filter((x): x is tf.Tensor => x !== null);
  const claimed = new Set<string>();
  const args: (tf.Tensor | Attribute)[] = [];
  let next = 0;
  for (const name of names) {
    if (a.has(name)) {
      args.push(attributeArg(a.values.get(name)!));
      claimed.add(name);
    } else if (next < tensors.length) args.push(tensors[next++]!);
  }
  args.push(...tensors.slice(next));
  for (const [name, value] of a.values) if (!claimed.has(name)) args.push(attributeArg(value));
  return args;
}

function attributeArg(value: unknown): Attribute {
  if (typeof value === "number" || typeof value === "string" || Array.isArray(value)) return value as Attribute;
  const t = value as { values: ArrayLike<number> };
  return Array.from(t.values);
}
