/**
 * gradlab's WGSL kernels for MYLINEAR (lib/webgpu/) against the cpu backend: forward and all three
 * gradients, relative error ≤ 1e-5, on fresh random data every run (the seed is printed;
 * GRADLAB_TEST_SEED=N replays it). Every tile, layout and bounds specialisation, the dot kernel of
 * small batches, the pipeline cache, the debug switch, the subgroup choice and flat memory over
 * training steps. Here WebGPU is Deno's software adapter (llvmpipe); without an adapter every test
 * is reported as ignored, with the reason.
 */
import * as tf from "@tensorflow/tfjs";
import { Linear } from "../../lib/nn/linear";
import { mseLoss } from "../../lib/nn/mse_loss";
import { SGD } from "../../lib/optim/sgd";
import { backward } from "../../lib/autograd/backward";
import { LinearF } from "../../lib/ops/linear";
import { Generator } from "../../lib/random";
import { decideSubgroups, runSubgroupProbe, subgroupDecision, webgpuDevice } from "../../lib/webgpu/device";
import { dotWgsl } from "../../lib/webgpu/dot";
import { TILES, type TileName } from "../../lib/webgpu/gemm";
import { planLinear, setWebGPUTile, webgpuKernelsEnabled, type LinearDims } from "../../lib/webgpu/linear_kernels";
import { compiledKeys, setWebGPUDebug } from "../../lib/webgpu/runner";
import { backendTest, useBackend } from "./_support";

const SEED = Number(Deno.env.get("GRADLAB_TEST_SEED") ?? crypto.getRandomValues(new Uint32Array(1))[0]);
console.log(`linear_webgpu_kernels_test: data seed ${SEED} (GRADLAB_TEST_SEED=${SEED} replays it)`);
const generator = new Generator(SEED);

/** The bound for forward and every gradient, float32 on both sides. */
const RTOL = 1e-5;

interface Case extends LinearDims {
  x: Float32Array;
  w: Float32Array;
  b: Float32Array;
  dy: Float32Array;
}

function drawCase(batch: number, inFeatures: number, outFeatures: number): Case {
  const normal = (n: number) => Float32Array.from(generator.normalArray(n));
  return { batch, inFeatures, outFeatures, x: normal(batch * inFeatures), w: normal(outFeatures * inFeatures), b: normal(outFeatures), dy: normal(batch * outFeatures) };
}

const label = (c: LinearDims) => `${c.batch}×${c.inFeatures}→${c.outFeatures}`;

/** y = LinearF(x, w, b) and its gradients for the upstream gradient dy, read back to the host. */
async function linearOn(c: Case): Promise<Float32Array[]> {
  const [x, w, b, dy] = [tf.tensor2d(c.x, [c.batch, c.inFeatures]), tf.tensor2d(c.w, [c.outFeatures, c.inFeatures]), tf.tensor1d(c.b), tf.tensor2d(c.dy, [c.batch, c.outFeatures])];
  const { value, grads } = tf.valueAndGrads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => LinearF.apply(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D))([x, w, b], dy);
  try {
    return await Promise.all([value, ...grads].map(async (t) => (await t.data()) as Float32Array));
  } finally {
    tf.dispose([x, w, b, dy, value, ...grads]);
  }
}

/** ‖a − e‖₂ / ‖e‖₂ and max|a − e| / max|e|: both must be ≤ RTOL. */
function relativeErrors(a: Float32Array, e: Float32Array): [number, number] {
  let num = 0, den = 0, maxDiff = 0, maxRef = 0;
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs(a[i]! - e[i]!);
    num += d * d;
    den += e[i]! * e[i]!;
    maxDiff = Math.max(maxDiff, Number.isNaN(d) ? Infinity : d);
    maxRef = Math.max(maxRef, Math.abs(e[i]!));
  }
  return [Math.sqrt(num / Math.max(den, Number.MIN_VALUE)), maxDiff / Math.max(maxRef, Number.MIN_VALUE)];
}

/** Run `c` on cpu and on webgpu (gradlab's kernels) and compare; returns the worst error seen. */
async function compareWithCpu(c: Case): Promise<number> {
  await useBackend("cpu");
  const expected = await linearOn(c);
  await useBackend("webgpu");
  if (!webgpuKernelsEnabled()) throw new Error("gradlab's webgpu kernels are not registered (GRADLAB_WEBGPU_KERNELS=0?)");
  const actual = await linearOn(c);
  let worst = 0;
  ["y", "dx", "dweight", "dbias"].forEach((name, i) => {
    if (actual[i]!.length !== expected[i]!.length) throw new Error(`${name} ${label(c)}: ${actual[i]!.length} values, cpu gives ${expected[i]!.length}`);
    const [norm, max] = relativeErrors(actual[i]!, expected[i]!);
    worst = Math.max(worst, norm, max);
    if (!(norm <= RTOL && max <= RTOL)) {
      throw new Error(`${name} ${label(c)} (seed ${SEED}): relative error ${norm.toExponential(2)} (2-norm), ${max.toExponential(2)} (max) > ${RTOL}`);
    }
  });
  return worst;
}

