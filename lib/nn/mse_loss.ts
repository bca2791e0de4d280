/**
 * Mean squared error with torch.nn.MSELoss's semantics: reductions "mean" | "sum" | "none";
 * shapes that differ broadcast as in PyTorch, with PyTorch's warning, shown once.
 *
 * The loss is one differentiable op (tf.customGrad) with its gradient written out, rather than
 * squaredDifference + mean on the tape: fewer tape nodes, kernels and saved copies per call
 * (it runs once per training step), and gradients that are reduced to each operand's own shape
 * when the two broadcast (tfjs's SquaredDifference gradient is not, and fails there).
 * Values and gradients are the same float32 numbers the composed ops give.
 */
import * as tf from "@tensorflow/tfjs";
import { hostBackend } from "../host/host_tensors";
import { mseBackwardHost, mseForwardHost } from "../host/mse_host";
import { broadcastShapes, shapesEqual } from "../shape";
import { warnOnce } from "../warnings";

export type Reduction = "mean" | "sum" | "none";
const REDUCTIONS: readonly Reduction[] = ["mean", "sum", "none"];

/**
 * torch.nn.functional.mse_loss(input, target, reduction="mean"): the reduction positionally, or
 * as `{ reduction }` like the other losses' keywords.
 */
export function mseLoss(input: tf.Tensor, target: tf.Tensor, options: Reduction | { reduction?: Reduction } = "mean"): tf.Tensor {
  const reduction = reductionOf("mseLoss", options);
  if (reduction !== "mean" && reduction !== "sum" && reduction !== "none") {
    throw new RangeError(`mseLoss: reduction must be one of ${REDUCTIONS.map((r) => `"${r}"`).join(", ")}, got ${JSON.stringify(reduction)}`);
  }
  checkBroadcast(input.shape, target.shape);
  return MSE_OPS[reduction](input, target);
}

type MseOp = (input: tf.Tensor, target: tf.Tensor) => tf.Tensor;

/** Reduce over every axis, as tf.sum(x) / tf.mean(x) ask their kernels to. */
const ALL_AXES = { axis: null, keepDims: false } as unknown as tf.NamedAttrMap;

/** One customGrad op per reduction, made once. */
const MSE_OPS: Record<Reduction, MseOp> = {
  mean: makeMseOp("mean"),
  sum: makeMseOp("sum"),
  none: makeMseOp("none"),
};

function makeMseOp(reduction: Reduction): MseOp {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, target, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const host = hostBackend();
    if (host !== null && input.dtype === "float32" && target.dtype === "float32" && input.size > 0 && shapesEqual(input.shape, target.shape)) {
      const { value, diff } = mseForwardHost(host, input, target, reduction);
      save([diff]);
      return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => mseBackwardHost(host, dy, saved[0]!, reduction) };
    }
    let squared: tf.Tensor, diff: tf.Tensor;
    if (input.dtype === target.dtype) {
      // Same dtype: the kernels directly (they broadcast; the shapes were checked above).
      const engine = tf.engine();
      squared = engine.runKernel(tf.SquaredDifference, { a: input, b: target }) as tf.Tensor;
      diff = engine.runKernel(tf.Sub, { a: input, b: target }) as tf.Tensor;
    } else {
      squared = tf.squaredDifference(input, target); // the op wrappers reconcile the dtypes
      diff = tf.sub(input, target);
    }
    // torch: the mean of nothing is nan, the sum 0. tfjs's Mean kernel gives 0 on cpu and reads
    // uninitialised memory on wasm (3.6e-41), so an empty input is answered here.
    const value =
      reduction === "none"
        ? squared
        : squared.size === 0
          ? tf.scalar(reduction === "mean" ? Number.NaN : 0)
          : (tf.engine().runKernel(reduction === "sum" ? tf.Sum : tf.Mean, { x: squared }, ALL_AXES) as tf.Tensor);
    // Backward needs only input − target: one saved copy instead of two.
    save([diff]);
    const count = squared.size;
    const inputShape = input.shape;
    const targetShape = target.shape;
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        // d/d(input) = 2·(input − target)·dy, divided by the element count for "mean";
        // d/d(target) is its negation. dy/(n/2) equals 2·(dy/n) exactly (a power-of-two scale),
        // so these are the same float32 numbers the chain mean → squaredDifference gives.
        // Kernels run through the engine directly: float32 tensors of known shapes, for which
        // the op wrappers' conversions and per-call scopes would only add time.
        const engine = tf.engine();
        const factor = tf.scalar(reduction === "mean" ? count / 2 : 2);
        const scale = engine.runKernel(reduction === "mean" ? tf.RealDiv : tf.Multiply, { a: dy, b: factor }) as tf.Tensor;
        const g = engine.runKernel(tf.Multiply, { a: saved[0]!, b: scale }) as tf.Tensor;
        const gTarget = engine.runKernel(tf.Neg, { x: reduceTo(g, targetShape) }) as tf.Tensor;
        return [reduceTo(g, inputShape), gTarget];
      },
    };
  });
  return op as unknown as MseOp;
}

