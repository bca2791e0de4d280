/**
 * lib/host/gemm's WebAssembly sgemm against a float64 reference (test/support/gemm_reference.ts):
 * every transpose combination, sizes around the 4×8 register block and the K/M/N cache blocks
 * (256, 128, 1024), accumulate, alpha, bias, offsets and leading dimensions, memory growth, the
 * argument checks, and that the committed module is what build.sh makes of sgemm.c.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { gemmAvailable, sgemm, type SgemmArgs } from "../lib/host/gemm/sgemm";
import { sgemmModule } from "../lib/host/gemm/sgemm_module";
import { Generator } from "../lib/random";
import { checkGemm, referenceGemm, stridedGemmArgs } from "./support/gemm_reference";
import { wasmBuildToolsMissing } from "./support/wasm_build_tools";

const GEMM_DIR = fileURLToPath(new URL("../lib/host/gemm/", import.meta.url));
const TRANSPOSES = [[false, false], [false, true], [true, false], [true, true]] as const;

const g = new Generator(7);
const random = (n: number) => g.uniformArray(n, -1, 1);

/** Dense operands for m×k·k×n with the given transposes (A stored k×m when transA, B n×k when transB). */
function dense(m: number, n: number, k: number, transA: boolean, transB: boolean, extra: Partial<SgemmArgs> = {}): SgemmArgs {
  return { m, n, k, a: random(m * k), transA, b: random(k * n), transB, c: random(m * n), ...extra };
}

const check = (args: SgemmArgs) => checkGemm(sgemm, args);

