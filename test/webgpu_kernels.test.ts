/**
 * MYLINEAR's WebGPU kernels, the parts that need no GPU: which shader each size gets, that a
 * pipeline key covers everything its WGSL depends on, the subgroup rule, and defineFunction's
 * kernel hook (exercised with a kernel registered for the cpu backend). The kernels themselves run
 * in webgpu_dawn.test.ts (Node, Dawn) and in the Deno suite (wgpu).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../lib/backend";
import { BackwardContractError, defineFunction } from "../lib/function";
import { LinearF } from "../lib/ops/linear";
import { Generator } from "../lib/random";
import { decideSubgroups } from "../lib/webgpu/device";
import { DOT_MAX_ROWS, dotWgsl } from "../lib/webgpu/dot";
import { gemmWgsl, tileProblem, TILES, type GemmSpec } from "../lib/webgpu/gemm";
import { chooseTile, fitsWebGPUGrid, planLinear, type LinearProduct } from "../lib/webgpu/linear_kernels";

const PRODUCTS: LinearProduct[] = ["forward", "backpropInput", "backpropWeight"];

describe("planLinear: which shader each product and size gets", () => {
  it("a forward of at most 4 rows is the dot kernel; everything else the tiled product", () => {
    for (let batch = 1; batch <= DOT_MAX_ROWS; batch++) {
      assert.equal(planLinear("forward", { batch, inFeatures: 7, outFeatures: 3 }, { subgroups: false }).kind, "dot");
      assert.equal(planLinear("backpropInput", { batch, inFeatures: 7, outFeatures: 3 }, { subgroups: false }).kind, "gemm");
    }
    assert.equal(planLinear("forward", { batch: DOT_MAX_ROWS + 1, inFeatures: 7, outFeatures: 3 }, { subgroups: false }).kind, "gemm");
  });

  it("each product reads its operands in place: X·Wᵀ (mk·nk, bias), dY·W (mk·kn), dYᵀ·X (km·kn, row sums)", () => {
    const d = { batch: 64, inFeatures: 32, outFeatures: 16 };
    const specs = PRODUCTS.map((p) => planLinear(p, d, { subgroups: false }).spec as GemmSpec);
    assert.deepEqual(specs.map((s) => [s.a, s.b, s.bias, s.rowSum]), [["mk", "nk", true, false], ["mk", "kn", false, false], ["km", "kn", false, true]]);
    // M×N output and K depth: forward [batch, out] over in; dX [batch, in] over out; dW [out, in] over batch.
    assert.deepEqual(PRODUCTS.map((p) => planLinear(p, d, { subgroups: false }).dims), [[64, 16, 32], [64, 32, 16], [16, 32, 64]]);
  });

  it("vec4 access only where the contiguous dimension is a multiple of 4; bounds checks only where a tile does not fit", () => {
    const f = planLinear("forward", { batch: 37, inFeatures: 5, outFeatures: 3 }, { subgroups: false }).spec as GemmSpec;
    assert.deepEqual([f.vecA, f.vecB, f.vecC, f.fitM, f.fitN, f.fitK], [false, false, false, false, false, false]);
    const g = planLinear("forward", { batch: 512, inFeatures: 512, outFeatures: 512 }, { subgroups: false }).spec as GemmSpec;
    assert.deepEqual([g.vecA, g.vecB, g.vecC, g.fitM, g.fitN, g.fitK], [true, true, true, true, true, true]);
    // dW = dYᵀ·X for 9 × 12 → 7: A = dY is contiguous along out = 7 (no vec4), B = X along in = 12.
    const w = planLinear("backpropWeight", { batch: 9, inFeatures: 12, outFeatures: 7 }, { subgroups: false }).spec as GemmSpec;
    assert.deepEqual([w.vecA, w.vecB, w.vecC, w.vecS], [false, true, true, false]);
  });

  it("tiles shrink until the grid has enough workgroups for a large GPU", () => {
    assert.equal(chooseTile(8192, 4096), "128x128x8");
    assert.equal(chooseTile(4096, 1024), "128x128x8");
    assert.equal(chooseTile(1024, 1024), "64x64x16");
    assert.equal(chooseTile(256, 256), "32x32x16");
    assert.equal(chooseTile(1, 1), "32x32x16");
    assert.equal(planLinear("backpropWeight", { batch: 8192, inFeatures: 4096, outFeatures: 4096 }, { subgroups: false }).workgroups.join(), "32,32,1");
  });

  it("layers too large for WebGPU's 65535-workgroup grid, and inputs tfjs's ops would reject, are left to forward", () => {
    assert.equal(fitsWebGPUGrid({ batch: 65535 * 32, inFeatures: 8, outFeatures: 8 }), true);
    assert.equal(fitsWebGPUGrid({ batch: 65535 * 32 + 1, inFeatures: 8, outFeatures: 8 }), false);
    assert.equal(fitsWebGPUGrid({ batch: 8, inFeatures: 8, outFeatures: 65535 * 32 + 1 }), false);
    const accepts = LinearF.definition.kernel!.accepts;
    const [x, w, b] = [tf.zeros([3, 4]) as tf.Tensor2D, tf.zeros([2, 4]) as tf.Tensor2D, tf.zeros([2]) as tf.Tensor1D];
    assert.equal(accepts(x, w, b), true);
    assert.equal(accepts(tf.zeros([3, 5]) as tf.Tensor2D, w, b), false, "x and weight disagree on in_features");
    assert.equal(accepts(x, w, tf.zeros([1]) as tf.Tensor1D), false, "a broadcast bias");
    assert.equal(accepts(tf.zeros([3, 4], "int32") as tf.Tensor2D, w, b), false, "int32");
    assert.equal(accepts(tf.zeros([0, 4]) as tf.Tensor2D, w, b), false, "an empty batch");
  });

  it("every offered tile is valid, and invalid ones are refused with the reason", () => {
    for (const [name, tile] of Object.entries(TILES)) assert.equal(tileProblem(tile), null, name);
    assert.match(tileProblem({ bm: 128, bn: 128, bk: 8, tm: 6, tn: 8 })!, /multiples of 4/);
    assert.match(tileProblem({ bm: 256, bn: 256, bk: 16, tm: 8, tn: 8 })!, /threads|workgroup memory/);
    assert.throws(() => gemmWgsl({ ...(planLinear("forward", { batch: 8, inFeatures: 8, outFeatures: 8 }, { subgroups: false }).spec as GemmSpec), tile: { bm: 64, bn: 64, bk: 6, tm: 4, tn: 4 } }), /BK must be a multiple of 4/);
  });
});

describe("pipeline keys", () => {
  it("one key per WGSL text: plans with the same key generate the same shader, different keys different ones", () => {
    const g = new Generator(11);
    const byKey = new Map<string, string>();
    const byText = new Map<string, string>();
    for (let i = 0; i < 300; i++) {
      const d = { batch: g.integer(1, 300), inFeatures: g.integer(1, 300), outFeatures: g.integer(1, 300) };
      const product = PRODUCTS[g.integer(0, 2)]!;
      const subgroups = g.integer(0, 1) === 1;
      const tile = g.integer(0, 1) === 1 ? (Object.keys(TILES)[g.integer(0, 2)] as keyof typeof TILES) : undefined;
      const plan = planLinear(product, d, { subgroups, tile });
      const text = plan.wgsl();
      if (byKey.has(plan.key)) assert.equal(byKey.get(plan.key), text, `two shaders under the key ${plan.key}`);
      else byKey.set(plan.key, text);
      if (byText.has(text)) assert.equal(byText.get(text), plan.key, "one shader under two keys");
      else byText.set(text, plan.key);
    }
    assert.ok(byKey.size > 30, `only ${byKey.size} specialisations drawn`);
  });

  it("only the subgroup variant uses subgroups, and its `enable subgroups;` opens the module", () => {
    for (let rows = 1; rows <= DOT_MAX_ROWS; rows++) {
      for (const vecK of [false, true]) {
        const shared = dotWgsl({ rows, vecK, subgroups: false, enableDirective: false });
        assert.doesNotMatch(shared, /subgroup/);
        const withEnable = dotWgsl({ rows, vecK, subgroups: true, enableDirective: true });
        assert.match(withEnable, /^enable subgroups;\n/);
        assert.match(withEnable, /subgroupAdd\(acc0\)/);
        const without = dotWgsl({ rows, vecK, subgroups: true, enableDirective: false });
        assert.doesNotMatch(without, /^enable /m);
        assert.match(without, /subgroupAdd\(acc0\)/);
      }
    }
  });
});

describe("decideSubgroups", () => {
  const ok = { ok: true, enableDirective: true, subgroupSize: 32 };
  it("uses subgroups only with the device feature, a passing probe, and not turned off", () => {
    assert.equal(decideSubgroups({ disabled: false, feature: true, probe: ok }).use, true);
    for (const facts of [
      { disabled: true, feature: true, probe: ok },
      { disabled: false, feature: false, probe: null },
      { disabled: false, feature: true, probe: null },
      { disabled: false, feature: true, probe: { ok: false, error: "rejected" } },
    ]) {
      const d = decideSubgroups(facts);
      assert.equal(d.use, false, JSON.stringify(facts));
      assert.equal(d.enableDirective, false);
      assert.match(d.why, /subgroups/);
    }
    assert.match(decideSubgroups({ disabled: false, feature: true, probe: { ok: false, error: "naga said no" } }).why, /naga said no/);
  });
  it("drops `enable subgroups;` where the compiler accepted the probe only without it (wgpu)", () => {
    const d = decideSubgroups({ disabled: false, feature: true, probe: { ...ok, enableDirective: false } });
    assert.deepEqual([d.use, d.enableDirective], [true, false]);
  });
});

describe("defineFunction's kernel hook (a kernel registered for the cpu backend)", () => {
  // y = 2x as one kernel; backward is checked through the same contract as customGrad's path.
  let kernelCalls = 0;
  const kernelName = "GradlabTestDouble";
  const double = (backward: (dy: tf.Tensor) => tf.Tensor) =>
    defineFunction<[tf.Tensor, tf.Tensor]>({
      name: "DOUBLE",
      inputNames: ["x", "unused"],
      forward: (ctx, x) => {
        ctx.saveForBackward(x);
        return tf.mul(x, 2);
      },
      backward: (ctx, dy) => {
        assert.equal(ctx.saved.length, 1, "ctx.saved holds what forward would have saved");
        return [backward(dy), null];
      },
      kernel: { name: kernelName, inputs: ["x", "unused"], saved: ["x"], accepts: (x) => x.size < 100 },
    });

  it("runs the kernel where registered and accepted, forward elsewhere, and the same backward in both", async () => {
    await setBackend("cpu");
    tf.registerKernel({
      kernelName,
      backendName: "cpu",
      kernelFunc: ({ inputs, backend }) => {
        kernelCalls++;
        const b = backend as unknown as { readSync(id: object): Float32Array; makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo };
        const x = inputs["x"]!;
        return b.makeTensorInfo(x.shape, "float32", b.readSync(x.dataId).map((v) => 2 * v));
      },
    });
    try {
      const op = double((dy) => tf.mul(dy, 2));
      const x = tf.tensor1d([1, -2, 3]);
      const unused = tf.scalar(0);
      const [dx, du] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(op.apply(a, b)))([x, unused]);
      assert.equal(kernelCalls, 1);
      assert.deepEqual(Array.from(dx!.dataSync()), [2, 2, 2]);
      assert.deepEqual(Array.from(du!.dataSync()), [0]);
      const big = tf.ones([200]);
      const y = op.apply(big, unused);
      assert.equal(kernelCalls, 1, "an input the kernel does not accept runs forward instead");
      assert.equal(y.dataSync()[0], 2);
      tf.dispose([x, unused, dx!, du!, big, y]);

      const wrong = double((dy) => tf.concat([dy, dy]));
      assert.throws(
        () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(wrong.apply(a, b)))([tf.tensor1d([1, 2]), tf.scalar(0)]),
        (e: Error) => e instanceof BackwardContractError && /DOUBLE\.backward: gradient for input 0 \(x\) has shape \[4\], but the input has shape \[2\]/.test(e.message),
      );
    } finally {
      tf.unregisterKernel(kernelName, "cpu");
    }
  });
});
