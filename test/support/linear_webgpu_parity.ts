/**
 * gradlab's WGSL kernels for MYLINEAR against the cpu backend, shared by the Node (Dawn) and Deno
 * (wgpu) suites: forward and all three gradients, relative error ≤ 1e-5 in both the 2-norm and
 * the largest entry, on fresh random float32 data (never zeros); every tile and bounds
 * specialisation; the pipeline cache and debug switch; flat memory over training. Runtime-neutral:
 * each check throws an Error that names the shape, the output and the seed.
 */
import * as tf from "@tensorflow/tfjs";
import { backward } from "../../lib/autograd/backward";
import { setBackend } from "../../lib/backend";
import { Linear } from "../../lib/nn/linear";
import { mseLoss } from "../../lib/nn/mse_loss";
import { LinearF } from "../../lib/ops/linear";
import { SGD } from "../../lib/optim/sgd";
import { Generator } from "../../lib/random";
import { subgroupDecision, webgpuDevice } from "../../lib/webgpu/device";
import { TILES, type TileName } from "../../lib/webgpu/gemm";
import { planLinear, setWebGPUTile, webgpuKernelsEnabled, type LinearDims } from "../../lib/webgpu/linear_kernels";
import { compiledKeys, setWebGPUDebug } from "../../lib/webgpu/runner";

/** The issue's bound for forward and every gradient, float32 on both sides. */
export const KERNEL_RTOL = 1e-5;

/** The issue's shapes, then small batches (the dot kernel) and an output width past 256. */
export const ISSUE_SHAPES: readonly [number, number, number][] = [[1, 2, 1], [37, 5, 3], [129, 257, 65], [512, 512, 512], [3, 64, 10], [2, 7, 5], [4, 12, 257]];

export interface LinearCase extends LinearDims {
  x: Float32Array;
  w: Float32Array;
  b: Float32Array;
  dy: Float32Array;
}

export const caseLabel = (c: LinearDims): string => `${c.batch}×${c.inFeatures}→${c.outFeatures}`;

/** Inputs and an upstream gradient drawn from one seeded generator; the seed is in every message. */
export class KernelParity {
  readonly generator: Generator;

  constructor(readonly seed: number) {
    this.generator = new Generator(seed);
  }

  draw(batch: number, inFeatures: number, outFeatures: number): LinearCase {
    const normal = (n: number) => Float32Array.from(this.generator.normalArray(n));
    return { batch, inFeatures, outFeatures, x: normal(batch * inFeatures), w: normal(outFeatures * inFeatures), b: normal(outFeatures), dy: normal(batch * outFeatures) };
  }

  /** Run `c` on cpu and on webgpu (gradlab's kernels) and compare; returns the worst error seen. */
  async compareWithCpu(c: LinearCase): Promise<number> {
    await use("cpu");
    const expected = await linearOn(c);
    await use("webgpu");
    if (!webgpuKernelsEnabled()) throw new Error("gradlab's webgpu kernels are not registered (GRADLAB_WEBGPU_KERNELS=0?)");
    const actual = await linearOn(c);
    let worst = 0;
    ["y", "dx", "dweight", "dbias"].forEach((name, i) => {
      if (actual[i]!.length !== expected[i]!.length) throw new Error(`${name} ${caseLabel(c)}: ${actual[i]!.length} values, cpu gives ${expected[i]!.length}`);
      const [norm, max] = relativeErrors(actual[i]!, expected[i]!);
      worst = Math.max(worst, norm, max);
      if (!(norm <= KERNEL_RTOL && max <= KERNEL_RTOL)) {
        throw new Error(`${name} ${caseLabel(c)} (seed ${this.seed}): relative error ${norm.toExponential(2)} (2-norm), ${max.toExponential(2)} (max) > ${KERNEL_RTOL}`);
      }
    });
    return worst;
  }

  /** The issue's shapes, with no device error; then checks each took the plan it should. */
  async issueShapes(): Promise<number> {
    await use("webgpu");
    const { result: worst, errors } = await deviceErrors(async () => {
      let worst = 0;
      for (const [batch, inF, outF] of ISSUE_SHAPES) worst = Math.max(worst, await this.compareWithCpu(this.draw(batch, inF, outF)));
      return worst;
    });
    if (errors.length) throw new Error(`the device reported: ${errors.join("; ")}`);
    // The dot kernel for batches ≤ 4 (its reduction as the device allows), tiled products otherwise.
    const device = webgpuDevice()!;
    const keys = compiledKeys(device);
    const sg = subgroupDecision(device);
    const reduction = sg.use ? (sg.enableDirective ? "_subgroups" : "_subgroups_noenable") : "_shared";
    const dots = ["dot_r1", "dot_r3_vk", "dot_r2", "dot_r4_vk"].map((k) => k + reduction);
    for (const want of [...dots, "gemm_mk_nk_", "gemm_mk_kn_", "gemm_km_kn_"]) {
      if (!keys.some((k) => k.startsWith(want))) throw new Error(`no pipeline ${want}… was compiled; compiled: ${keys.join(", ")}`);
    }
    return worst;
  }

