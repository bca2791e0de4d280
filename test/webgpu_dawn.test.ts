/**
 * gradlab on Node's WebGPU: Dawn (the npm package `webgpu`) as navigator.gpu, tfjs-backend-webgpu
 * on it, gradlab's WGSL kernels registered — the path a Jupyter (tslab) kernel takes on a GPU
 * machine. Without a GPU, setBackend("webgpu") finds Mesa's llvmpipe through Dawn's OpenGL ES
 * backend (compatibility mode), so all of this runs in CI; where Node has no WebGPU at all, each
 * test is skipped with the reason. Data are fresh each run: the seed is printed, and
 * GRADLAB_TEST_SEED=N replays it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../lib/backend";
import { Linear } from "../lib/nn/linear";
import { addNInputLimit } from "../lib/webgpu/add_n";
import { subgroupDecision, webgpuDevice } from "../lib/webgpu/device";
import { ISSUE_SHAPES, KernelParity } from "./support/linear_webgpu_parity";
import { webgpuUnavailable } from "./support/backends";

const SEED = Number(process.env.GRADLAB_TEST_SEED ?? (Math.random() * 2 ** 32) >>> 0);
const reason = await webgpuUnavailable();
if (reason === null) console.log(`webgpu_dawn.test: data seed ${SEED} (GRADLAB_TEST_SEED=${SEED} replays it)`);
const parity = new KernelParity(SEED);

describe("gradlab on Node's WebGPU (Dawn)", { skip: reason ?? false }, () => {
  it('setBackend("webgpu") says what it runs on: the adapter, software or not, and through which Dawn', async () => {
    const info = await setBackend("webgpu");
    assert.equal(info.name, "webgpu");
    assert.match(info.device, /Dawn \((npm package webgpu|DAWN_NODE=.*)\)/);
    const device = webgpuDevice()!;
    assert.ok(device, "the webgpu backend has no device");
    // Here: llvmpipe through OpenGL ES. On a GPU machine: the GPU, neither software nor compatibility mode.
    if (/llvmpipe/i.test(info.device)) assert.match(info.device, /\(software adapter; compatibility mode; Dawn \(npm package webgpu\) with flags backend=opengles\)/);
    console.log(`  ${info.device}; ${subgroupDecision(device).why}`);
  });

  it('"auto" takes a software adapter only when allowed to', async () => {
    const software = (await setBackend("webgpu")).device.includes("software adapter");
    const auto = await setBackend("auto");
    if (software) {
      assert.notEqual(auto.name, "webgpu");
      assert.match(auto.skipped.join("\n"), /^webgpu: /m);
      assert.equal((await setBackend("auto", { allowSoftwareAdapter: true })).name, "webgpu");
    } else {
      assert.equal(auto.name, "webgpu", `a hardware adapter, yet auto chose ${auto.name}`);
    }
  });

  it("MYLINEAR's kernels equal the cpu backend (forward, dX, dW, dB) on the issue's shapes", async () => {
    const worst = await parity.issueShapes();
    console.log(`  worst relative error ${worst.toExponential(2)} over ${ISSUE_SHAPES.length} shapes`);
  });

  it("every tile, layout and bounds specialisation equals the cpu backend", async () => {
    await setBackend("webgpu");
    await parity.everyTile();
  });

  it("a pipeline is compiled once per specialisation, and the debug switch prints its WGSL", async () => {
    await setBackend("webgpu");
    await parity.pipelineCacheAndDebug();
  });

  it("training Linear on the kernels keeps tensor count and GPU memory flat", async () => {
    await setBackend("webgpu");
    await parity.trainingStaysFlat();
  });

  it("tf.addN past the device's storage-buffer limit sums right (tfjs-webgpu's own AddN gave zeros), and leaves no tensors behind", async () => {
    await setBackend("webgpu");
    const limit = addNInputLimit(tf.backend() as unknown as Parameters<typeof addNInputLimit>[0]);
    // One group, several groups, and groups of groups (the partial sums past the limit again).
    for (const count of [2, limit, limit + 1, 3 * limit + 2, limit * limit + 3]) {
      const xs = Array.from({ length: count }, (_, i) => tf.tensor1d([i + 1, -2 * i, 0.5]));
      const before = tf.memory().numTensors;
      const sum = tf.addN(xs);
      assert.deepEqual(Array.from(await sum.data()), [(count * (count + 1)) / 2, -count * (count - 1), count / 2], `${count} inputs (limit ${limit})`);
      assert.equal(tf.memory().numTensors, before + 1, `${count} inputs: only the sum is new`);
      tf.dispose([sum, ...xs]);
    }
  });

  it("stateDict() cannot read synchronously here and says so; stateDictAsync() can", async () => {
    await setBackend("webgpu");
    const model = new Linear(3, 2);
    try {
      assert.throws(() => model.stateDict(), /^Error: stateDict\(\): the webgpu backend reads values back synchronously only in a browser .*; use `await model\.stateDictAsync\(\)`$/);
      const state = await model.stateDictAsync();
      assert.deepEqual(Object.keys(state), ["weight", "bias"]);
      assert.deepEqual(state.weight, await model.weight.value.array());
      assert.equal((state.bias as number[]).length, 2);
    } finally {
      model.dispose();
    }
  });
});