/** Errors a test's dispatches raised on the device (validation and internal), as messages. */
async function deviceErrors<T>(body: () => Promise<T>): Promise<{ result: T; errors: string[] }> {
  const device = webgpuDevice()!;
  device.pushErrorScope("validation");
  device.pushErrorScope("internal");
  const result = await body();
  const errors = [await device.popErrorScope(), await device.popErrorScope()].filter((e) => e !== null).map((e) => e!.message);
  return { result, errors };
}

Deno.test(backendTest("MyLinear kernels equal the cpu backend (forward, dX, dW, dB) on the issue's shapes", "webgpu", async () => {
  await useBackend("webgpu");
  const shapes: [number, number, number][] = [[1, 2, 1], [37, 5, 3], [129, 257, 65], [512, 512, 512], [3, 64, 10], [2, 7, 5], [4, 12, 257]];
  const { result: worst, errors } = await deviceErrors(async () => {
    let worst = 0;
    for (const [batch, inF, outF] of shapes) worst = Math.max(worst, await compareWithCpu(drawCase(batch, inF, outF)));
    return worst;
  });
  if (errors.length) throw new Error(`the device reported: ${errors.join("; ")}`);
  console.log(`  worst relative error ${worst.toExponential(2)} over ${shapes.length} shapes`);
  // The plan each shape got: the dot kernel for batches ≤ 4 (its reduction as the device allows),
  // tiled products otherwise.
  const keys = compiledKeys(webgpuDevice()!);
  const sg = subgroupDecision(webgpuDevice()!);
  const reduction = sg.use ? (sg.enableDirective ? "_subgroups" : "_subgroups_noenable") : "_shared";
  const dots = ["dot_r1", "dot_r3_vk", "dot_r2", "dot_r4_vk"].map((k) => k + reduction);
  for (const want of [...dots, "gemm_mk_nk_", "gemm_mk_kn_", "gemm_km_kn_"]) {
    if (!keys.some((k) => k.startsWith(want))) throw new Error(`no pipeline ${want}… was compiled; compiled: ${keys.join(", ")}`);
  }
}));

Deno.test(backendTest("every tile, layout and bounds specialisation equals the cpu backend", "webgpu", async () => {
  await useBackend("webgpu");
  // Per tile: nothing a multiple of anything (scalar loads, every bounds check), and everything a
  // multiple of every tile (vec4, no checks). Then, with the chosen tiles, sizes that mix the two.
  const ragged: [number, number, number] = [67, 37, 21];
  const aligned: [number, number, number] = [128, 128, 128];
  const mixed: [number, number, number][] = [[9, 12, 7], [33, 5, 12], [130, 68, 36]];
  try {
    for (const tile of Object.keys(TILES) as TileName[]) {
      setWebGPUTile(tile);
      for (const [batch, inF, outF] of [ragged, aligned]) {
        const c = drawCase(batch, inF, outF);
        try {
          await compareWithCpu(c);
        } catch (error) {
          throw new Error(`tile ${tile}: ${(error as Error).message}`);
        }
      }
    }
  } finally {
    setWebGPUTile(null);
  }
  for (const [batch, inF, outF] of mixed) await compareWithCpu(drawCase(batch, inF, outF));
}));

Deno.test(backendTest("a pipeline is compiled once per specialisation, and the debug switch prints its WGSL", "webgpu", async () => {
  await useBackend("webgpu");
  const device = webgpuDevice()!;
  const printed: string[] = [];
  setWebGPUDebug((m) => printed.push(m));
  try {
    // A tile and a mix of vec4 and scalar operands that no other test uses, so its shaders are new.
    setWebGPUTile("64x64x16");
    const c = drawCase(6, 12, 7);
    const plan = planLinear("forward", c, { subgroups: false, tile: "64x64x16" });
    if (compiledKeys(device).includes(plan.key)) throw new Error(`${plan.key} was compiled by an earlier test: pick a shape no other test uses`);
    await compareWithCpu(c);
    const mine = printed.find((m) => m.includes(plan.key));
    if (!mine) throw new Error(`the debug switch printed nothing for ${plan.key}; printed: ${printed.map((m) => m.split("\n")[0]).join(" | ")}`);
    if (!(mine.includes("@compute @workgroup_size") && mine.includes("fn main("))) throw new Error(`debug output is not the WGSL:\n${mine.slice(0, 400)}`);
    const before = compiledKeys(device).length;
    const count = printed.length;
    await compareWithCpu(drawCase(6, 12, 7));
    if (compiledKeys(device).length !== before || printed.length !== count) throw new Error("the same shape compiled its shaders again");
  } finally {
    setWebGPUDebug(false);
    setWebGPUTile(null);
  }
}));

