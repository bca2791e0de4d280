/**
 * avg_pool2d as torch.nn.functional.avg_pool2d on [N, C, H, W]: kernel_size, stride (default the
 * kernel), padding (zeros, at most half the kernel), ceil_mode, count_include_pad (default true:
 * padding counts in the divisor, the overhang of ceil_mode's last window does not), and
 * divisor_override.
 *
 * tfjs's AvgPool (NHWC; transposed in and out) computes the windows, with ceil_mode's extra
 * windows as extra end padding, but divides by a different number: its forward by the count of
 * input elements in the window (never the padding), its AvgPoolGrad by the whole kernel (so tfjs's
 * own gradient of a padded average is not the gradient of its forward). Both are corrected to
 * PyTorch's divisor by a per-position factor computed on the host from the geometry alone:
 * forward × (in-input count / torch's divisor), dy × (kernel size / torch's divisor) before
 * AvgPoolGrad. The fixtures' padded and ceil_mode cases pin both tfjs behaviours on cpu and wasm.
 * On cpu and wasm, though, avg_pool2d_host.ts computes torch's windows and divisors directly, with
 * loops over the tensors' storage.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import { hostBackend, type HostBackend } from "../host/host_tensors";
import { avgPool2dHostBackward, avgPool2dHostForward } from "./avg_pool2d_host";
import { poolGeometry, tfjsPads } from "./max_pool2d";
import type { Geometry } from "./pool_windows";
import { booleanOf, checkInput4d, explicitPadding, pairOf, show, toNCHW, toNHWC, type Pads, type Pair } from "./window";

const OP = "avg_pool2d";
const NO_DILATION: Pair = [1, 1];

/** divisorOverride 0 means none (PyTorch's None), since an attribute cannot be null. */
export const AvgPool2dF = defineFunction<[tf.Tensor4D, Pair, Pair, Pads, boolean, boolean, number]>({
  name: OP,
  inputNames: ["input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"],
  forward(ctx, x, kernel, stride, pads, ceilMode, countIncludePad, divisorOverride) {
    const g = poolGeometry(OP, x, kernel, stride, pads, NO_DILATION, ceilMode);
    ctx.attributes.set("geometry", g);
    const host = hostBackend();
    if (host) {
      ctx.attributes.set("host", host);
      return avgPool2dHostForward(host, x, g, countIncludePad, divisorOverride);
    }
    // tfjs-backend-wasm's Transpose throws "divide by zero" on an empty batch, which has nothing to pool.
    if (x.size === 0) return tf.zeros([...x.shape.slice(0, 2), ...g.out]);
    const padding = explicitPadding(tfjsPads(g));
    // AvgPoolGrad reads only the input's shape, so the NHWC copy forward makes anyway is what it gets.
    const xh = toNHWC(x);
    const y = tf.avgPool(xh, kernel, stride, padding);
    const factors = correction(g, countIncludePad, divisorOverride);
    ctx.saveForBackward(xh, ...(factors ? [factors.backward] : []));
    ctx.attributes.set("padding", padding);
    return toNCHW(factors ? (tf.mul(y, factors.forward) as tf.Tensor4D) : y);
  },
  backward(ctx, dy) {
    const g = ctx.attributes.get("geometry") as Geometry;
    const host = ctx.attributes.get("host") as HostBackend | undefined;
    if (host) return avgPool2dHostBackward(host, dy, g, ctx.attrs[5] as boolean, ctx.attrs[6] as number);
    if (dy.size === 0) return tf.zeros(g.input);
    const [xh, scale] = ctx.saved as [tf.Tensor4D, tf.Tensor | undefined];
    const [kernel, stride] = ctx.attrs.slice(1) as [Pair, Pair];
    const dyh = toNHWC(dy as tf.Tensor4D);
    const attrs = { filterSize: kernel, strides: stride, pad: ctx.attributes.get("padding") } as unknown as tf.NamedAttrMap;
    return toNCHW(tf.engine().runKernel("AvgPoolGrad", { dy: scale ? tf.mul(dyh, scale) : dyh, input: xh }, attrs) as tf.Tensor4D);
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

/**
 * Per output position [1, OH, OW, 1]: forward, tfjs's divisor (elements of the window inside the
 * input) over PyTorch's; backward, AvgPoolGrad's (the whole kernel) over PyTorch's. Null where
 * every window is whole and undivided by override, so all three divisors are the kernel's size.
 */
function correction(g: Geometry, countIncludePad: boolean, divisorOverride: number): { forward: tf.Tensor; backward: tf.Tensor } | null {
  const [oh, ow] = g.out;
  const forward = new Float32Array(oh * ow);
  const backward = new Float32Array(oh * ow);
  const kernelSize = g.kernel[0] * g.kernel[1];
  let trivial = true;
  const span = (o: number, i: 0 | 1) => {
    const size = g.input[2 + i]!;
    const start = o * g.stride[i] - g.pads[i];
    const end = Math.min(start + g.kernel[i], size + g.pads[i + 2]!);
    return { padded: end - start, inside: Math.min(end, size) - Math.max(start, 0) };
  };
  for (let r = 0; r < oh; r++) {
    const rows = span(r, 0);
    for (let c = 0; c < ow; c++) {
      const cols = span(c, 1);
      const inside = rows.inside * cols.inside;
      // avg_pool2d's CPU kernel: divisor_override, else the window clipped to the padded input, or to the input.
      const divisor = divisorOverride !== 0 ? divisorOverride : countIncludePad ? rows.padded * cols.padded : inside;
      forward[r * ow + c] = inside / divisor;
      backward[r * ow + c] = kernelSize / divisor;
      if (inside !== kernelSize || divisor !== kernelSize) trivial = false;
    }
  }
  if (trivial) return null;
  return { forward: tf.tensor4d(forward, [1, oh, ow, 1]), backward: tf.tensor4d(backward, [1, oh, ow, 1]) };
}
