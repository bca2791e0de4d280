/**
 * The linear layer's three products on host storage (row-major float32):
 *   forward         y[B×N]  = x[B×K]·w[N×K]ᵀ + b[N]
 *   backpropInput   dx[B×K] = dy[B×N]·w[N×K]
 *   backpropWeight  dw[N×K] = dy[B×N]ᵀ·x[B×K],  db[N] = Σ_B dy
 * as plain loops whose innermost index walks contiguous memory in every operand (dot products of
 * rows for forward, row updates for the two others). Sums run in float64 and are rounded once.
 */

export interface LinearSizes {
  batch: number;
  inFeatures: number;
  outFeatures: number;
}

export function linearForward(x: Float32Array, w: Float32Array, b: Float32Array | null, y: Float32Array, d: LinearSizes): void {
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

export function linearBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, d: LinearSizes, row = new Float64Array(d.inFeatures)): void {
  const { batch, inFeatures: K, outFeatures: N } = d;
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

export function linearBackpropWeight(dy: Float32Array, x: Float32Array, dw: Float32Array | null, db: Float32Array | null, d: LinearSizes): void {
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
  if (db !== null) {
    for (let o = 0; o < N; o++) {
      let s = 0;
      for (let i = 0; i < batch; i++) s += dy[i * N + o]!;
      db[o] = s;
    }
  }
}
