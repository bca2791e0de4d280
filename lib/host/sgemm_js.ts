/**
 * The float32 matrix product as plain JavaScript loops, with the WebAssembly sgemm's signature
 * (gemm/sgemm.ts): C = alpha·op(A)·op(B) [+ C] [+ bias on every row]. The host conv (conv_engine.ts)
 * and the linear products (linear_products.ts) run it where that module is unavailable (an engine
 * without WebAssembly SIMD).
 *
 * Two loop shapes keep the innermost index on contiguous memory whatever the transposes:
 *   op(B) = B     a row of C accumulates rows of B scaled by A's entries (four rows of B per pass,
 *                 so the row of C is read and written a quarter as often);
 *   op(B) = Bᵀ    each C entry is a dot product of an A row with a stored B row (four B rows per
 *                 pass share each load of A).
 * Sums run in float64 and are rounded to float32 once, when C is written. Unlike the module, it
 * does not check its arguments (its callers derive them from checked shapes)
 * and C must not overlap A or B (rows of C are written while A is still being read).
 */
import type { SgemmArgs } from "./gemm/sgemm";

let rowScratch = new Float64Array(256);

export function sgemmJs(args: SgemmArgs): void {
  const { m, n, k, a, b, c } = args;
  const transA = args.transA === true;
  // A(i, p) is a[aOffset + i·ai + p·ap], whichever way A is stored.
  const lda = args.lda ?? (transA ? m : k);
  const ai = transA ? 1 : lda;
  const ap = transA ? lda : 1;
  const aOffset = args.aOffset ?? 0;
  const bOffset = args.bOffset ?? 0;
  const ldb = args.ldb ?? (args.transB === true ? k : n);
  const cOffset = args.cOffset ?? 0;
  const ldc = args.ldc ?? n;
  const alpha = args.alpha ?? 1;
  const accumulate = args.accumulate === true;
  const bias = args.bias;
  const biasOffset = args.biasOffset ?? 0;
  if (rowScratch.length < n) rowScratch = new Float64Array(n);
  const row = rowScratch;
  for (let i = 0; i < m; i++) {
    const aRow = aOffset + i * ai;
    if (args.transB === true) dotRow(a, aRow, ap, b, bOffset, ldb, k, n, row);
    else axpyRow(a, aRow, ap, b, bOffset, ldb, k, n, row);
    const cRow = cOffset + i * ldc;
    for (let j = 0; j < n; j++) {
      let v = alpha * row[j]!;
      if (accumulate) v += c[cRow + j]!;
      if (bias !== undefined) v += bias[biasOffset + j]!;
      c[cRow + j] = v;
    }
  }
}

/** row[0, n) = Σ_p A(i, p)·B[p, :], B stored k×n: rows of B added four at a time. */
function axpyRow(a: Float32Array, aRow: number, ap: number, b: Float32Array, bOffset: number, ldb: number, k: number, n: number, row: Float64Array): void {
  row.fill(0, 0, n);
  let p = 0;
  for (; p + 4 <= k; p += 4) {
    const a0 = a[aRow + p * ap]!, a1 = a[aRow + (p + 1) * ap]!, a2 = a[aRow + (p + 2) * ap]!, a3 = a[aRow + (p + 3) * ap]!;
    const b0 = bOffset + p * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
    for (let j = 0; j < n; j++) row[j] = row[j]! + a0 * b[b0 + j]! + a1 * b[b1 + j]! + a2 * b[b2 + j]! + a3 * b[b3 + j]!;
  }
  for (; p < k; p++) {
    const a0 = a[aRow + p * ap]!;
    const b0 = bOffset + p * ldb;
    for (let j = 0; j < n; j++) row[j] = row[j]! + a0 * b[b0 + j]!;
  }
}

/** row[0, n) = Σ_p A(i, p)·B[j, p], B stored n×k: four dot products at a time. */
function dotRow(a: Float32Array, aRow: number, ap: number, b: Float32Array, bOffset: number, ldb: number, k: number, n: number, row: Float64Array): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const b0 = bOffset + j * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let p = 0, at = aRow; p < k; p++, at += ap) {
      const x = a[at]!;
      s0 += x * b[b0 + p]!;
      s1 += x * b[b1 + p]!;
      s2 += x * b[b2 + p]!;
      s3 += x * b[b3 + p]!;
    }
    row[j] = s0;
    row[j + 1] = s1;
    row[j + 2] = s2;
    row[j + 3] = s3;
  }
  for (; j < n; j++) {
    const b0 = bOffset + j * ldb;
    let s = 0;
    for (let p = 0, at = aRow; p < k; p++, at += ap) s += a[at]! * b[b0 + p]!;
    row[j] = s;
  }
}
