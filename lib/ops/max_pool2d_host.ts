/**
 * max_pool2d as loops over host memory (cpu and wasm), PyTorch's CPU kernel (cpu_max_pool) line
 * for line: each window, clipped to the input (padding is −∞, so never a maximum), is scanned
 * row by row from −∞, and an element replaces the maximum when it is greater or NaN. So the
 * first of equal maxima wins, an all −∞ window gives −∞ with its first element's index, and a NaN
 * is the window's maximum. Forward keeps each window's index; backward adds dy there. This
 * replaces the generic path's one-hot conv of window taps (and its transpose), which is how that
 * path gets torch's routing from tfjs kernels, at a cost of K multiply-adds per tap.
 */
import type * as tf from "@tensorflow/tfjs";
import type { FunctionCtx } from "../function";
import { gemmAvailable } from "../host/gemm/sgemm";
import { align4, reserve, sgemmModule } from "../host/gemm/sgemm_module";
import { tensorFromInfo, type HostBackend } from "../host/host_tensors";
import type { Geometry } from "./pool_windows";

interface HostState {
  host: HostBackend;
  /** Per output element, the flat input index of its window's maximum (−1: a window with no input element). */
  argmax: Int32Array;
}

export function maxPool2dHostForward(host: HostBackend, ctx: FunctionCtx, x: tf.Tensor4D, g: Geometry): tf.Tensor4D {
  const [n, c] = g.input;
  const [oh, ow] = g.out;
  const info = host.alloc([n, c, oh, ow]);
  const [xs, ys] = [host.f32(x), host.f32(info)];
  const argmax = new Int32Array(ys.length);
  (gemmAvailable() ? maxPoolInModule : maxPoolLoops)(xs, ys, argmax, g);
  ctx.attributes.set("host", { host, argmax } satisfies HostState);
  return tensorFromInfo(info) as tf.Tensor4D;
}

/** The loop itself, in JavaScript: where WebAssembly SIMD is missing, and the tests' second opinion. */
export function maxPoolLoops(xs: Float32Array, ys: Float32Array, argmax: Int32Array, g: Geometry): void {
  const [n, c, h, w] = g.input;
  const [oh, ow] = g.out;
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.stride;
  const [dh, dw] = g.dilation;
  const [top, left] = g.pads;
  let o = 0;
  for (let plane = 0; plane < n * c; plane++) {
    const offset = plane * h * w;
    for (let i = 0; i < oh; i++) {
      // The window's rows: from its first inside the input (a multiple of the dilation past its start) to its end, clipped.
      let r0 = i * sh - top;
      const r1 = Math.min(r0 + (kh - 1) * dh + 1, h);
      while (r0 < 0) r0 += dh;
      for (let j = 0; j < ow; j++, o++) {
        let c0 = j * sw - left;
        const c1 = Math.min(c0 + (kw - 1) * dw + 1, w);
        while (c0 < 0) c0 += dw;
        let best = -Infinity;
        let index = r0 < r1 && c0 < c1 ? offset + r0 * w + c0 : -1;
        for (let r = r0; r < r1; r += dh) {
          for (let col = c0, k = offset + r * w + c0; col < c1; col += dw, k += dw) {
            const v = xs[k]!;
            if (v > best || v !== v) {
              best = v;
              index = k;
            }
          }
        }
        ys[o] = best;
        argmax[o] = index;
      }
    }
  }
}

/** The same loop compiled (lib/host/gemm/pool.c): x copied into the module's memory, y and argmax out. */
export function maxPoolInModule(xs: Float32Array, ys: Float32Array, argmax: Int32Array, g: Geometry): void {
  const [n, c, h, w] = g.input;
  const module = sgemmModule();
  const xAt = module.base;
  const yAt = align4(xAt + xs.length);
  const argmaxAt = align4(yAt + ys.length);
  reserve(module, argmaxAt + argmax.length);
  module.heap.set(xs, xAt);
  module.maxPool2d(n * c, h, w, g.out[0], g.out[1], g.kernel[0], g.kernel[1], g.stride[0], g.stride[1], g.dilation[0], g.dilation[1], g.pads[0], g.pads[1], xAt * 4, yAt * 4, argmaxAt * 4);
  ys.set(module.heap.subarray(yAt, yAt + ys.length));
  argmax.set(new Int32Array(module.heap.buffer, argmaxAt * 4, argmax.length));
}

/** The input's gradient, after maxPool2dHostForward (ctx.attributes has "host"). */
export function maxPool2dHostBackward(ctx: FunctionCtx, dy: tf.Tensor, g: Geometry): tf.Tensor4D {
  const { host, argmax } = ctx.attributes.get("host") as HostState;
  // The allocation before the views: on wasm a new allocation may move the heap under them.
  const info = host.alloc(g.input);
  const [dys, dx] = [host.f32(dy), host.f32(info)];
  (gemmAvailable() ? maxPoolBackInModule : maxPoolBackLoops)(dys, argmax, dx);
  return tensorFromInfo(info) as tf.Tensor4D;
}

/** Backward's loop in JavaScript: dx = 0, then each dy added at its window's maximum, in output order. */
export function maxPoolBackLoops(dys: Float32Array, argmax: Int32Array, dx: Float32Array): void {
  dx.fill(0);
  for (let o = 0; o < argmax.length; o++) {
    const index = argmax[o]!;
    if (index >= 0) dx[index] = dx[index]! + dys[o]!;
  }
}

/**
 * The same loop compiled (pool.c's max_pool2d_backward): dy and argmax copied in, dx out. Faster
 * than the JavaScript at every size measured, copies included (LeNet's pools: 113 → 72 µs and
 * 69 → 23 µs), mostly from the fill and the scatter's bounds checks.
 */
export function maxPoolBackInModule(dys: Float32Array, argmax: Int32Array, dx: Float32Array): void {
  const module = sgemmModule();
  const dyAt = module.base;
  const argmaxAt = align4(dyAt + dys.length);
  const dxAt = align4(argmaxAt + argmax.length);
  reserve(module, dxAt + dx.length);
  module.heap.set(dys, dyAt);
  new Int32Array(module.heap.buffer, argmaxAt * 4, argmax.length).set(argmax);
  module.maxPool2dBackward(dx.length, argmax.length, dyAt * 4, argmaxAt * 4, dxAt * 4);
  dx.set(module.heap.subarray(dxAt, dxAt + dx.length));
}
