/**
 * Where each op's host loops stop paying on wasm: forward + backward (tf.grad of Σ op(x)) with the
 * host loops at any size against the same op's tfjs-kernel path, at sizes from one element to
 * [256, 128]. The wasm limits in lib/ops (WASM_HOST_LIMIT) sit below the size where "host / tfjs"
 * crosses 1. Timed as CPU time of this process (process.cpuUsage), not wall time: on a shared
 * machine the cores others' processes take are not counted, and the two paths' blocks are
 * interleaved in alternating order.
 *
 *   node --import tsx test/bench/host_crossover.ts [--backend wasm] [--only relu,tanh] [--rounds 8]
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { setHostKernels } from "../../lib/host/host_tensors";
import { DropoutF } from "../../lib/ops/dropout";
import { LayerNormF } from "../../lib/ops/layer_norm";
import { LeakyReluF } from "../../lib/ops/leaky_relu";
import { LogSoftmaxF } from "../../lib/ops/log_softmax";
import { ReluF } from "../../lib/ops/relu";
import { SigmoidF } from "../../lib/ops/sigmoid";
import { SoftmaxF } from "../../lib/ops/softmax";
import { TanhF } from "../../lib/ops/tanh";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const backend = arg("backend", "wasm");
const only = arg("only", "").split(",").filter((w) => w !== "");
const rounds = Number(arg("rounds", "8"));
const SHAPES = [[1, 1], [4, 16], [8, 32], [16, 64], [32, 64], [32, 128], [64, 128], [256, 128]];

const OPS: [string, (x: tf.Tensor) => tf.Tensor][] = [
  ["relu", (x) => ReluF.apply(x)],
  ["leakyRelu", (x) => LeakyReluF.apply(x, 0.1)],
  ["sigmoid", (x) => SigmoidF.apply(x)],
  ["tanh", (x) => TanhF.apply(x)],
  ["softmax(-1)", (x) => SoftmaxF.apply(x, 1)],
  ["softmax(0)", (x) => SoftmaxF.apply(x, 0)],
  ["logSoftmax(-1)", (x) => LogSoftmaxF.apply(x, 1)],
  ["layerNorm", (x) => LayerNormF.apply(x, [x.shape[1]!], 1e-5, false, false)],
  ["dropout(0.3)", (x) => DropoutF.apply(x, 0.3, true, 7)],
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** µs of CPU time per step, for the host path ("any size") and the tfjs path, blocks interleaved. */
function timeBoth(op: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor): [number, number] {
  const step = () => tf.tidy(() => void tf.grad((a: tf.Tensor) => tf.sum(op(a)))(x).dataSync());
  const block = Math.max(20, Math.round(20000 / Math.sqrt(x.size)));
  const times: [number[], number[]] = [[], []];
  for (let r = 0; r < rounds + 1; r++) {
    for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const previous = setHostKernels(k === 0 ? "any size" : false);
      const start = process.cpuUsage();
      for (let i = 0; i < block; i++) step();
      const used = process.cpuUsage(start);
      setHostKernels(previous);
      // The first round warms both paths up.
      if (r > 0) times[k]!.push((used.user + used.system) / block);
    }
  }
  return [median(times[0]), median(times[1])];
}

await tf.setBackend(backend);
await tf.ready();
console.log(`${backend}: forward + backward, µs of CPU time per step (median of ${rounds} blocks)`);
console.log(`${"op".padEnd(16)}${"shape".padEnd(12)}${"host".padStart(10)}${"tfjs".padStart(10)}${"host / tfjs".padStart(13)}`);
for (const [name, op] of OPS) {
  if (only.length > 0 && !only.includes(name)) continue;
  for (const shape of SHAPES) {
    const x = tf.randomNormal(shape);
    const [host, generic] = timeBoth(op, x);
    console.log(`${name.padEnd(16)}${JSON.stringify(shape).padEnd(12)}${host.toFixed(1).padStart(10)}${generic.toFixed(1).padStart(10)}${(host / generic).toFixed(2).padStart(13)}`);
    x.dispose();
  }
}
