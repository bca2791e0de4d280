/** MaxPool2d and AvgPool2d as torch.nn's: each holds its arguments and applies its functional. */
import type * as tf from "@tensorflow/tfjs";
import { avgPool2d, type AvgPool2dOptions } from "../ops/avg_pool2d";
import { maxPool2d, type MaxPool2dOptions } from "../ops/max_pool2d";
import { booleanOf, checkOptionKeys, intOf, pairOf, tuple, type Pair } from "../ops/window";
import { Module } from "./module";

export class MaxPool2d extends Module {
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly ceilMode: boolean;

  constructor(kernelSize: number | Pair, options: MaxPool2dOptions = {}) {
    super();
    const op = "MaxPool2d";
    checkOptionKeys(op, options, ["stride", "padding", "dilation", "ceilMode"]);
    this.kernelSize = pairOf(op, "kernel_size", kernelSize, 1);
    this.stride = options.stride === undefined || options.stride === null ? this.kernelSize : pairOf(op, "stride", options.stride, 1);
    this.padding = halfKernelPadding(op, options.padding ?? 0, this.kernelSize);
    this.dilation = pairOf(op, "dilation", options.dilation ?? 1, 1);
    this.ceilMode = booleanOf(op, "ceil_mode", options.ceilMode ?? false);
  }

  forward(x: tf.Tensor): tf.Tensor4D {
    return maxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding, dilation: this.dilation, ceilMode: this.ceilMode });
  }

  override toString(): string {
    return `MaxPool2d(kernel_size=${tuple(this.kernelSize)}, stride=${tuple(this.stride)}, padding=${tuple(this.padding)}, dilation=${tuple(this.dilation)}, ceil_mode=${this.ceilMode ? "True" : "False"})`;
  }
}

export class AvgPool2d extends Module {
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;

  constructor(kernelSize: number | Pair, options: AvgPool2dOptions = {}) {
    super();
    const op = "AvgPool2d";
    checkOptionKeys(op, options, ["stride", "padding", "ceilMode", "countIncludePad", "divisorOverride"]);
    this.kernelSize = pairOf(op, "kernel_size", kernelSize, 1);
    this.stride = options.stride === undefined || options.stride === null ? this.kernelSize : pairOf(op, "stride", options.stride, 1);
    this.padding = halfKernelPadding(op, options.padding ?? 0, this.kernelSize);
    this.ceilMode = booleanOf(op, "ceil_mode", options.ceilMode ?? false);
    this.countIncludePad = booleanOf(op, "count_include_pad", options.countIncludePad ?? true);
    this.divisorOverride = options.divisorOverride === undefined || options.divisorOverride === null ? null : intOf(op, "divisor_override", options.divisorOverride, 1);
  }

  forward(x: tf.Tensor): tf.Tensor4D {
    const { stride, padding, ceilMode, countIncludePad, divisorOverride } = this;
    return avgPool2d(x, this.kernelSize, { stride, padding, ceilMode, countIncludePad, divisorOverride });
  }

  override toString(): string {
    return `AvgPool2d(kernel_size=${tuple(this.kernelSize)}, stride=${tuple(this.stride)}, padding=${tuple(this.padding)})`;
  }
}

/** Padding ≥ 0 and at most half the kernel (PyTorch checks it at the first forward; here at construction). */
function halfKernelPadding(op: string, padding: unknown, kernel: Pair): Pair {
  const pair = pairOf(op, "padding", padding, 0);
  if (pair[0] > kernel[0] / 2 || pair[1] > kernel[1] / 2) {
    throw new RangeError(`${op}: padding ${tuple(pair)} is more than half of kernel_size ${tuple(kernel)}; expected padding ≤ kernel_size / 2 (as PyTorch)`);
  }
  return pair;
}
