/**
 * lib/host/sgemm_js.ts, the host conv's product where WebAssembly SIMD is missing, against the
 * float64 reference (test/support/gemm_reference.ts, the one the WebAssembly sgemm is held to):
 * every transpose combination over ragged sizes, accumulate, alpha, bias, offsets and leading
 * dimensions, and nothing written outside C's m×n block.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SgemmArgs } from "../lib/host/gemm/sgemm";
import { sgemmJs } from "../lib/host/sgemm_js";
import { Generator } from "../lib/random";
import { checkGemm, stridedGemmArgs } from "./support/gemm_reference";

const TRANSPOSES = [[false, false], [false, true], [true, false], [true, true]] as const;
const g = new Generator(11);
const random = (n: number) => g.uniformArray(n, -1, 1);

const check = (args: SgemmArgs) => checkGemm(sgemmJs, args);

const dense = (m: number, n: number, k: number, transA: boolean, transB: boolean, extra: Partial<SgemmArgs> = {}): SgemmArgs =>
  ({ m, n, k, a: random(m * k), transA, b: random(k * n), transB, c: random(m * n), ...extra });

describe("sgemm_js (the JavaScript fallback product)", () => {
  it("every transpose combination, for every m, n, k in {0, 1, 3, 4, 5, 9}, plain, accumulating, scaled, with bias", () => {
    const sizes = [0, 1, 3, 4, 5, 9];
    for (const [transA, transB] of TRANSPOSES) {
      for (const m of sizes) for (const n of sizes) for (const k of sizes) {
        check(dense(m, n, k, transA, transB));
        check(dense(m, n, k, transA, transB, { accumulate: true, alpha: -0.5, bias: random(n) }));
      }
    }
  });

  it("the host conv's shapes (LeNet's per-image products) and larger ragged ones", () => {
    const shapes: [number, number, number][] = [[6, 784, 25], [16, 100, 150], [6, 25, 784], [150, 100, 16], [33, 65, 129]];
    for (const [transA, transB] of TRANSPOSES) for (const [m, n, k] of shapes) check(dense(m, n, k, transA, transB, { accumulate: true }));
  });

  it("operands at offsets in larger arrays, with leading dimensions", () => {
    for (const [transA, transB] of TRANSPOSES) {
      for (const [m, k, n] of [[3, 4, 5], [37, 29, 41], [20, 5, 3]] as const) {
        const args = stridedGemmArgs(m, k, n, transA, transB, random);
        const ldc = args.ldc!;
        check(args);
        check({ ...args, c: random(13 + m * ldc + 4), accumulate: true });
      }
    }
  });
});
