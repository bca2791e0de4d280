/**
 * The layer ops' host loops under Deno, on cpu and wasm (where tfjs-backend-wasm's heap is reached
 * as Deno loads it): outputs and input gradients with the host kernels on and off agree. The
 * Node suites (test/loss, pooling, activation, layer_norm, dropout) check the semantics in full.
 */
import * as tf from "@tensorflow/tfjs";
import * as F from "../../lib/nn/functional";
import { hostBackend, setHostKernels } from "../../lib/host/host_tensors";
import { Generator } from "../../lib/random";
import { assertAllClose, backendTest, useBackend } from "./_support";

const g = new Generator(8);
const x2 = () => tf.tensor(g.uniformArray(6 * 5, -3, 3), [6, 5]);
const target = () => tf.tensor([0, 4, -100, 2, 1, -100], [6], "int32");
const image = () => tf.tensor(Float32Array.from(g.uniformArray(2 * 3 * 7 * 7, 0, 4), Math.floor), [2, 3, 7, 7]);
/** Σ y·sin(i): a loss whose gradient is no identity of the op (Σ layerNorm(x)² is constant in x). */
const up = (y: tf.Tensor) => tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));

const CASES: [string, () => tf.Tensor, (x: tf.Tensor, extra: tf.Tensor) => tf.Tensor, () => tf.Tensor][] = [
  ["crossEntropy", x2, (x, t) => F.crossEntropy(x, t, { labelSmoothing: 0.1 }), target],
  ["nllLoss", x2, (x, t) => F.nllLoss(x, t, { reduction: "sum" }), target],
  ["maxPool2d 3/2 pad 1 ceil", image, (x) => up(F.maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true })), () => tf.scalar(0)],
  ["avgPool2d 3/2 pad 1", image, (x) => up(F.avgPool2d(x, 3, { stride: 2, padding: 1 })), () => tf.scalar(0)],
  ["relu", x2, (x) => up(F.relu(x)), () => tf.scalar(0)],
  ["leakyRelu", x2, (x) => up(F.leakyRelu(x, 0.1)), () => tf.scalar(0)],
  ["logSoftmax", x2, (x) => up(F.logSoftmax(x, 1)), () => tf.scalar(0)],
  ["layerNorm", x2, (x) => up(F.layerNorm(x, [5])), () => tf.scalar(0)],
];

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(backendTest("layer ops: host loops agree with the tfjs path", backend, async () => {
    await useBackend(backend);
    if (hostBackend()?.name !== backend) throw new Error(`no host access to ${backend}'s tensors under Deno`);
    for (const [name, input, loss, extra] of CASES) {
      const [x, e] = [input(), extra()];
      const run = (on: boolean) => {
        const previous = setHostKernels(on);
        try {
          return tf.tidy(() => [loss(x, e), tf.grad((a: tf.Tensor) => loss(a, e))(x)].map((t) => t.dataSync().slice()));
        } finally {
          setHostKernels(previous);
        }
      };
      const [host, generic] = [run(true), run(false)];
      host.forEach((values, i) => assertAllClose(`${name} [${backend}] ${i === 0 ? "loss" : "gradient"}`, values, generic[i]!, null, 1e-5));
      tf.dispose([x, e]);
    }
  }));
}
