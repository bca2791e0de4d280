/** The seed's MyLinear: a Module holding weight [out, in] and bias [out], applied through LinearF. */
import * as tf from "@tensorflow/tfjs";
import { LinearF } from "../ops/linear";
import { formatShape } from "../shape";
import { defaultGenerator, type Generator } from "../random";
import { kaimingUniformBound, uniform } from "./init";
import { Module } from "./module";
import { Parameter } from "./parameter";

export interface LinearOptions {
  /**
   * "uniform": the seed's U[0, 1) for weight and bias.
   * "kaiming" (default): torch.nn.Linear's kaiming-uniform (a = √5) and its bias bound.
   */
  init?: "uniform" | "kaiming";
  generator?: Generator;
}

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LinearOptions = {}) {
    super();
    for (const [label, n] of [["inFeatures", inFeatures], ["outFeatures", outFeatures]] as const) {
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`Linear: ${label} must be a positive integer, got ${n}`);
    }
    const init = options.init ?? "kaiming";
    if (init !== "uniform" && init !== "kaiming") throw new RangeError(`Linear: init must be "uniform" or "kaiming", got ${JSON.stringify(init)}`);
    const generator = options.generator ?? defaultGenerator;
    const bound = init === "kaiming" ? kaimingUniformBound(inFeatures) : 0;
    const [low, high] = init === "kaiming" ? [-bound, bound] : [0, 1];
    this.weight = Parameter.adopt(uniform([outFeatures, inFeatures], low, high, generator));
    this.bias = Parameter.adopt(uniform([outFeatures], low, high, generator));
  }

  forward(x: tf.Tensor): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) {
      throw new RangeError(`${this}: expected input of shape [batch, ${this.inFeatures}], got ${formatShape(x.shape)}`);
    }
    return LinearF.apply(x as tf.Tensor2D, this.weight.value as tf.Tensor2D, this.bias.value as tf.Tensor1D) as tf.Tensor2D;
  }

  override toString(): string {
    return `Linear(in=${this.inFeatures}, out=${this.outFeatures})`;
  }
}