Deno.test(backendTest("subgroups: used only where the device has them; the other path is what runs here", "webgpu", async () => {
  await useBackend("webgpu");
  const device = webgpuDevice()!;
  const decision = subgroupDecision(device);
  console.log(`  ${decision.why}`);
  if (!device.features.has("subgroups") && decision.use) throw new Error("subgroups chosen on a device without the feature");
  // The selection rule, case by case.
  const ok = { ok: true, enableDirective: true, subgroupSize: 32 };
  const cases: [Parameters<typeof decideSubgroups>[0], boolean][] = [
    [{ disabled: true, feature: true, probe: ok }, false],
    [{ disabled: false, feature: false, probe: null }, false],
    [{ disabled: false, feature: true, probe: null }, false],
    [{ disabled: false, feature: true, probe: { ok: false, error: "rejected" } }, false],
    [{ disabled: false, feature: true, probe: ok }, true],
  ];
  for (const [facts, use] of cases) {
    const d = decideSubgroups(facts);
    if (d.use !== use) throw new Error(`decideSubgroups(${JSON.stringify(facts)}) = ${JSON.stringify(d)}, expected use ${use}`);
  }
  if (decideSubgroups({ disabled: false, feature: true, probe: { ...ok, enableDirective: false } }).enableDirective !== false) throw new Error("a probe that passed only without `enable subgroups;` must turn the directive off");
  // The subgroup shaders themselves: this device cannot run them, but its compiler (naga) parses and
  // type-checks them first, so the only complaint may be the missing SUBGROUP capability.
  if (!device.features.has("subgroups")) {
    for (const rows of [1, 2, 3, 4]) {
      for (const vecK of [false, true]) {
        device.pushErrorScope("validation");
        device.createShaderModule({ code: dotWgsl({ rows, vecK, subgroups: true, enableDirective: false }) });
        const error = await device.popErrorScope();
        if (!error || !/capabilit(y|ies)\(?SUBGROUP/i.test(error.message)) {
          throw new Error(`dot rows ${rows} vecK ${vecK} with subgroups: expected only the missing-capability error, got ${error ? error.message : "none"}`);
        }
      }
    }
    const probe = await runSubgroupProbe(device);
    if (probe.ok) throw new Error("the subgroup probe passed on a device without the feature");
    console.log(`  probe on this device: ${probe.error}`);
  }
}));

Deno.test(backendTest("training Linear on the kernels keeps tensor count and GPU memory flat", "webgpu", async () => {
  await useBackend("webgpu");
  const g = new Generator(SEED + 1);
  const model = new Linear(24, 12, { generator: g });
  const optimizer = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = tf.tensor2d(Float32Array.from(g.normalArray(40 * 24)), [40, 24]);
  const target = tf.tensor2d(Float32Array.from(g.normalArray(40 * 12)), [40, 12]);
  const step = async () => {
    optimizer.zeroGrad();
    const loss = backward(() => mseLoss(model.forward(x), target), model.parameters());
    optimizer.step();
    const value = (await loss.data())[0]!;
    loss.dispose();
    return value;
  };
  try {
    const first = await step();
    await step();
    const tensors = tf.memory().numTensors;
    const bytes = (tf.memory() as { numBytesInGPU?: number }).numBytesInGPU;
    let last = first;
    for (let i = 0; i < 20; i++) last = await step();
    if (tf.memory().numTensors !== tensors) throw new Error(`tensors: ${tensors} after 2 steps, ${tf.memory().numTensors} after 22`);
    const after = (tf.memory() as { numBytesInGPU?: number }).numBytesInGPU;
    if (bytes !== undefined && after !== bytes) throw new Error(`GPU bytes in use: ${bytes} after 2 steps, ${after} after 22`);
    if (!(last < first)) throw new Error(`the loss did not fall: ${first} → ${last}`);
    if (!compiledKeys(webgpuDevice()!).some((k) => k.startsWith("gemm_km_kn_"))) throw new Error("training did not run the weight-gradient kernel");
  } finally {
    tf.dispose([x, target]);
    model.dispose();
  }
}));
