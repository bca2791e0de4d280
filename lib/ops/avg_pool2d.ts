/**
 * avg_pool2d as torch.nn.functional.avg_pool2d on [N, C, H, W]: kernel_size, stride (default the
 * kernel), padding (zeros, at most half the kernel), ceil_mode, count_include_pad (default true:
 * padding counts in the divisor, the overhang of ceil_mode's last window does not), and
 * divisor_override.
 *
 * Without padding or ceil_mode overhang, every window divides by kernel_size, which is what
 * tfjs's AvgPool (NHWC, transposed in and out) and its AvgPoolGrad compute, so those run.
 * Otherwise the divisors differ from tfjs's (it never counts padding), and the op sums the
 * windows itself (pool_windows.ts) and multiplies by PyTorch's divisors, computed on the host
 * once per call from the geometry alone.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import { poolGeometry } from "./max_pool2d";
import { gatherBack, offsets, padToCanvas, windowSlice, type Geometry } from "./pool_windows";
import { booleanOf, checkInput4d, pairOf, show, toNCHW, toNHWC, type Pads, type Pair } from "./window";

const OP = "avg_pool2d";
const NO_DILATION: Pair = [1, 1];

/** divisorOverride 0 means none (PyTorch's None), since an attribute cannot be null. */
export const AvgPool2dF = defineFunction<[tf.Tensor4D, Pair, Pair, Pads, boolean, boolean, number]>({
  name: OP,
  inputNames: ["input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"],
  forward(ctx, x, kernel, stride, pads, ceilMode, countIncludePad, divisorOverride) {
    const g = poolGeometry(OP, x, kernel, stride, pads, NO_DILATION, ceilMode);
    if (usesNative(g, divisorOverride)) {
      // AvgPoolGrad reads only the input's shape, so the NHWC copy forward makes anyway is what it gets.
      const xh = toNHWC(x);
      ctx.saveForBackward(xh);
      return toNCHW(tf.avgPool(xh, kernel, stride, "valid"));
    }
    const divisor = reciprocalDivisors(g, countIncludePad, divisorOverride);
    ctx.saveForBackward(divisor);
    ctx.attributes.set("geometry", g);
    const padded = padToCanvas(x, g, 0);
    let sum: tf.Tensor4D | null = null;
    for (const [kh, kw] of offsets(g)) {
      const entry = windowSlice(padded, g, kh, kw);
      sum = sum === null ? entry : (tf.add(sum, entry) as tf.Tensor4D);
    }
    return tf.mul(sum!, divisor);
  },
  backward(ctx, dy) {
    const g = ctx.attributes.get("geometry") as Geometry | undefined;
    if (g === undefined) {
      const [xh] = ctx.saved as [tf.Tensor4D];
      const [kernel, stride] = ctx.attrs.slice(1) as [Pair, Pair];
      const attrs = { filterSize: kernel, strides: stride, pad: "valid" } as unknown as tf.NamedAttrMap;
      return toNCHW(tf.engine().runKernel("AvgPoolGrad", { dy: toNHWC(dy as tf.Tensor4D), input: xh }, attrs) as tf.Tensor4D);
    }
    const [divisor] = ctx.saved as [tf.Tensor4D];
    const share = tf.mul(dy, divisor) as tf.Tensor4D;
    return gatherBack(g, () => share);
  },
  symbolic(g, x, kernel, stride, pads, ceilMode, countIncludePad, divisorOverride) {
    return this.lower!(g, x, kernel, stride, pads, ceilMode, countIncludePad, divisorOverride);
  },
  lower(g, x, kernel, stride, pads, ceilMode, countIncludePad, divisorOverride) {
    if (divisorOverride !== 0) throw new Error(`avg_pool2d: divisor_override ${divisorOverride} has no standard ONNX form (AveragePool has no such attribute)`);
    return g.op("AveragePool", x!, { kernel_shape_i: [...kernel], strides_i: [...stride], pads_i: [...pads], ceil_mode_i: ceilMode ? 1 : 0, count_include_pad_i: countIncludePad ? 1 : 0 });
  },
});

export interface AvgPool2dOptions {
  /** Default: kernelSize. */
  stride?: number | Pair | null;
  padding?: number | Pair;
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

/** torch.nn.functional.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override). */
export function avgPool2d(input: tf.Tensor, kernelSize: number | Pair, options: AvgPool2dOptions = {}): tf.Tensor4D {
  const x = checkInput4d(OP, "input", input);
  const kernel = pairOf(OP, "kernel_size", kernelSize, 1);
  const stride = options.stride === undefined || options.stride === null ? kernel : pairOf(OP, "stride", options.stride, 1);
  const [ph, pw] = pairOf(OP, "padding", options.padding ?? 0, 0);
  const ceilMode = booleanOf(OP, "ceil_mode", options.ceilMode ?? false);
  const countIncludePad = booleanOf(OP, "count_include_pad", options.countIncludePad ?? true);
  const override = options.divisorOverride ?? 0;
  if (options.divisorOverride !== undefined && options.divisorOverride !== null && !(Number.isInteger(override) && override >= 1)) {
    throw new RangeError(`${OP}: divisor_override must be an integer ≥ 1 or null, got ${show(options.divisorOverride)}`);
  }
  const pads: Pads = [ph, pw, ph, pw];
  poolGeometry(OP, x, kernel, stride, pads, NO_DILATION, ceilMode);
  return AvgPool2dF.apply(x, kernel, stride, pads, ceilMode, countIncludePad, override) as tf.Tensor4D;
}

/** No padding and no ceil_mode overhang: every window is whole, and tfjs's AvgPool divides as PyTorch does. */
function usesNative(g: Geometry, divisorOverride: number): boolean {
  if (divisorOverride !== 0 || g.pads.some((p) => p !== 0)) return false;
  return [0, 1].every((i) => (g.out[i]! - 1) * g.stride[i]! + g.kernel[i]! <= g.input[2 + i]!);
}

/** 1 / PyTorch's divisor per output position, [1, 1, OH, OW] (avg_pool2d's CPU kernel, line for line). */
function reciprocalDivisors(g: Geometry, countIncludePad: boolean, divisorOverride: number): tf.Tensor4D {
  const [oh, ow] = g.out;
  const values = new Float32Array(oh * ow);
  const span = (o: number, i: 0 | 1) => {
    const size = g.input[2 + i]!;
    const start = o * g.stride[i] - g.pads[i];
    const end = Math.min(start + g.kernel[i], size + g.pads[i + 2]!);
    return { size: end - start, clipped: Math.min(end, size) - Math.max(start, 0) };
  };
  for (let r = 0; r < oh; r++) {
    const rows = span(r, 0);
    for (let c = 0; c < ow; c++) {
      const cols = span(c, 1);
      const divisor = divisorOverride !== 0 ? divisorOverride : countIncludePad ? rows.size * cols.size : rows.clipped * cols.clipped;
      values[r * ow + c] = 1 / divisor;
    }
  }
  return tf.tensor4d(values, [1, 1, oh, ow]);
}
