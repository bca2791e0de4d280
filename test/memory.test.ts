/** No tensor leaks: tf.memory().numTensors is flat across 1000 training steps. */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { backward } from "../lib/autograd/backward";
import { runSeedExperiment } from "../lib/experiments/seed";
import { Linear } from "../lib/nn/linear";
import { MSELoss } from "../lib/nn/mse_loss";
import { SGD } from "../lib/optim/sgd";
import { Generator } from "../lib/random";
import { describeEachBackend } from "./support/backends";
import { captureWarnings } from "./support/capture_warnings";

describeEachBackend("memory", () => {
  it("keeps the tensor count flat across 1000 steps of the training loop", async () => {
    const g = new Generator(1);
    const model = new Linear(2, 1, { init: "uniform", generator: g });
    const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
    const loss = new MSELoss();
    const counts: number[] = [];
    await captureWarnings(() => {
      for (let step = 0; step < 1000; step++) {
        const x = tf.tensor2d([[g.uniform(), g.uniform()]]);
        const y = tf.tensor1d([1]);
        opt.zeroGrad();
        backward(() => loss.forward(model.forward(x), y), model.parameters()).dispose();
        opt.step();
        tf.dispose([x, y]);
        counts.push(tf.memory().numTensors);
      }
    });
    // Step 1 creates the momentum buffers; from then on nothing may accumulate.
    const settled = counts[1]!;
    const drift = counts.findIndex((c, i) => i >= 1 && c !== settled);
    assert.equal(drift, -1, `tensor count changed at step ${drift}: ${counts[drift]} vs ${settled}`);
    opt.zeroGrad();
    opt.dispose();
    model.dispose();
  });

  it("leaves nothing behind after runSeedExperiment, whatever the number of steps", async () => {
    const before = tf.memory().numTensors;
    for (const steps of [10, 1000]) {
      const { result } = await captureWarnings(() => runSeedExperiment({ steps, recordTrajectory: true }));
      assert.equal(result.losses.length, steps);
      assert.equal(result.trajectory?.length, steps);
      result.model.dispose();
      assert.equal(tf.memory().numTensors, before, `after ${steps} steps`);
    }
  });
});
