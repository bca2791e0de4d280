/**
 * Mean squared error with torch.nn.MSELoss's semantics: reductions "mean" | "sum" | "none";
 * shapes that differ broadcast as in PyTorch, with PyTorch's warning, shown once.
 */
import * as tf from "@tensorflow/tfjs";
import { broadcastShapes } from "../shape";
import { warnOnce } from "../warnings";

export type Reduction = "mean" | "sum" | "none";
const REDUCTIONS: readonly Reduction[] = ["mean", "sum", "none"];

export function mseLoss(input: tf.Tensor, target: tf.Tensor, reduction: Reduction = "mean"): tf.Tensor {
  if (!REDUCTIONS.includes(reduction)) {
    throw new RangeError(`mseLoss: reduction must be one of ${REDUCTIONS.map((r) => `"${r}"`).join(", ")}, got ${JSON.stringify(reduction)}`);
  }
  checkBroadcast(input.shape, target.shape);
  return tf.tidy(() => {
    const squared = tf.squaredDifference(input, target);
    if (reduction === "none") return squared;
    return reduction === "sum" ? tf.sum(squared) : tf.mean(squared);
  });
}

export class MSELoss {
  constructor(readonly reduction: Reduction = "mean") {
    if (!REDUCTIONS.includes(reduction)) {
      throw new RangeError(`MSELoss: reduction must be one of ${REDUCTIONS.map((r) => `"${r}"`).join(", ")}, got ${JSON.stringify(reduction)}`);
    }
  }

  forward(input: tf.Tensor, target: tf.Tensor): tf.Tensor {
    return mseLoss(input, target, this.reduction);
  }
}

function checkBroadcast(input: number[], target: number[]): void {
  if (input.length === target.length && input.every((d, i) => d === target[i])) return;
  warnOnce(
    `Using a target size (${torchSize(target)}) that is different to the input size (${torchSize(input)}). ` +
      "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.",
  );
  if (broadcastShapes(input, target) !== null) return;
  // PyTorch's own wording, which names the first axis (from the right) that disagrees.
  const rank = Math.max(input.length, target.length);
  for (let i = rank - 1; i >= 0; i--) {
    const a = input[input.length - rank + i] ?? 1;
    const b = target[target.length - rank + i] ?? 1;
    if (a !== b && a !== 1 && b !== 1) {
      throw new RangeError(`MSELoss: the size of tensor a (${a}) must match the size of tensor b (${b}) at non-singleton dimension ${i} (input ${torchSize(input)}, target ${torchSize(target)})`);
    }
  }
}

function torchSize(shape: number[]): string {
  return `torch.Size([${shape.join(", ")}])`;
}
