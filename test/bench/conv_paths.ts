/**
 * conv2d alone, gradlab's host path (lib/host/conv_host.ts) against the tfjs-kernel path it
 * replaces (setHostKernels(false)), on cpu and wasm: forward, and forward + backward (every
 * gradient the call needs; LeNet's first conv needs no dX, its input being data).
 *
 *   npx tsx test/bench/conv_paths.ts [--backends cpu,wasm] [--steps 20] [--warmup 5] [--only lenet] [--engine wasm|js]
 *
 * Each cell: the median ms per call over --steps calls after --warmup, the two paths run in turn
 * within each round so a busy machine slows both alike. Reads the results back (dataSync).
 */
import process from "node:process";
import * as tf from "@tensorflow/tfjs";
import { withGradientSources } from "../../lib/autograd/gradient_sources";
import { setBackend, type BackendChoice } from "../../lib/backend";
import { useJsConvEngine } from "../../lib/host/conv_engine";
import { setHostKernels } from "../../lib/host/host_tensors";
import { conv2d, type Conv2dOptions } from "../../lib/ops/conv2d";
import { Generator } from "../../lib/random";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
};
const BACKENDS = arg("backends", "cpu,wasm").split(",") as BackendChoice[];
const STEPS = Number(arg("steps", "20"));
const WARMUP = Number(arg("warmup", "5"));
const ONLY = arg("only", "");
/** "js": the plain-JavaScript products and columns, as where WebAssembly SIMD is missing. */
if (arg("engine", "wasm") === "js") useJsConvEngine(true);

interface Case {
  name: string;
  input: number[];
  weight: number[];
  options: Conv2dOptions;
  /** Whether the input's gradient is wanted (false: the first layer's data). */
  inputGrad: boolean;
}
const CASES: Case[] = [
  { name: "lenet conv1 [32,1,28,28]*[6,1,5,5] pad 2, no dX", input: [32, 1, 28, 28], weight: [6, 1, 5, 5], options: { padding: 2 }, inputGrad: false },
  { name: "lenet conv2 [32,6,14,14]*[16,6,5,5]", input: [32, 6, 14, 14], weight: [16, 6, 5, 5], options: {}, inputGrad: true },
  { name: "3×3 pad 1 [8,32,32,32]*[32,32,3,3]", input: [8, 32, 32, 32], weight: [32, 32, 3, 3], options: { padding: 1 }, inputGrad: true },
  { name: "3×3 stride 2 dilation 2 groups 4 [8,32,32,32]*[32,8,3,3]", input: [8, 32, 32, 32], weight: [32, 8, 3, 3], options: { padding: 2, stride: 2, dilation: 2, groups: 4 }, inputGrad: true },
  { name: "1×1 [8,64,16,16]*[64,64,1,1]", input: [8, 64, 16, 16], weight: [64, 64, 1, 1], options: {}, inputGrad: true },
].filter((c) => !ONLY || c.name.includes(ONLY));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** Median ms of each function, run in turn within each round. */
function timeAll(fns: (() => tf.Tensor[])[]): number[] {
  const ms: number[][] = fns.map(() => []);
  for (let round = 0; round < WARMUP + STEPS; round++) {
    fns.forEach((fn, i) => {
      const t0 = performance.now();
      const out = fn();
      for (const t of out) t.dataSync();
      const dt = performance.now() - t0;
      tf.dispose(out);
      if (round >= WARMUP) ms[i]!.push(dt);
    });
  }
  return ms.map(median);
}

const onPath = (host: boolean, fn: () => tf.Tensor[]) => () => {
  setHostKernels(host);
  try {
    return fn();
  } finally {
    setHostKernels(true);
  }
};

console.log(`median ms per call (${STEPS} timed after ${WARMUP} warm-up), tfjs ${tf.version_core}`);
console.log("| backend | conv | forward host | forward tfjs | fwd+bwd host | fwd+bwd tfjs | fwd+bwd tfjs / host |");
console.log("|---|---|---|---|---|---|---|");
for (const backend of BACKENDS) {
  await setBackend(backend);
  for (const c of CASES) {
    const g = new Generator(7);
    const rand = (shape: number[]) => tf.tensor(g.uniformArray(shape.reduce((a, b) => a * b, 1), -1, 1), shape);
    const x = rand(c.input);
    const w = rand(c.weight);
    const b = rand([c.weight[0]!]);
    const forward = () => [conv2d(x, w, b, c.options)];
    const y0 = forward()[0]!;
    const dy = rand(y0.shape);
    y0.dispose();
    // dy given, not a sum's broadcast of ones (a slow broadcasting Multiply on cpu); the sources
    // declared as gradlab's backward() does, so needsInputGrad skips dX for data.
    const sources = c.inputGrad ? [x, w, b] : [w, b];
    const both = () =>
      withGradientSources(sources, () =>
        tf.grads((...s: tf.Tensor[]) => (c.inputGrad ? conv2d(s[0]!, s[1]!, s[2]!, c.options) : conv2d(x, s[0]!, s[1]!, c.options)))(sources, dy),
      );
    const [fh, ft, bh, bt] = timeAll([onPath(true, forward), onPath(false, forward), onPath(true, both), onPath(false, both)]);
    console.log(`| ${backend} | ${c.name} | ${fh!.toFixed(2)} | ${ft!.toFixed(2)} | ${bh!.toFixed(2)} | ${bt!.toFixed(2)} | ${(bt! / bh!).toFixed(2)}× |`);
    tf.dispose([x, w, b, dy]);
  }
}
