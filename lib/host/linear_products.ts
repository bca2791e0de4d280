/**
 * The linear layer's three products on host storage (row-major float32):
 *   forward         y[B×N]  = x[B×K]·w[N×K]ᵀ + b[N]
 *   backpropInput   dx[B×K] = dy[B×N]·w[N×K]
 *   backpropWeight  dw[N×K] = dy[B×N]ᵀ·x[B×K],  db[N] = Σ_B dy
 * each one call of gradlab's WebAssembly SIMD sgemm (gemm/sgemm.ts: tens of GFLOP/s, and faster
 * than a loop even at 32×2×16), or, where WebAssembly SIMD is unavailable, of its JavaScript twin
 * (sgemm_js.ts, which the host conv falls back to as well). `gemm` chooses another (tests).
 */
import { gemmAvailable, sgemm, type SgemmArgs } from "./gemm/sgemm";
import { sgemmJs } from "./sgemm_js";

export interface LinearSizes {
  batch: number;
  inFeatures: number;
  outFeatures: number;
}

export type Gemm = (args: SgemmArgs) => void;

/** The product the host kernels run on this engine. */
export function hostGemm(): Gemm {
  return gemmAvailable() ? sgemm : sgemmJs;
}

export function linearForward(x: Float32Array, w: Float32Array, b: Float32Array | null, y: Float32Array, d: LinearSizes, gemm = hostGemm()): void {
  gemm({ m: d.batch, n: d.outFeatures, k: d.inFeatures, a: x, b: w, transB: true, c: y, ...(b === null ? {} : { bias: b }) });
}

export function linearBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, d: LinearSizes, gemm = hostGemm()): void {
  gemm({ m: d.batch, n: d.inFeatures, k: d.outFeatures, a: dy, b: w, c: dx });
}

export function linearBackpropWeight(dy: Float32Array, x: Float32Array, dw: Float32Array | null, db: Float32Array | null, d: LinearSizes, gemm = hostGemm()): void {
  if (dw !== null) gemm({ m: d.outFeatures, n: d.inFeatures, k: d.batch, a: dy, transA: true, b: x, c: dw });
  if (db !== null) sumRows(dy, db, d);
}

/** db[o] = Σ_i dy[i][o], summed in float64. */
function sumRows(dy: Float32Array, db: Float32Array, d: LinearSizes): void {
  const { batch, outFeatures: N } = d;
  for (let o = 0; o < N; o++) {
    let s = 0;
    for (let i = 0; i < batch; i++) s += dy[i * N + o]!;
    db[o] = s;
  }
}
