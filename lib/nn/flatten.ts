/** Flatten as torch.nn.Flatten: flattens dims start_dim…end_dim (default 1…−1, keeping the batch). */
import type * as tf from "@tensorflow/tfjs";
import { flatten } from "../ops/flatten";
import { show } from "../ops/window";
import { Module } from "./module";

export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
    for (const [label, d] of [["start_dim", startDim], ["end_dim", endDim]] as const) {
      if (!Number.isInteger(d)) throw new RangeError(`Flatten: ${label} must be an integer, got ${show(d)}`);
    }
  }

  forward(x: tf.Tensor): tf.Tensor {
    return flatten(x, this.startDim, this.endDim);
  }

  override toString(): string {
    return `Flatten(start_dim=${this.startDim}, end_dim=${this.endDim})`;
  }
}