/** Sums a broadcast gradient back to an operand's shape (a reshape when only size-1 axes go). */
function reduceTo(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const axes = tf.backend_util.getReductionAxes(shape, g.shape);
  const summed = axes.some((axis) => g.shape[axis] !== 1) ? tf.sum(g, axes) : g;
  return tf.engine().runKernel(tf.Reshape, { x: summed }, { shape }) as tf.Tensor;
}

/** The reduction from `"sum"` or `{ reduction: "sum" }`. */
function reductionOf(where: string, options: Reduction | { reduction?: Reduction }): Reduction {
  // A string (or anything not an object) is the reduction itself; checked by the caller. Written
  // without relying on `!== null` narrowing, which tslab's non-strict compile of lib/ lacks.
  if (typeof options !== "object" || options === null) return options as Reduction;
  const unknown = Object.keys(options).filter((k) => k !== "reduction");
  if (unknown.length > 0) throw new TypeError(`${where}: unknown option "${unknown[0]}"; expected "reduction"`);
  return options.reduction ?? "mean";
}

export class MSELoss {
  readonly reduction: Reduction;
  /** torch.nn.MSELoss(reduction="mean"): `new MSELoss("sum")` or `new MSELoss({ reduction: "sum" })`. */
  constructor(options: Reduction | { reduction?: Reduction } = "mean") {
    const reduction = reductionOf("MSELoss", options);
    this.reduction = reduction;
    if (!REDUCTIONS.includes(reduction)) {
      throw new RangeError(`MSELoss: reduction must be one of ${REDUCTIONS.map((r) => `"${r}"`).join(", ")}, got ${JSON.stringify(reduction)}`);
    }
  }

  forward(input: tf.Tensor, target: tf.Tensor): tf.Tensor {
    return mseLoss(input, target, this.reduction);
  }
}

/**
 * The last mismatched pair that broadcasts, with its warning text: a training loop passes the
 * same pair every step, and building the message each time would cost more than the check.
 */
let lastBroadcast: { input: number[]; target: number[]; message: string } | null = null;

function checkBroadcast(input: number[], target: number[]): void {
  if (shapesEqual(input, target)) return;
  const last = lastBroadcast;
  if (last !== null && shapesEqual(last.input, input) && shapesEqual(last.target, target)) {
    warnOnce(last.message); // shown once per message; again after resetWarnings(), as before
    return;
  }
  const message =
    `Using a target size (${torchSize(target)}) that is different to the input size (${torchSize(input)}). ` +
    "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.";
  warnOnce(message);
  if (broadcastShapes(input, target) !== null) {
    lastBroadcast = { input: [...input], target: [...target], message };
    return;
  }
  // PyTorch's own wording, which names the first axis (from the right) that disagrees.
  const rank = Math.max(input.length, target.length);
  for (let i = rank - 1; i >= 0; i--) {
    const a = input[input.length - rank + i] ?? 1;
    const b = target[target.length - rank + i] ?? 1;
    if (a !== b && a !== 1 && b !== 1) {
      throw new RangeError(`MSELoss: The size of tensor a (${a}) must match the size of tensor b (${b}) at non-singleton dimension ${i} (input ${torchSize(input)}, target ${torchSize(target)})`);
    }
  }
}

function torchSize(shape: number[]): string {
  return `torch.Size([${shape.join(", ")}])`;
}
