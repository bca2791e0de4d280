/**
 * max_pool2d as torch.nn.functional.max_pool2d on [N, C, H, W]: kernel_size, stride (default the
 * kernel), padding (implicit −∞, at most half the kernel), dilation, ceil_mode. The gradient goes
 * to each window's maximum, and where a window holds equal maxima, to the first in row-major
 * order, as PyTorch's CPU kernel does.
 *
 * tfjs's MaxPoolGrad is not used: tfjs-backend-wasm's takes the last of equal maxima (a 4×4 of
 * ties, 3×3 windows, padding 1: 9 of 16 gradients land elsewhere than PyTorch's) and drops the
 * gradient of a window whose only element is a 0 at the input's last position (1×1 windows,
 * stride 2); tfjs-backend-cpu's takes the first maximum but gives a window of −∞ no gradient, where
 * PyTorch gives it to the window's first element (measured on tfjs 4.22). Instead the op pools by
 * windows: where they tile the input (stride = kernel, no padding: LeNet's pools) as a reshape,
 * otherwise as channels of a one-hot conv (pool_windows.ts, which also takes dilation). Either way
 * tf.argMax finds each window's first maximum, saved as an int32 index, and oneHot routes dy back
 * (by the reshape, or by the conv's transpose). On cpu and wasm, max_pool2d_host.ts does it all
 * with loops over the tensors' storage, as PyTorch's CPU kernel does.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import { hostBackend } from "../host/host_tensors";
import { maxPool2dHostBackward, maxPool2dHostForward } from "./max_pool2d_host";
import { FLOAT32_MAX, tapsBack, windowTaps, type Geometry } from "./pool_windows";
import { booleanOf, checkInput4d, outputLength, pairOf, show, type Pads, type Pair } from "./window";

const OP = "max_pool2d";

export const MaxPool2dF = defineFunction<[tf.Tensor4D, Pair, Pair, Pads, Pair, boolean]>({
  name: OP,
  inputNames: ["input", "kernel_size", "stride", "padding", "dilation", "ceil_mode"],
  forward(ctx, x, kernel, stride, pads, dilation, ceilMode) {
    const g = poolGeometry(OP, x, kernel, stride, pads, dilation, ceilMode);
    ctx.attributes.set("geometry", g);
    const host = hostBackend();
    if (host) return maxPool2dHostForward(host, ctx, x, g);
    // tfjs-backend-wasm's Transpose and Conv2D throw "divide by zero" on an empty batch, which has nothing to pool.
    if (x.size === 0) return tf.zeros([...x.shape.slice(0, 2), ...g.out]);
    if (tiles(g)) {
      const [n, c, h, w] = x.shape;
      const [oh, ow] = g.out;
      const [kh, kw] = kernel;
      const covered = oh * kh === h && ow * kw === w ? x : tf.slice(x, [0, 0, 0, 0], [n, c, oh * kh, ow * kw]);
      const windows = tf.reshape(tf.transpose(tf.reshape(covered, [n * c * oh, kh, ow, kw]), [0, 2, 1, 3]), [n * c * oh * ow, kh * kw]);
      // tf.argMax returns the first of equal maxima (−∞ too) on cpu and wasm (measured), as PyTorch routes.
      ctx.saveForBackward(tf.argMax(windows, 1));
      ctx.attributes.set("tiles", true);
      return tf.reshape(tf.max(windows, 1), [n, c, oh, ow]);
    }
    const taps = windowTaps(x, g, -Infinity);
    ctx.saveForBackward(tf.argMax(taps, 3));
    const [n, c] = x.shape;
    // The taps were clipped to ±FLOAT32_MAX: a maximum there was ±∞ (an input of exactly ±FLOAT32_MAX aside).
    const best = tf.max(taps, 3);
    const restored = tf.where(tf.greaterEqual(best, FLOAT32_MAX), tf.fill(best.shape, Infinity), tf.where(tf.lessEqual(best, -FLOAT32_MAX), tf.fill(best.shape, -Infinity), best));
    return tf.reshape(restored, [n, c, ...g.out]);
  },
  backward(ctx, dy) {
    const g = ctx.attributes.get("geometry") as Geometry;
    if (ctx.attributes.has("host")) return maxPool2dHostBackward(ctx, dy, g);
    if (dy.size === 0) return tf.zeros(g.input);
    if (ctx.attributes.get("tiles") === true) {
      const [argmax] = ctx.saved as [tf.Tensor1D];
      const [n, c, h, w] = g.input;
      const [oh, ow] = g.out;
      const [kh, kw] = g.kernel;
      // oneHot's int32 cast, not oneHot(…, "float32"): tfjs-backend-wasm 4.22 writes that one's ones as int bits (1.4e-45).
      const column = tf.reshape(dy, [-1, 1]);
      const routed = kh * kw === 1 ? column : tf.mul(tf.cast(tf.oneHot(argmax, kh * kw), "float32"), column);
      const dx = tf.reshape(tf.transpose(tf.reshape(routed, [n * c * oh, ow, kh, kw]), [0, 2, 1, 3]), [n, c, oh * kh, ow * kw]);
      return oh * kh === h && ow * kw === w ? dx : tf.pad(dx, [[0, 0], [0, 0], [0, h - oh * kh], [0, w - ow * kw]]);
    }
    const [argmax] = ctx.saved as [tf.Tensor3D];
    const k = g.kernel[0] * g.kernel[1];
    const [n, c] = g.input;
    const dyTaps = tf.reshape(dy, [n * c, ...g.out, 1]) as tf.Tensor4D;
    // A 1×1 window has one tap (and tf.oneHot wants a depth of 2 or more).
    return tapsBack(k === 1 ? dyTaps : (tf.mul(tf.cast(tf.oneHot(argmax, k), "float32"), dyTaps) as tf.Tensor4D), g);
  },
  symbolic(g, x, kernel, stride, pads, dilation, ceilMode) {
    return this.lower!(g, x, kernel, stride, pads, dilation, ceilMode);
  },
  lower(g, x, kernel, stride, pads, dilation, ceilMode) {
    return g.op("MaxPool", x!, { kernel_shape_i: [...kernel], strides_i: [...stride], pads_i: [...pads], dilations_i: [...dilation], ceil_mode_i: ceilMode ? 1 : 0 });
  },
});

export interface MaxPool2dOptions {
  /** Default: kernelSize. */
  stride?: number | Pair | null;
  padding?: number | Pair;
  dilation?: number | Pair;
  ceilMode?: boolean;
}

