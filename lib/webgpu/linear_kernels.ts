/**
 * MYLINEAR's three WebGPU kernels, registered with tfjs for the "webgpu" backend:
 *
 *   MyLinear                {x, weight, bias} → y = x·weightᵀ + bias     (forward, bias fused)
 *   MyLinearBackpropInput   {dy, weight}      → dx = dy·weight
 *   MyLinearBackpropWeight  {dy, x}           → [dweight = dyᵀ·x, dbias = Σ_batch dy]  (one pass)
 *
 * LinearF (lib/ops/linear.ts) runs MyLinear when its kernel is registered for the current backend
 * and LinearF's gradient, registered for the name MyLinear by defineFunction, runs LinearF's own
 * backward, which calls the two backprop kernels where they are registered. On other backends
 * nothing here runs. Which shader each call gets is planLinear's choice: the dot kernel for a
 * forward of at most DOT_MAX_ROWS rows (subgroup reduction where the device allows), else the tiled
 * product with a tile sized so the grid has enough workgroups to fill a large GPU.
 */
import * as tf from "@tensorflow/tfjs";
import { DOT_MAX_ROWS, dotKey, dotWgsl, type DotSpec } from "./dot";
import { subgroupDecision } from "./device";
import { gemmKey, gemmWgsl, isTileName, TILES, type GemmSpec, type Tile, type TileName } from "./gemm";
import { envFlag, readEnv, runWgsl, spread, webgpuBackend, type WgslProgram } from "./runner";

export const LINEAR_KERNEL = "MyLinear";
export const LINEAR_BACKPROP_INPUT = "MyLinearBackpropInput";
export const LINEAR_BACKPROP_WEIGHT = "MyLinearBackpropWeight";
const KERNEL_NAMES = [LINEAR_KERNEL, LINEAR_BACKPROP_INPUT, LINEAR_BACKPROP_WEIGHT] as const;

export type LinearProduct = "forward" | "backpropInput" | "backpropWeight";

/** A linear layer's sizes: x [batch, inFeatures], weight [outFeatures, inFeatures]. */
export interface LinearDims {
  batch: number;
  inFeatures: number;
  outFeatures: number;
}

export interface PlanOptions {
  subgroups: boolean;
  /** With subgroups: open the shader with `enable subgroups;` (default true). */
  enableDirective?: boolean;
  /** Force one tile for the tiled product (tuning, tests); default: chosen by size. */
  tile?: TileName;
}

export interface LinearPlan extends WgslProgram {
  kind: "dot" | "gemm";
  /** The product's M, N, K, as the shader's uniform dims. */
  dims: [number, number, number];
  spec: DotSpec | GemmSpec;
}

/** The tiled product's M×N output and K depth for each of the three products. */
export function productDims(product: LinearProduct, d: LinearDims): [number, number, number] {
  switch (product) {
    case "forward":
      return [d.batch, d.outFeatures, d.inFeatures];
    case "backpropInput":
      return [d.batch, d.inFeatures, d.outFeatures];
    case "backpropWeight":
      return [d.outFeatures, d.inFeatures, d.batch];
  }
}

/**
 * The largest tile that still gives the grid enough workgroups to keep a large GPU busy (an H100
 * has 132 SMs); small outputs fall to smaller tiles rather than leave most of the GPU idle.
 */
export function chooseTile(m: number, n: number): TileName {
  const grid = (t: Tile) => Math.ceil(m / t.bm) * Math.ceil(n / t.bn);
  if (grid(TILES["128x128x8"]) >= 192) return "128x128x8";
  if (grid(TILES["64x64x16"]) >= 48) return "64x64x16";
  return "32x32x16";
}

export function planLinear(product: LinearProduct, d: LinearDims, options: PlanOptions): LinearPlan {
  const [M, N, K] = productDims(product, d);
  if (product === "forward" && M <= DOT_MAX_ROWS) {
    const spec: DotSpec = { rows: M, vecK: K % 4 === 0, subgroups: options.subgroups, enableDirective: options.subgroups && options.enableDirective !== false };
    return { kind: "dot", spec, dims: [M, N, K], key: dotKey(spec), wgsl: () => dotWgsl(spec), workgroups: spread(N) };
  }
  const tileKey = options.tile ?? chooseTile(M, N);
  const tile = TILES[tileKey];
  const spec: GemmSpec = {
    a: product === "backpropWeight" ? "km" : "mk",
    b: product === "forward" ? "nk" : "kn",
    tile,
    bias: product === "forward",
    rowSum: product === "backpropWeight",
    // The contiguous dimension of each operand: A "mk" → K, "km" → M; B "nk" → K, "kn" → N.
    vecA: (product === "backpropWeight" ? M : K) % 4 === 0,
    vecB: (product === "forward" ? K : N) % 4 === 0,
    vecC: N % 4 === 0,
    vecS: M % 4 === 0,
    fitM: M % tile.bm === 0,
    fitN: N % tile.bn === 0,
    fitK: K % tile.bk === 0,
  };
  const gridX = Math.ceil(N / tile.bn);
  const gridY = Math.ceil(M / tile.bm);
  if (gridX > 65535 || gridY > 65535) throw new RangeError(`MyLinear ${product}: a ${M}×${N} output needs a ${gridY}×${gridX} grid, over WebGPU's 65535 per dimension`);
  return { kind: "gemm", spec, dims: [M, N, K], key: gemmKey(spec), wgsl: () => gemmWgsl(spec), workgroups: [gridX, gridY, 1] };
}

