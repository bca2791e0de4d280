/**
 * torch.nn.Linear (the seed's MyLinear): weight [out, in] and bias [out], applied through LinearF;
 * with `bias: false`, weight alone, through LinearNoBiasF, and no "bias" in the state dict.
 */
import * as tf from "@tensorflow/tfjs";
import { LinearF } from "../ops/linear";
import { LinearNoBiasF } from "../ops/linear_no_bias";
import { formatShape } from "../shape";
import { defaultGenerator, type Generator } from "../random";
import { kaimingUniformBound, uniform } from "./init";
import { Module } from "./module";
import { Parameter } from "./parameter";

export interface LinearOptions<Bias extends boolean = boolean> {
  /**
   * "uniform": the seed's U[0, 1) for weight and bias.
   * "kaiming" (default): torch.nn.Linear's kaiming-uniform (a = √5) and its bias bound.
   */
  init?: "uniform" | "kaiming";
  generator?: Generator;
  /** Whether to learn an additive bias (default true), as torch's `bias=`. */
  bias?: Bias;
}

/** `Bias` is false for `new Linear(i, o, { bias: false })`, so `layer.bias` is typed null there and a Parameter otherwise. */
export class Linear<Bias extends boolean = true> extends Module {
  readonly weight: Parameter;
  /** null when made with `bias: false`. */
  readonly bias: Bias extends false ? null : Parameter;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LinearOptions<Bias> = {}) {
    super();
    for (const [label, n] of [["inFeatures", inFeatures], ["outFeatures", outFeatures]] as const) {
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`Linear: ${label} must be a positive integer, got ${n}`);
    }
    const init = options.init ?? "kaiming";
    if (init !== "uniform" && init !== "kaiming") throw new RangeError(`Linear: init must be "uniform" or "kaiming", got ${JSON.stringify(init)}`);
    const withBias = options.bias ?? true;
    if (typeof withBias !== "boolean") throw new TypeError(`Linear: bias must be true or false, got ${JSON.stringify(withBias)}`);
    const generator = options.generator ?? defaultGenerator;
    const bound = init === "kaiming" ? kaimingUniformBound(inFeatures) : 0;
    const [low, high] = init === "kaiming" ? [-bound, bound] : [0, 1];
    this.weight = Parameter.adopt(uniform([outFeatures, inFeatures], low, high, generator));
    this.bias = (withBias ? Parameter.adopt(uniform([outFeatures], low, high, generator)) : null) as Bias extends false ? null : Parameter;
  }

  forward(x: tf.Tensor): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) {
      throw new RangeError(`${this}: expected input of shape [batch, ${this.inFeatures}], got ${formatShape(x.shape)}`);
    }
    const bias = this.bias as Parameter | null;
    if (bias === null) return LinearNoBiasF.apply(x as tf.Tensor2D, this.weight.value as tf.Tensor2D) as tf.Tensor2D;
    return LinearF.apply(x as tf.Tensor2D, this.weight.value as tf.Tensor2D, bias.value as tf.Tensor1D) as tf.Tensor2D;
  }

  override toString(): string {
    return `Linear(in=${this.inFeatures}, out=${this.outFeatures}${this.bias === null ? ", bias=false" : ""})`;
  }
}
