/**
 * softmax and log_softmax along any dim as loops over host memory (cpu and wasm), the formulas of
 * softmax.ts and log_softmax.ts in place of their tfjs kernels (log_softmax's forward alone is six:
 * max, sub, exp, sum, log, sub). The tensor is read as [outer, D, inner] around the dim: row
 * (o, i) holds D elements inner apart, so no transpose is needed for any dim. Row sums in float64.
 */
import type * as tf from "@tensorflow/tfjs";
import { runInChunks } from "../host/gemm/chunked";
import { sgemmModule } from "../host/gemm/sgemm_module";
import { tensorFromInfo, type HostBackend } from "../host/host_tensors";

/** The rows of a softmax along `dim`: `outer`·`inner` of them, of `size` elements `inner` apart. */
interface Rows {
  outer: number;
  size: number;
  inner: number;
}

function rowsAlong(shape: readonly number[], dim: number): Rows {
  const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
  return { outer: product(shape.slice(0, dim)), size: shape[dim]!, inner: product(shape.slice(dim + 1)) };
}

/** Calls `row(start, end, step)` for each row along `dim`: its elements are start, start + step, … before end. */
function forEachRow(shape: readonly number[], dim: number, row: (start: number, end: number, step: number) => void): void {
  const { outer, size, inner } = rowsAlong(shape, dim);
  for (let o = 0; o < outer; o++) {
    for (let s = 0; s < inner; s++) {
      const start = o * size * inner + s;
      row(start, start + size * inner, inner);
    }
  }
}

/** y = e^(x − max) / Σ e^(x − max) along dim. */
export function softmaxHost(host: HostBackend, x: tf.Tensor, dim: number): tf.Tensor {
  const info = host.alloc(x.shape);
  const [xs, ys] = [host.f32(x), host.f32(info)];
  forEachRow(x.shape, dim, (start, end, step) => {
    let max = -Infinity;
    for (let i = start; i < end; i += step) if (xs[i]! > max) max = xs[i]!;
    let sum = 0;
    for (let i = start; i < end; i += step) {
      const e = Math.exp(xs[i]! - max);
      ys[i] = e;
      sum += e;
    }
    const scale = 1 / sum;
    for (let i = start; i < end; i += step) ys[i] = ys[i]! * scale;
  });
  return tensorFromInfo(info);
}

/**
 * dx = y·(dy − Σ dy·y) along dim: in the sgemm module (activations.c) when `inModule` and the rows
 * are contiguous (the last dim), else the JavaScript loop; the same float64 arithmetic.
 */
export function softmaxBackwardHost(host: HostBackend, y: tf.Tensor, dy: tf.Tensor, dim: number, inModule = false): tf.Tensor {
  const { size, inner } = rowsAlong(y.shape, dim);
  const info = host.alloc(y.shape);
  const [ys, dys, dx] = [host.f32(y), host.f32(dy), host.f32(info)];
  if (inModule && inner === 1) {
    softmaxBackInModule(ys, dys, dx, size);
    return tensorFromInfo(info);
  }
  forEachRow(y.shape, dim, (start, end, step) => {
    let dot = 0;
    for (let i = start; i < end; i += step) dot += dys[i]! * ys[i]!;
    for (let i = start; i < end; i += step) dx[i] = ys[i]! * (dys[i]! - dot);
  });
  return tensorFromInfo(info);
}

/** softmax's backward along contiguous rows of `size`, compiled (activations.c's softmax_backward), whole rows a chunk at a time. */
export function softmaxBackInModule(ys: Float32Array, dys: Float32Array, dx: Float32Array, size: number): void {
  const module = sgemmModule();
  runInChunks([ys, dys], dx, (n, [y, dy]) => module.softmaxBackward(n / size, size, y!, dy!, dy!), size);
}

/** y = (x − max) − log Σ e^(x − max) along dim, as tfjs's logSoftmax and torch compute it. */
export function logSoftmaxHost(host: HostBackend, x: tf.Tensor, dim: number): tf.Tensor {
  const info = host.alloc(x.shape);
  const [xs, ys] = [host.f32(x), host.f32(info)];
  forEachRow(x.shape, dim, (start, end, step) => {
    let max = -Infinity;
    for (let i = start; i < end; i += step) if (xs[i]! > max) max = xs[i]!;
    let sum = 0;
    for (let i = start; i < end; i += step) sum += Math.exp(xs[i]! - max);
    const log = Math.log(sum);
    for (let i = start; i < end; i += step) ys[i] = xs[i]! - max - log;
  });
  return tensorFromInfo(info);
}

/** dx = dy − e^y·Σ dy along dim (e^y is the softmax). */
export function logSoftmaxBackwardHost(host: HostBackend, y: tf.Tensor, dy: tf.Tensor, dim: number): tf.Tensor {
  const info = host.alloc(y.shape);
  const [ys, dys, dx] = [host.f32(y), host.f32(dy), host.f32(info)];
  forEachRow(y.shape, dim, (start, end, step) => {
    let sum = 0;
    for (let i = start; i < end; i += step) sum += dys[i]!;
    for (let i = start; i < end; i += step) dx[i] = dys[i]! - Math.exp(ys[i]!) * sum;
  });
  return tensorFromInfo(info);
}