/**
 * Whether every product of this layer fits WebGPU's 65535 workgroups per grid dimension with the
 * smallest tile (a larger tile only makes the grid smaller); larger layers stay on tfjs's ops.
 */
export function fitsWebGPUGrid(d: LinearDims): boolean {
  const smallest = TILES["32x32x16"];
  return PRODUCTS.every((p) => {
    const [M, N] = productDims(p, d);
    return Math.ceil(M / smallest.bm) <= 65535 && Math.ceil(N / smallest.bn) <= 65535;
  });
}
const PRODUCTS: readonly LinearProduct[] = ["forward", "backpropInput", "backpropWeight"];

let tileOverride: TileName | undefined = (() => {
  const name = readEnv("GRADLAB_WEBGPU_TILE");
  if (name === undefined) return undefined;
  if (!isTileName(name)) throw new RangeError(`GRADLAB_WEBGPU_TILE=${name}: expected one of ${Object.keys(TILES).join(", ")}`);
  return name;
})();

/** Force one tile for every tiled product (null: choose by size again). */
export function setWebGPUTile(name: TileName | null): void {
  if (name !== null && !isTileName(name)) throw new RangeError(`setWebGPUTile: expected one of ${Object.keys(TILES).join(", ")}, got ${JSON.stringify(name)}`);
  tileOverride = name ?? undefined;
}

function optionsFor(device: GPUDevice): PlanOptions {
  const subgroups = subgroupDecision(device);
  return { subgroups: subgroups.use, enableDirective: subgroups.enableDirective, tile: tileOverride };
}

function dimsOf(x: tf.TensorInfo, weight: tf.TensorInfo): LinearDims {
  return { batch: x.shape[0]!, inFeatures: x.shape[1]!, outFeatures: weight.shape[0]! };
}

const KERNELS: tf.KernelConfig[] = [
  {
    kernelName: LINEAR_KERNEL,
    backendName: "webgpu",
    kernelFunc: ({ inputs, backend }) => {
      const { x, weight, bias } = inputs as { x: tf.TensorInfo; weight: tf.TensorInfo; bias: tf.TensorInfo };
      const b = webgpuBackend(backend);
      const d = dimsOf(x, weight);
      const plan = planLinear("forward", d, optionsFor(b.device));
      return runWgsl(b, plan, [x, weight, bias], [[d.batch, d.outFeatures]], plan.dims)[0]!;
    },
  },
  {
    kernelName: LINEAR_BACKPROP_INPUT,
    backendName: "webgpu",
    kernelFunc: ({ inputs, backend }) => {
      const { dy, weight } = inputs as { dy: tf.TensorInfo; weight: tf.TensorInfo };
      const b = webgpuBackend(backend);
      const d = { batch: dy.shape[0]!, inFeatures: weight.shape[1]!, outFeatures: weight.shape[0]! };
      const plan = planLinear("backpropInput", d, optionsFor(b.device));
      return runWgsl(b, plan, [dy, weight], [[d.batch, d.inFeatures]], plan.dims)[0]!;
    },
  },
  {
    kernelName: LINEAR_BACKPROP_WEIGHT,
    backendName: "webgpu",
    kernelFunc: ({ inputs, backend }) => {
      const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
      const b = webgpuBackend(backend);
      const d = { batch: x.shape[0]!, inFeatures: x.shape[1]!, outFeatures: dy.shape[1]! };
      const plan = planLinear("backpropWeight", d, optionsFor(b.device));
      return runWgsl(b, plan, [dy, x], [[d.outFeatures, d.inFeatures], [d.outFeatures]], plan.dims);
    },
  },
];

/**
 * Register (true) or unregister (false) the three kernels. On by default unless
 * GRADLAB_WEBGPU_KERNELS=0; off means LinearF runs on tfjs's own webgpu ops, as on every other backend.
 */
export function setWebGPUKernels(enabled: boolean): void {
  for (const config of KERNELS) {
    const registered = tf.getKernel(config.kernelName, config.backendName) !== undefined;
    if (enabled && !registered) tf.registerKernel(config);
    if (!enabled && registered) tf.unregisterKernel(config.kernelName, config.backendName);
  }
}

export function webgpuKernelsEnabled(): boolean {
  return KERNEL_NAMES.every((name) => tf.getKernel(name, "webgpu") !== undefined);
}

setWebGPUKernels(envFlag("GRADLAB_WEBGPU_KERNELS") !== false);
