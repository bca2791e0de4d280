/**
 * A pooling window's entries as channels, for what tfjs's pooling kernels do not do as PyTorch
 * does (dilation; on wasm, routing a max's gradient to the first maximum). With the batch and
 * channels folded into tfjs's batch ([N·C, H, W, 1], no transpose), one conv2d with a one-hot
 * kernel [KH', KW', 1, K] (dilation built in) copies tap k of every window into channel k:
 * [N·C, OH, OW, K]. Its transpose, conv2dTranspose with the same kernel, adds each window's K
 * values back onto the input positions they came from. The taps' multiply-adds are K·KH'·KW' per
 * window position, nothing beside a convolution's. A tap in the padding reads the conv's zero, to
 * which `fill` (−∞ for a max) is added. ±∞ would spread NaN over the other taps of its windows
 * (∞·0), so the input is clipped to ±FLOAT32_MAX first and the caller restores ±∞ in what it
 * computes from the taps (max_pool2d: a max of ±FLOAT32_MAX is ±∞). A NaN makes its windows NaN on
 * cpu; tfjs-backend-wasm's kernels skip it (its host path, max_pool2d_host.ts, takes it as torch does).
 */
import * as tf from "@tensorflow/tfjs";
import { explicitPadding, type Pads, type Pair } from "./window";

/** The largest float32, to which ±∞ are clipped before the taps conv. */
export const FLOAT32_MAX = 3.4028234663852886e38;

export interface Geometry {
  input: [number, number, number, number];
  kernel: Pair;
  stride: Pair;
  dilation: Pair;
  pads: Pads;
  out: Pair;
}

/** Kernel extent with dilation: (K − 1)·d + 1 per axis. */
const extent = (g: Geometry): Pair => [0, 1].map((i) => (g.kernel[i]! - 1) * g.dilation[i]! + 1) as Pair;

/** [KH', KW', 1, K]: 1 where tap k = kh·KW + kw sits, at (kh·dh, kw·dw). */
function tapKernel(g: Geometry): tf.Tensor4D {
  const [eh, ew] = extent(g);
  const [kh, kw] = g.kernel;
  const k = kh * kw;
  const values = new Float32Array(eh * ew * k);
  for (let r = 0; r < kh; r++) for (let c = 0; c < kw; c++) values[(r * g.dilation[0] * ew + c * g.dilation[1]) * k + r * kw + c] = 1;
  return tf.tensor4d(values, [eh, ew, 1, k]);
}

/** The padding under which the taps conv gives exactly OH × OW windows: ceil_mode's extra ones as extra end padding. */
function tapPads(g: Geometry): Pads {
  const [eh, ew] = extent(g);
  const end = (i: 0 | 1, e: number) => Math.max(g.pads[2 + i]!, (g.out[i] - 1) * g.stride[i] + e - g.input[2 + i]! - g.pads[i]);
  return [g.pads[0], g.pads[1], end(0, eh), end(1, ew)];
}

/** 0 for each tap of each window inside the input, `fill` for one in the padding: [1, OH, OW, K]. */
function paddingTerm(g: Geometry, fill: number): tf.Tensor4D {
  const [oh, ow] = g.out;
  const [kh, kw] = g.kernel;
  const k = kh * kw;
  const values = new Float32Array(oh * ow * k);
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      for (let r = 0; r < kh; r++) {
        for (let c = 0; c < kw; c++) {
          const y = i * g.stride[0] - g.pads[0] + r * g.dilation[0];
          const x = j * g.stride[1] - g.pads[1] + c * g.dilation[1];
          values[(i * ow + j) * k + r * kw + c] = y >= 0 && y < g.input[2] && x >= 0 && x < g.input[3] ? 0 : fill;
        }
      }
    }
  }
  return tf.tensor4d(values, [1, oh, ow, k]);
}

/** Every window's entries in PyTorch's scan order (row by row): [N·C, OH, OW, K]; taps in the padding are `fill`. */
export function windowTaps(x: tf.Tensor4D, g: Geometry, fill: number): tf.Tensor4D {
  const [n, c, h, w] = g.input;
  const finite = tf.clipByValue(tf.reshape(x, [n * c, h, w, 1]), -FLOAT32_MAX, FLOAT32_MAX) as tf.Tensor4D;
  const taps = tf.conv2d(finite, tapKernel(g), g.stride, explicitPadding(tapPads(g)));
  if (g.pads.every((p) => p === 0) && tapPads(g).every((p) => p === 0)) return taps;
  // A broadcast add, not tf.where on a mask (15× slower on wasm here): the conv read 0 there, and 0 + fill = fill.
  return tf.add(taps, paddingTerm(g, fill));
}

/** The input gradient of windowTaps: each window's [N·C, OH, OW, K] values summed back onto their input positions. */
export function tapsBack(grad: tf.Tensor4D, g: Geometry): tf.Tensor4D {
  const [n, c, h, w] = g.input;
  return tf.reshape(tf.conv2dTranspose(grad, tapKernel(g), [n * c, h, w, 1], g.stride, explicitPadding(tapPads(g))), [n, c, h, w]) as tf.Tensor4D;
}