  /**
   * Per tile: nothing a multiple of anything (scalar loads, every bounds check), and everything a
   * multiple of every tile (vec4, no checks). Then, with the chosen tiles, sizes that mix the two.
   */
  async everyTile(): Promise<void> {
    const ragged: [number, number, number] = [67, 37, 21];
    const aligned: [number, number, number] = [128, 128, 128];
    const mixed: [number, number, number][] = [[9, 12, 7], [33, 5, 12], [130, 68, 36]];
    try {
      for (const tile of Object.keys(TILES) as TileName[]) {
        setWebGPUTile(tile);
        for (const [batch, inF, outF] of [ragged, aligned]) {
          try {
            await this.compareWithCpu(this.draw(batch, inF, outF));
          } catch (error) {
            throw new Error(`tile ${tile}: ${(error as Error).message}`);
          }
        }
      }
    } finally {
      setWebGPUTile(null);
    }
    for (const [batch, inF, outF] of mixed) await this.compareWithCpu(this.draw(batch, inF, outF));
  }

  /** A pipeline is compiled once per specialisation, and the debug switch prints its WGSL. */
  async pipelineCacheAndDebug(): Promise<void> {
    const device = webgpuDevice()!;
    const printed: string[] = [];
    setWebGPUDebug((m) => printed.push(m));
    try {
      // A tile and a mix of vec4 and scalar operands that no other test uses, so its shaders are new.
      setWebGPUTile("64x64x16");
      const c = this.draw(6, 12, 7);
      const plan = planLinear("forward", c, { subgroups: false, tile: "64x64x16" });
      if (compiledKeys(device).includes(plan.key)) throw new Error(`${plan.key} was compiled by an earlier test: pick a shape no other test uses`);
      await this.compareWithCpu(c);
      const mine = printed.find((m) => m.includes(plan.key));
      if (!mine) throw new Error(`the debug switch printed nothing for ${plan.key}; printed: ${printed.map((m) => m.split("\n")[0]).join(" | ")}`);
      if (!(mine.includes("@compute @workgroup_size") && mine.includes("fn main("))) throw new Error(`debug output is not the WGSL:\n${mine.slice(0, 400)}`);
      const before = compiledKeys(device).length;
      const count = printed.length;
      await this.compareWithCpu(this.draw(6, 12, 7));
      if (compiledKeys(device).length !== before || printed.length !== count) throw new Error("the same shape compiled its shaders again");
    } finally {
      setWebGPUDebug(false);
      setWebGPUTile(null);
    }
  }

  /** Training Linear on the kernels keeps tensor count and GPU memory flat, and the loss falls. */
  async trainingStaysFlat(): Promise<void> {
    const g = new Generator(this.seed + 1);
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
  }
}

/** Switch through gradlab and check that the switch took. */
async function use(backend: "cpu" | "webgpu"): Promise<void> {
  const info = await setBackend(backend);
  if (info.name !== backend || tf.getBackend() !== backend) throw new Error(`setBackend(${backend}) gave ${info.name} (tfjs says ${tf.getBackend()})`);
}

/** y = LinearF(x, w, b) and its gradients for the upstream gradient dy, read back to the host. */
async function linearOn(c: LinearCase): Promise<Float32Array[]> {
  const [x, w, b, dy] = [tf.tensor2d(c.x, [c.batch, c.inFeatures]), tf.tensor2d(c.w, [c.outFeatures, c.inFeatures]), tf.tensor1d(c.b), tf.tensor2d(c.dy, [c.batch, c.outFeatures])];
  const { value, grads } = tf.valueAndGrads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => LinearF.apply(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D))([x, w, b], dy);
  try {
    return await Promise.all([value, ...grads].map(async (t) => (await t.data()) as Float32Array));
  } finally {
    tf.dispose([x, w, b, dy, value, ...grads]);
  }
}

/** ‖a − e‖₂ / ‖e‖₂ and max|a − e| / max|e|. */
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

/** Errors the body's dispatches raised on the device (validation and internal), as messages. */
export async function deviceErrors<T>(body: () => Promise<T>): Promise<{ result: T; errors: string[] }> {
  const device = webgpuDevice()!;
  device.pushErrorScope("validation");
  device.pushErrorScope("internal");
  const result = await body();
  const errors = [await device.popErrorScope(), await device.popErrorScope()].filter((e) => e !== null).map((e) => e!.message);
  return { result, errors };
}
