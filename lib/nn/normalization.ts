/** torch.nn.LayerNorm: weight (ones) and bias (zeros) of normalizedShape when elementwiseAffine. */
import * as tf from "@tensorflow/tfjs";
import { checkBoolean, checkNumber, checkOptions } from "../ops/argument_checks";
import { checkNormalizedShape, layerNorm } from "../ops/layer_norm";
import { Module } from "./module";
import { Parameter } from "./parameter";

export interface LayerNormModuleOptions {
  /** Default 1e-5. */
  eps?: number;
  /** Learnable per-element weight and bias (default true). */
  elementwiseAffine?: boolean;
}

export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;

  /** torch.nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True). */
  constructor(normalizedShape: number | readonly number[], options: LayerNormModuleOptions = {}) {
    super();
    checkOptions("LayerNorm", options, ["eps", "elementwiseAffine"]);
    this.normalizedShape = checkNormalizedShape("LayerNorm", normalizedShape);
    this.eps = checkNumber("LayerNorm", "eps", options.eps ?? 1e-5, { min: 0, minOpen: true, text: "positive" });
    this.elementwiseAffine = checkBoolean("LayerNorm", "elementwiseAffine", options.elementwiseAffine ?? true);
    this.weight = this.elementwiseAffine ? Parameter.adopt(tf.ones(this.normalizedShape)) : null;
    this.bias = this.elementwiseAffine ? Parameter.adopt(tf.zeros(this.normalizedShape)) : null;
  }

  forward(input: tf.Tensor): tf.Tensor {
    const affine = this.weight && this.bias ? { weight: this.weight.value, bias: this.bias.value } : {};
    return layerNorm(input, this.normalizedShape, { eps: this.eps, ...affine });
  }

  override toString(): string {
    return `LayerNorm((${this.normalizedShape.join(", ")}${this.normalizedShape.length === 1 ? "," : ""}), eps=${this.eps}, elementwise_affine=${this.elementwiseAffine ? "True" : "False"})`;
  }
}
