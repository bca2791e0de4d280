/**
 * The float64 reference for lib/host/gemm's sgemm: C = α·op(A)·op(B) [+ C] [+ bias], read from the
 * same arrays, offsets and leading dimensions the call gets, with a bound on the float32 round-off
 * of each element.
 */
import assert from "node:assert/strict";
import type { SgemmArgs } from "../../lib/host/gemm/sgemm";
import { FLOAT32_UNIT_ROUNDOFF } from "./tolerances";

export interface GemmReference {
  /** The exact result (to float64), m×n dense. */
  value: Float64Array;
  /**
   * How far float32 may be from it, per element: (2k + 4)·u times the magnitudes summed. That is
   * the γₖ bound with room for the K-blocked order and the final α, C and bias roundings; a missed
   * or wrong term is off by about 1/k of the magnitudes, far beyond it.
   */
  bound: Float64Array;
}

/** The reference for `args`; call it before sgemm when accumulating (it reads C as it was). */
export function referenceGemm(args: SgemmArgs): GemmReference {
  const { m, n, k, a, b, c, bias } = args;
  const alpha = args.alpha ?? 1;
  const transA = args.transA ?? false, transB = args.transB ?? false;
  const aOffset = args.aOffset ?? 0, bOffset = args.bOffset ?? 0, cOffset = args.cOffset ?? 0, biasOffset = args.biasOffset ?? 0;
  const lda = args.lda ?? (transA ? m : k), ldb = args.ldb ?? (transB ? k : n), ldc = args.ldc ?? n;
  const opA = (i: number, p: number) => a[aOffset + (transA ? p * lda + i : i * lda + p)]!;
  const opB = (p: number, j: number) => b[bOffset + (transB ? j * ldb + p : p * ldb + j)]!;
  const value = new Float64Array(m * n);
  const bound = new Float64Array(m * n);
  const roundoff = (2 * k + 4) * FLOAT32_UNIT_ROUNDOFF;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      let magnitude = 0;
      for (let p = 0; p < k; p++) {
        const term = opA(i, p) * opB(p, j);
        sum += term;
        magnitude += Math.abs(term);
      }
      let v = alpha * sum;
      let mag = Math.abs(alpha) * magnitude;
      if (args.accumulate) {
        v += c[cOffset + i * ldc + j]!;
        mag += Math.abs(c[cOffset + i * ldc + j]!);
      }
      if (bias !== undefined) {
        v += bias[biasOffset + j]!;
        mag += Math.abs(bias[biasOffset + j]!);
      }
      value[i * n + j] = v;
      bound[i * n + j] = roundoff * mag;
    }
  }
  return { value, bound };
}

/** "4×3·3×2 (transA, bias)": a product's sizes and options, for messages. */
function gemmLabel(args: SgemmArgs): string {
  const flags = [args.transA && "transA", args.transB && "transB", args.accumulate && "accumulate", args.bias && "bias",
    args.alpha !== undefined && `alpha=${args.alpha}`].filter(Boolean);
  return `${args.m}×${args.k}·${args.k}×${args.n}${flags.length ? ` (${flags.join(", ")})` : ""}`;
}

/**
 * Runs `gemm` on `args` and checks C's m×n block against the reference, within its round-off
 * bound, and that every other element of c is as it was (NaN sentinels included).
 */
export function checkGemm(gemm: (args: SgemmArgs) => void, args: SgemmArgs): void {
  const { m, n } = args;
  const ldc = args.ldc ?? n;
  const cOffset = args.cOffset ?? 0;
  const expected = referenceGemm(args);
  const before = args.c.slice();
  gemm(args);
  const inBlock = new Uint8Array(args.c.length);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const at = cOffset + i * ldc + j;
      inBlock[at] = 1;
      const got = args.c[at]!;
      const want = expected.value[i * n + j]!;
      if (!(Math.abs(got - want) <= expected.bound[i * n + j]!)) {
        assert.fail(`${gemmLabel(args)}: C[${i}][${j}] is ${got}, expected ${want} (round-off bound ${expected.bound[i * n + j]})`);
      }
    }
  }
  for (let at = 0; at < args.c.length; at++) {
    if (!inBlock[at] && !Object.is(args.c[at], before[at])) {
      assert.fail(`${gemmLabel(args)}: c[${at}], outside C's block, changed from ${before[at]} to ${args.c[at]}`);
    }
  }
}

/**
 * A product of the given sizes whose operands sit at offsets inside larger arrays, with leading
 * dimensions past their rows (A +3, B +5, C +2) and C filled with NaN outside and inside its
 * block, so a call that reads or writes out of place shows; the bias at an offset too.
 */
export function stridedGemmArgs(m: number, k: number, n: number, transA: boolean, transB: boolean, random: (n: number) => Float32Array): SgemmArgs {
  const aRows = transA ? k : m, aCols = transA ? m : k;
  const bRows = transB ? n : k, bCols = transB ? k : n;
  const lda = aCols + 3, ldb = bCols + 5, ldc = n + 2;
  return {
    m, n, k, transA, transB,
    a: random(11 + aRows * lda), aOffset: 11, lda,
    b: random(6 + bRows * ldb), bOffset: 6, ldb,
    c: new Float32Array(13 + m * ldc + 4).fill(Number.NaN), cOffset: 13, ldc,
    bias: random(n + 9), biasOffset: 9,
  };
}
