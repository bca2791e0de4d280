/**
 * avg_pool2d as loops over host memory (cpu and wasm), PyTorch's CPU kernel (cpu_avg_pool) line
 * for line: each window is clipped to the padded input for count_include_pad's divisor, then to
 * the input for the sum and the other divisor (divisor_override over both); backward spreads
 * dy ÷ divisor over the same elements. No transposes to NHWC and back, no correction factors.
 */
import type * as tf from "@tensorflow/tfjs";
import { tensorFromInfo, type HostBackend } from "../host/host_tensors";
import type { Geometry } from "./pool_windows";

/** Each output position's window inside the input, rows [r0, r1) and columns [c0, c1), as 4 ints, and its divisor. */
interface Windows {
  bounds: Int32Array;
  divisor: Float64Array;
}

function windows(g: Geometry, countIncludePad: boolean, divisorOverride: number): Windows {
  const [, , h, w] = g.input;
  const [oh, ow] = g.out;
  const bounds = new Int32Array(4 * oh * ow);
  const divisor = new Float64Array(oh * ow);
  for (let i = 0, o = 0; i < oh; i++) {
    const r0 = i * g.stride[0] - g.pads[0];
    const r1 = Math.min(r0 + g.kernel[0], h + g.pads[2]);
    for (let j = 0; j < ow; j++, o++) {
      const c0 = j * g.stride[1] - g.pads[1];
      const c1 = Math.min(c0 + g.kernel[1], w + g.pads[3]);
      const [rs, re, cs, ce] = [Math.max(r0, 0), Math.min(r1, h), Math.max(c0, 0), Math.min(c1, w)];
      bounds.set([rs, re, cs, ce], 4 * o);
      divisor[o] = divisorOverride !== 0 ? divisorOverride : countIncludePad ? (r1 - r0) * (c1 - c0) : (re - rs) * (ce - cs);
    }
  }
  return { bounds, divisor };
}

export function avgPool2dHostForward(host: HostBackend, x: tf.Tensor4D, g: Geometry, countIncludePad: boolean, divisorOverride: number): tf.Tensor4D {
  const [n, c, h, w] = g.input;
  const { bounds, divisor } = windows(g, countIncludePad, divisorOverride);
  const info = host.alloc([n, c, ...g.out]);
  const [xs, ys] = [host.f32(x), host.f32(info)];
  const planeOut = divisor.length;
  for (let plane = 0, o = 0; plane < n * c; plane++) {
    const offset = plane * h * w;
    for (let p = 0; p < planeOut; p++, o++) {
      const r0 = bounds[4 * p]!, r1 = bounds[4 * p + 1]!, c0 = bounds[4 * p + 2]!, c1 = bounds[4 * p + 3]!;
      let sum = 0;
      for (let r = r0; r < r1; r++) for (let k = offset + r * w + c0, end = k + c1 - c0; k < end; k++) sum += xs[k]!;
      // A window wholly in the padding (which torch skips) averages nothing: 0.
      ys[o] = r0 < r1 && c0 < c1 ? sum / divisor[p]! : 0;
    }
  }
  return tensorFromInfo(info) as tf.Tensor4D;
}

export function avgPool2dHostBackward(host: HostBackend, dy: tf.Tensor, g: Geometry, countIncludePad: boolean, divisorOverride: number): tf.Tensor4D {
  const [n, c, h, w] = g.input;
  const { bounds, divisor } = windows(g, countIncludePad, divisorOverride);
  // The allocation before the views: on wasm a new allocation may move the heap under them.
  const info = host.alloc(g.input);
  const [dys, dx] = [host.f32(dy), host.f32(info)];
  dx.fill(0);
  const planeOut = divisor.length;
  for (let plane = 0, o = 0; plane < n * c; plane++) {
    const offset = plane * h * w;
    for (let p = 0; p < planeOut; p++, o++) {
      const r0 = bounds[4 * p]!, r1 = bounds[4 * p + 1]!, c0 = bounds[4 * p + 2]!, c1 = bounds[4 * p + 3]!;
      const share = dys[o]! / divisor[p]!;
      for (let r = r0; r < r1; r++) for (let k = offset + r * w + c0, end = k + c1 - c0; k < end; k++) dx[k] = dx[k]! + share;
    }
  }
  return tensorFromInfo(info) as tf.Tensor4D;
}
