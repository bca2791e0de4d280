/**
 * ONNX under Deno (onnx-proto is CommonJS, loaded through Deno's npm compatibility): a round trip
 * in process on every backend, PyTorch's export of the seed, and the export and predict tasks as
 * `deno task export` / `deno task predict` run them.
 */
import * as tf from "@tensorflow/tfjs";
import { Linear } from "../../lib/nn/linear";
import { Module } from "../../lib/nn/module";
import { exportOnnx } from "../../lib/onnx/export";
import { importOnnx } from "../../lib/onnx/import";
import { BACKENDS, backendTest, REPO_ROOT, useBackend } from "./_support";

const PYTORCH_Y = JSON.parse(Deno.readTextFileSync(new URL("test/fixtures/seed_torch_onnx.json", REPO_ROOT))).y[0][0] as number;

for (const backend of BACKENDS) {
  Deno.test(backendTest("ONNX round trip in every mode, and PyTorch's export of the seed", backend, async () => {
    await useBackend(backend);
    const model = new Linear(2, 1, { init: "uniform" });
    const x = tf.tensor2d([[3, 2], [1, 1], [0.5, -2]]);
    try {
      const ours = Array.from(await tf.tidy(() => model.forward(x)).data());
      for (const customOps of ["function", "standard", "opaque"] as const) {
        const imported = importOnnx(await exportOnnx(model, undefined, { customOps, dynamicAxes: { x: { 0: "batch" }, y: { 0: "batch" } } }));
        const theirs = Array.from(await tf.tidy(() => imported.forward(x)).data());
        imported.dispose();
        if (theirs.join() !== ours.join()) throw new Error(`${customOps}: ${theirs} after the round trip, ${ours} before`);
      }
      const torch = importOnnx(new URL("test/fixtures/seed_torch.onnx", REPO_ROOT).pathname);
      const [y] = await tf.tidy(() => torch.forward(tf.tensor2d([[3, 2]]))).data();
      torch.dispose();
      if (!(Math.abs(y! - PYTORCH_Y) <= 1e-6 * PYTORCH_Y)) throw new Error(`PyTorch's model gives ${y}, PyTorch ${PYTORCH_Y}`);
    } finally {
      x.dispose();
      model.dispose();
    }
  }));
}

class LinearReluLinear extends Module {
  readonly first = new Linear(3, 4);
  readonly second = new Linear(4, 2);
  forward(x: tf.Tensor): tf.Tensor {
    return this.second.forward(tf.relu(this.first.forward(x)));
  }
}

for (const backend of BACKENDS) {
  Deno.test(backendTest("a forward mixing defineFunction ops with tf.relu exports whole (kernel-level trace) and reads back", backend, async () => {
    await useBackend(backend);
    const model = new LinearReluLinear();
    const x = tf.tensor2d([[3, 2, -1], [1, -1, 0.5], [0.5, -2, 2]]);
    const example = tf.zeros([2, 3]);
    try {
      const bytes = await exportOnnx(model, undefined, { example, dynamicAxes: { x: { 0: "batch" }, y: { 0: "batch" } } });
      const imported = importOnnx(bytes);
      const ours = Array.from(await tf.tidy(() => model.forward(x)).data());
      const theirs = Array.from(await tf.tidy(() => imported.forward(x)).data());
      imported.dispose();
      if (theirs.some((v, i) => !(Math.abs(v - ours[i]!) <= 1e-6 * Math.max(1, Math.abs(ours[i]!))))) throw new Error(`${theirs} after the round trip, ${ours} before`);
    } finally {
      tf.dispose([x, example]);
      model.dispose();
    }
  }));
}

async function task(script: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", `lib/cli/${script}_main.ts`, "--backend", "cpu", ...args], cwd: REPO_ROOT, stdout: "piped", stderr: "piped" }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  if (output.code !== 0) throw new Error(`${script} exited with ${output.code}\nstdout:\n${stdout}\nstderr:\n${new TextDecoder().decode(output.stderr)}`);
  return stdout.trimEnd().split("\n").pop()!;
}

Deno.test("export task writes an .onnx that the predict task reads back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradlab-onnx-" });
  try {
    const out = `${dir}/linear.onnx`;
    const exported = JSON.parse(await task("export", ["--steps", "20", "--out", out, "--json"]));
    const predicted = JSON.parse(await task("predict", ["--model", out, "--x", "3,2", "--json"]));
    const [[w1, w2]] = exported.weight as [[number, number]];
    const expected = w1! * 3 + w2! * 2 + exported.bias[0];
    const y = predicted.y[0][0] as number;
    if (!(Math.abs(y - expected) <= 1e-6 * Math.abs(expected))) throw new Error(`predict gives ${y}, the exported weights ${expected}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