describe("host sgemm (WebAssembly SIMD)", () => {
  it("is available in Node 20 (WebAssembly with 128-bit SIMD)", () => {
    assert.equal(gemmAvailable(), true);
  });

  it("is unavailable, and sgemm says why, without WebAssembly SIMD or where synchronous compilation is refused", () => {
    // A fresh process per engine: the module is instantiated once per process.
    const engines = {
      // As an engine without SIMD does: the module fails validation. (Node itself needs WebAssembly to load modules.)
      "no SIMD": "WebAssembly.validate = () => false;",
      // As Chrome does on its main thread for modules over 4 KB.
      "no synchronous compilation": "WebAssembly.Module = function () { throw new RangeError('WebAssembly.Compile is disallowed on the main thread'); };",
    };
    for (const [engine, setup] of Object.entries(engines)) {
      const script = `${setup}
        const { gemmAvailable, sgemm } = await import(${JSON.stringify(join(GEMM_DIR, "sgemm.ts"))});
        let error = null;
        try { sgemm({ m: 1, n: 1, k: 1, a: new Float32Array(1), b: new Float32Array(1), c: new Float32Array(1) }); } catch (e) { error = e.message; }
        console.log(JSON.stringify({ available: gemmAvailable(), error }));`;
      const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" });
      assert.equal(child.status, 0, `${engine}: ${child.stderr}`);
      const r = JSON.parse(child.stdout.trim()) as { available: boolean; error: string | null };
      assert.equal(r.available, false, engine);
      const why = engine === "no SIMD" ? /this engine lacks WebAssembly SIMD \(128-bit\)/ : /this engine would not compile the module synchronously \(WebAssembly\.Compile is disallowed on the main thread\)/;
      assert.match(r.error ?? "", new RegExp(`^sgemm: ${why.source}; check gemmAvailable\\(\\) and take another path$`), engine);
    }
  });

  it("every transpose combination, for every m, n, k in {0, 1, 3, 7, 8, 9, 17}", () => {
    const sizes = [0, 1, 3, 7, 8, 9, 17];
    for (const [transA, transB] of TRANSPOSES) {
      for (const m of sizes) for (const n of sizes) for (const k of sizes) check(dense(m, n, k, transA, transB));
    }
  });

  it("ragged sizes around the register and cache blocks: K past 256 and 512, M past 128, N past 1024", () => {
    const shapes: [number, number, number][] = [
      [63, 65, 129], [129, 257, 65], [65, 63, 257], [257, 9, 17], [1, 257, 129], [129, 1, 257], [17, 600, 19], [9, 17, 1031],
      [3, 5, 2049],
    ];
    for (const [transA, transB] of TRANSPOSES) {
      for (const [m, k, n] of shapes) check(dense(m, n, k, transA, transB));
    }
  });

  it("narrow outputs (n < 8: computed as Cᵀ), with bias and accumulate", () => {
    for (const [transA, transB] of TRANSPOSES) {
      for (const [m, k, n] of [[32, 16, 1], [33, 300, 2], [257, 129, 3], [16, 32, 7], [9, 1, 1]] as const) {
        check(dense(m, n, k, transA, transB));
        check(dense(m, n, k, transA, transB, { bias: random(n) }));
        check(dense(m, n, k, transA, transB, { bias: random(n), accumulate: true, alpha: 0.5 }));
      }
    }
  });

  it("accumulate adds to C, alpha scales the product alone, and the bias is added to every row", () => {
    for (const [transA, transB] of TRANSPOSES) {
      for (const [m, k, n] of [[5, 3, 9], [32, 2, 16], [64, 300, 40], [130, 20, 1030]] as const) {
        check(dense(m, n, k, transA, transB, { accumulate: true }));
        check(dense(m, n, k, transA, transB, { alpha: -0.75 }));
        check(dense(m, n, k, transA, transB, { bias: random(n) }));
        check(dense(m, n, k, transA, transB, { bias: random(n), accumulate: true, alpha: 2 }));
      }
    }
    // By hand: [1 2]·[3 4]ᵀ·0.5 + C 10 + bias 100.
    const c = new Float32Array([10]);
    sgemm({ m: 1, n: 1, k: 2, a: new Float32Array([1, 2]), b: new Float32Array([3, 4]), c, alpha: 0.5, accumulate: true, bias: new Float32Array([100]) });
    assert.deepEqual([...c], [115.5]);
  });

  it("k = 0 gives the bias (plus C when accumulating); m = 0 or n = 0 writes nothing", () => {
    const empty = new Float32Array(0);
    const c = new Float32Array([1, 2, 3, 4, 5, 6]);
    sgemm({ m: 2, n: 3, k: 0, a: empty, b: empty, c, bias: new Float32Array([10, 20, 30]) });
    assert.deepEqual([...c], [10, 20, 30, 10, 20, 30]);
    sgemm({ m: 2, n: 3, k: 0, a: empty, b: empty, c, accumulate: true, bias: new Float32Array([1, 1, 1]) });
    assert.deepEqual([...c], [11, 21, 31, 11, 21, 31]);
    sgemm({ m: 2, n: 3, k: 0, a: empty, b: empty, c });
    assert.deepEqual([...c], [0, 0, 0, 0, 0, 0]);
    const untouched = new Float32Array([7, 7]);
    sgemm({ m: 0, n: 2, k: 3, a: empty, b: random(6), c: untouched, bias: new Float32Array([1, 1]) });
    sgemm({ m: 2, n: 0, k: 3, a: random(6), b: empty, c: untouched });
    assert.deepEqual([...untouched], [7, 7]);
  });

  it("operands at offsets in larger arrays, with leading dimensions: nothing outside C's m×n block changes", () => {
    for (const [transA, transB] of TRANSPOSES) {
      for (const [m, k, n] of [[3, 4, 5], [37, 29, 41], [130, 300, 9], [20, 5, 3]] as const) {
        const args = stridedGemmArgs(m, k, n, transA, transB, random);
        const ldc = args.ldc!;
        check(args);
        check({ ...args, c: random(13 + m * ldc + 4), accumulate: true });
        // Dense C at an offset: copied out in one piece rather than row by row.
        check({ ...args, c: new Float32Array(13 + m * n + 4).fill(Number.NaN), ldc: undefined });
      }
    }
  });

  it("C may be the same array as A or B: the operands are read before C is written", () => {
    const m = 9, k = 9, n = 9;
    const shared = random(3 * 81);
    const a = shared.slice(0, 81), b = shared.slice(81, 162);
    const expected = referenceGemm({ m, n, k, a, b, c: new Float32Array(81) });
    sgemm({ m, n, k, a: shared, b: shared, bOffset: 81, c: shared, cOffset: 0 });
    for (let i = 0; i < 81; i++) assert.ok(Math.abs(shared[i]! - expected.value[i]!) <= expected.bound[i]!, `element ${i}: ${shared[i]} vs ${expected.value[i]}`);
  });

  it("calls that outgrow the module's memory grow it, and smaller calls after still give the right results", () => {
    const small = dense(8, 16, 4, false, true);
    check(small);
    const before = sgemmModule().heap.length;
    check(dense(3000, 5, 200, false, false, { bias: random(5) }));
    check(dense(5, 3000, 200, true, true));
    assert.ok(sgemmModule().heap.length > before, `memory did not grow: ${sgemmModule().heap.length} floats, was ${before}`);
    // Same output size as the first call: the view it was copied out through belonged to the old memory.
    check({ ...small, c: random(8 * 16) });
    check(dense(16, 8, 33, true, false));
  });

  it("rejects bad arguments, naming the argument and what was expected, and leaves C alone", () => {
    const c = new Float32Array(15).fill(3);
    const ok: SgemmArgs = { m: 3, n: 5, k: 4, a: new Float32Array(12), b: new Float32Array(20), c };
    const cases: [Partial<SgemmArgs> | Record<string, unknown>, string, RegExp][] = [
      [{ m: 2.5 }, "RangeError", /^sgemm: m must be a non-negative integer, got 2\.5$/],
      [{ n: -1 }, "RangeError", /^sgemm: n must be a non-negative integer, got -1$/],
      [{ k: Number.NaN }, "RangeError", /^sgemm: k must be a non-negative integer, got NaN$/],
      [{ m: "3" }, "RangeError", /^sgemm: m must be a non-negative integer, got "3"$/],
      [{ a: new Float64Array(12) }, "TypeError", /^sgemm: a must be a Float32Array, got Float64Array$/],
      [{ b: [1, 2] }, "TypeError", /^sgemm: b must be a Float32Array, got Array$/],
      [{ c: undefined }, "TypeError", /^sgemm: c must be a Float32Array, got undefined$/],
      [{ a: new Float32Array(11) }, "RangeError", /^sgemm: a is too short: A \(stored m×k = 3×4\) with lda 4 from offset 0 needs 12 elements, a has 11$/],
      [{ transA: true, aOffset: 1 }, "RangeError", /^sgemm: a is too short: A \(stored k×m = 4×3, transA\) with lda 3 from offset 1 needs 13 elements, a has 12$/],
      [{ transB: true, ldb: 5 }, "RangeError", /^sgemm: b is too short: B \(stored n×k = 5×4, transB\) with ldb 5 from offset 0 needs 24 elements, b has 20$/],
      [{ lda: 3 }, "RangeError", /^sgemm: lda must be an integer ≥ 4 \(the row length of A \(stored m×k = 3×4\)\), got 3$/],
      [{ ldc: 5.5 }, "RangeError", /^sgemm: ldc must be an integer ≥ 5 \(the row length of C \(m×n = 3×5\)\), got 5\.5$/],
      [{ bOffset: -1 }, "RangeError", /^sgemm: bOffset must be a non-negative integer, got -1$/],
      [{ c: new Float32Array(14) }, "RangeError", /^sgemm: c is too short: C \(m×n = 3×5\) with ldc 5 from offset 0 needs 15 elements, c has 14$/],
      [{ ldc: 6 }, "RangeError", /^sgemm: c is too short: C \(m×n = 3×5\) with ldc 6 from offset 0 needs 17 elements, c has 15$/],
      [{ bias: new Float32Array(5), biasOffset: 1 }, "RangeError", /^sgemm: bias is too short: the bias \(n = 5 elements\) from offset 1 needs 6 elements, bias has 5$/],
      [{ bias: new Float64Array(5) }, "TypeError", /^sgemm: bias must be a Float32Array, got Float64Array$/],
      [{ alpha: "2" }, "TypeError", /^sgemm: alpha must be a number, got "2"$/],
    ];
    for (const [change, name, message] of cases) {
      assert.throws(() => sgemm({ ...ok, ...change } as SgemmArgs), { name, message }, `sgemm with ${JSON.stringify(change)}`);
    }
    assert.deepEqual([...c], new Array(15).fill(3));
    sgemm(ok);
    assert.deepEqual([...c], new Array(15).fill(0));
  });

  const clangMissing = wasmBuildToolsMissing();
  it("the committed sgemm_wasm.ts is what build.sh makes of sgemm.c (a rebuild gives the same bytes)", { skip: clangMissing ?? false }, () => {
    const out = mkdtempSync(join(tmpdir(), "gradlab-sgemm-"));
    try {
      const r = spawnSync("bash", [join(GEMM_DIR, "build.sh"), out], { encoding: "utf8", timeout: 120_000 });
      assert.equal(r.status, 0, `build.sh failed (exit ${r.status}): ${r.stderr}`);
      const rebuilt = readFileSync(join(out, "sgemm_wasm.ts"), "utf8");
      const committed = readFileSync(join(GEMM_DIR, "sgemm_wasm.ts"), "utf8");
      assert.ok(rebuilt === committed, "lib/host/gemm/sgemm_wasm.ts differs from a rebuild of sgemm.c: run bash lib/host/gemm/build.sh and commit the result");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
