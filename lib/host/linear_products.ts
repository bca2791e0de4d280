/**
 * The linear layer's three products on host storage (row-major float32):
 *   forward         y[B×N]  = x[B×K]·w[N×K]ᵀ + b[N]
 *   backpropInput   dx[B×K] = dy[B×N]·w[N×K]
 *   backpropWeight  dw[N×K] = dy[B×N]ᵀ·x[B×K],  db[N] = Σ_B dy
 * through gradlab's WebAssembly SIMD sgemm (gemm/sgemm.ts: tens of GFLOP/s, and faster than a
 * loop even at 32×2×16), or, where WebAssembly SIMD is unavailable, as plain loops whose innermost
 * index walks contiguous memory in every operand. The loops' sums run in float64, rounded once.
 */
import { gemmAvailable, sgemm } from "./gemm/sgemm";

export interface LinearSizes {
  batch: number;
  inFeatures: number;
  outFeatures: number;
}

export function linearForward(x: Float32Array, w: Float32Array, b: Float32Array | null, y: Float32Array, d: LinearSizes): void {
  if (!gemmAvailable()) return LOOPS.forward(x, w, b, y, d);
  sgemm({ m: d.batch, n: d.outFeatures, k: d.inFeatures, a: x, b: w, transB: true, c: y, ...(b === null ? {} : { bias: b }) });
}

export function linearBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, d: LinearSizes): void {
  if (!gemmAvailable()) return LOOPS.backpropInput(dy, w, dx, d);
  sgemm({ m: d.batch, n: d.inFeatures, k: d.outFeatures, a: dy, b: w, c: dx });
}

export function linearBackpropWeight(dy: Float32Array, x: Float32Array, dw: Float32Array | null, db: Float32Array | null, d: LinearSizes): void {
  if (!gemmAvailable()) return LOOPS.backpropWeight(dy, x, dw, db, d);
  if (dw !== null) sgemm({ m: d.outFeatures, n: d.inFeatures, k: d.batch, a: dy, transA: true, b: x, c: dw });
  if (db !== null) sumRows(dy, db, d);
}

function sumRows(dy: Float32Array, db: Float32Array, d: LinearSizes): void {
  const { batch, outFeatures: N } = d;
  for (let o = 0; o < N; o++) {
    let s = 0;
    for (let i = 0; i < batch; i++) s += dy[i * N + o]!;
    db[o] = s;
  }
}

/** The same products as plain loops: where WebAssembly SIMD is missing, and the tests' second opinion. */
export const LOOPS = { forward: forwardLoops, backpropInput: backpropInputLoops, backpropWeight: backpropWeightLoops };

function forwardLoops(x: Float32Array, w: Float32Array, b: Float32Array | null, y: Float32Array, d: LinearSizes): void {
  const { batch, inFeatures: K, outFeatures: N } = d;
  for (let i = 0; i < batch; i++) {
    const xi = i * K;
    for (let o = 0; o < N; o++) {
      const wo = o * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += x[xi + k]! * w[wo + k]!;
      y[i * N + o] = b === null ? s : s + b[o]!;
    }
  }
}

function backpropInputLoops(dy: Float32Array, w: Float32Array, dx: Float32Array, d: LinearSizes): void {
  const { batch, inFeatures: K, outFeatures: N } = d;
  const row = new Float64Array(K);
  for (let i = 0; i < batch; i++) {
    row.fill(0);
    for (let o = 0; o < N; o++) {
      const g = dy[i * N + o]!;
      const wo = o * K;
      for (let k = 0; k < K; k++) row[k] = row[k]! + g * w[wo + k]!;
    }
    const xi = i * K;
    for (let k = 0; k < K; k++) dx[xi + k] = row[k]!;
  }
}

function backpropWeightLoops(dy: Float32Array, x: Float32Array, dw: Float32Array | null, db: Float32Array | null, d: LinearSizes): void {
  const { batch, inFeatures: K, outFeatures: N } = d;
  if (dw !== null) {
    const row = new Float64Array(K);
    for (let o = 0; o < N; o++) {
      row.fill(0);
      for (let i = 0; i < batch; i++) {
        const g = dy[i * N + o]!;
        const xi = i * K;
        for (let k = 0; k < K; k++) row[k] = row[k]! + g * x[xi + k]!;
      }
      const wo = o * K;
      for (let k = 0; k < K; k++) dw[wo + k] = row[k]!;
    }
  }
  if (db !== null) sumRows(dy, db, d);
}
