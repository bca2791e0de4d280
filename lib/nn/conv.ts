/**
 * Conv2d as torch.nn.Conv2d: weight [out, in/groups, KH, KW] and bias [out] (or none), both
 * initialised as torch does (kaiming_uniform_ with a = √5 for the weight, which is
 * U(±1/√fan_in), and U(±1/√fan_in) for the bias, fan_in = in/groups · KH · KW), applied by conv2d.
 */
import type * as tf from "@tensorflow/tfjs";
import { conv2d, conv2dPads } from "../ops/conv2d";
import { booleanOf, checkOptionKeys, intOf, pairOf, show, tuple, type Pair } from "../ops/window";
import { defaultGenerator, type Generator } from "../random";
import { formatShape } from "../shape";
import { kaimingUniformBound, uniform } from "./init";
import { Module } from "./module";
import { Parameter } from "./parameter";

export interface Conv2dModuleOptions {
  stride?: number | Pair;
  /** An integer or pair added on both sides, "same" (stride 1 only) or "valid" (default 0). */
  padding?: number | Pair | "same" | "valid";
  dilation?: number | Pair;
  groups?: number;
  /** Whether the layer has a bias (default true). */
  bias?: boolean;
  /** Only "zeros" (torch's default; its other modes are not implemented). */
  paddingMode?: "zeros";
  generator?: Generator;
}

const OPTIONS = ["stride", "padding", "dilation", "groups", "bias", "paddingMode", "generator"] as const;

export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair | "same" | "valid";
  readonly dilation: Pair;
  readonly groups: number;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: number | Pair, options: Conv2dModuleOptions = {}) {
    super();
    const op = "Conv2d";
    checkOptionKeys(op, options, OPTIONS);
    intOf(op, "in_channels", inChannels, 1);
    intOf(op, "out_channels", outChannels, 1);
    this.kernelSize = pairOf(op, "kernel_size", kernelSize, 1);
    this.stride = pairOf(op, "stride", options.stride ?? 1, 1);
    this.dilation = pairOf(op, "dilation", options.dilation ?? 1, 1);
    this.groups = intOf(op, "groups", options.groups ?? 1, 1);
    const padding = options.padding ?? 0;
    conv2dPads(op, padding, this.kernelSize, this.stride, this.dilation);
    this.padding = typeof padding === "string" ? padding : pairOf(op, "padding", padding, 0);
    if ((options.paddingMode ?? "zeros") !== "zeros") throw new RangeError(`${op}: padding_mode must be "zeros" (the only one implemented), got ${show(options.paddingMode)}`);
    for (const [label, n] of [["in_channels", inChannels], ["out_channels", outChannels]] as const) {
      if (n % this.groups !== 0) throw new RangeError(`${op}: ${label} ${n} must be divisible by groups ${this.groups}`);
    }
    const hasBias = booleanOf(op, "bias", options.bias ?? true);
    const generator = options.generator ?? defaultGenerator;
    const fanIn = (inChannels / this.groups) * this.kernelSize[0] * this.kernelSize[1];
    const bound = kaimingUniformBound(fanIn);
    this.weight = Parameter.adopt(uniform([outChannels, inChannels / this.groups, ...this.kernelSize], -bound, bound, generator));
    this.bias = hasBias ? Parameter.adopt(uniform([outChannels], -bound, bound, generator)) : null;
  }

  forward(x: tf.Tensor): tf.Tensor4D {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) {
      throw new RangeError(`${this}: expected input of shape [batch, ${this.inChannels}, height, width], got ${formatShape(x.shape)}`);
    }
    const options = { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups };
    return conv2d(x, this.weight.value, this.bias?.value ?? null, options);
  }

  override toString(): string {
    const parts = [`${this.inChannels}, ${this.outChannels}, kernel_size=${tuple(this.kernelSize)}, stride=${tuple(this.stride)}`];
    if (this.padding !== "valid" && (typeof this.padding === "string" || this.padding.some((p) => p !== 0))) parts.push(`padding=${typeof this.padding === "string" ? `'${this.padding}'` : tuple(this.padding)}`);
    if (this.dilation.some((d) => d !== 1)) parts.push(`dilation=${tuple(this.dilation)}`);
    if (this.groups !== 1) parts.push(`groups=${this.groups}`);
    if (this.bias === null) parts.push("bias=False");
    return `Conv2d(${parts.join(", ")})`;
  }
}