/** torch.nn.functional.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode). */
export function maxPool2d(input: tf.Tensor, kernelSize: number | Pair, options: MaxPool2dOptions = {}): tf.Tensor4D {
  const x = checkInput4d(OP, "input", input);
  const kernel = pairOf(OP, "kernel_size", kernelSize, 1);
  const stride = options.stride === undefined || options.stride === null ? kernel : pairOf(OP, "stride", options.stride, 1);
  const [ph, pw] = pairOf(OP, "padding", options.padding ?? 0, 0);
  const dilation = pairOf(OP, "dilation", options.dilation ?? 1, 1);
  const ceilMode = booleanOf(OP, "ceil_mode", options.ceilMode ?? false);
  const pads: Pads = [ph, pw, ph, pw];
  poolGeometry(OP, x, kernel, stride, pads, dilation, ceilMode);
  return MaxPool2dF.apply(x, kernel, stride, pads, dilation, ceilMode) as tf.Tensor4D;
}

/**
 * The checks PyTorch makes (padding at most half the kernel, an output of at least 1×1) and the
 * output size, shared by max_pool2d and avg_pool2d.
 */
export function poolGeometry(op: string, x: tf.Tensor4D, kernel: Pair, stride: Pair, pads: Pads, dilation: Pair, ceilMode: boolean): Geometry {
  checkInput4d(op, "input", x);
  pairOf(op, "kernel_size", kernel, 1);
  pairOf(op, "stride", stride, 1);
  pairOf(op, "dilation", dilation, 1);
  booleanOf(op, "ceil_mode", ceilMode);
  if (!Array.isArray(pads) || pads.length !== 4 || !pads.every((p) => Number.isInteger(p) && p >= 0)) {
    throw new RangeError(`${op}: padding must be 4 integers ≥ 0 [top, left, bottom, right], got ${show(pads)}`);
  }
  if (pads[0] > kernel[0] / 2 || pads[1] > kernel[1] / 2 || pads[2] > kernel[0] / 2 || pads[3] > kernel[1] / 2) {
    throw new RangeError(`${op}: padding ${show(pads[0] === pads[2] && pads[1] === pads[3] ? [pads[0], pads[1]] : pads)} is more than half of kernel_size ${show(kernel)}; expected padding ≤ kernel_size / 2 (as PyTorch)`);
  }
  const [, , h, w] = x.shape;
  const out = [0, 1].map((i) => outputLength(x.shape[2 + i]!, pads[i]!, pads[i + 2]!, kernel[i]!, stride[i]!, dilation[i]!, ceilMode)) as Pair;
  if (out[0] < 1 || out[1] < 1) {
    throw new RangeError(
      `${op}: input ${h}×${w} with kernel_size ${show(kernel)}, dilation ${show(dilation)} and padding ${show([pads[0], pads[1]])} gives an output of ${out[0]}×${out[1]}; expected at least 1×1 (the window must fit in the padded input)`,
    );
  }
  return { input: x.shape, kernel, stride, dilation, pads, out };
}

/**
 * Windows that tile the input without overlap or padding (stride = kernel, dilation 1, no padding;
 * trailing rows a floor leaves out are fine): the windows are a reshape and a transpose of the input,
 * and one argMax finds each window's first maximum. LeNet's MaxPool2d(2) is such a case.
 */
function tiles(g: Geometry): boolean {
  return g.stride[0] === g.kernel[0] && g.stride[1] === g.kernel[1] && g.dilation[0] === 1 && g.dilation[1] === 1 && g.pads.every((p) => p === 0) && [0, 1].every((i) => g.out[i]! * g.kernel[i]! <= g.input[2 + i]!);
}

/**
 * The explicit padding under which tfjs's pooling kernels give exactly this geometry's windows
 * (dilation 1): ceil_mode's extra windows as extra end padding. With it tfjs's output size,
 * ⌊(H + top + end − K) / S⌋ + 1, is PyTorch's: the end is at least what the last window needs, and
 * less than a stride more (PyTorch's ceil output is never below its floor output).
 */
export function tfjsPads(g: Geometry): Pads {
  const end = (i: 0 | 1) => Math.max(g.pads[2 + i]!, (g.out[i] - 1) * g.stride[i] + g.kernel[i] - g.input[2 + i]! - g.pads[i]);
  return [g.pads[0], g.pads[1], end(0), end(1)];
}
