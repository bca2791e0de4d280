/**
 * runSeedExperiment's watch options (issue 9): stopOnNonFinite stops at the first NaN/Infinity
 * with the step a float64 reference predicts; maxLosses thins the losses to every k-th step of the
 * full run; tensors stay flat whatever the number of steps; an abort signal stops cleanly. And
 * findNonFiniteParameter, the check export and predict use, names the first bad entry.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { runSeedExperiment, TrainingInterruptedError } from "../lib/experiments/seed";
import { samplesFromJson } from "../lib/experiments/seed_data";
import { Linear } from "../lib/nn/linear";
import { findNonFiniteParameter, formatEntry, NonFiniteError } from "../lib/nn/non_finite";
import { describeEachBackend } from "./support/backends";
import { captureWarnings } from "./support/capture_warnings";

const FLT_MAX = 3.4028234663852886e38;
const X = [[1, 2], [3, -1], [-2, 1]];
const Y = [1, 2, 3];
const INIT = { weight: [[0.5, -0.5]], bias: [0.25] };

/** Plain SGD on MSE in float64: the first step whose loss leaves float32's range. */
function hostDivergenceStep(lr: number): number {
  const p = [...INIT.weight[0]!, INIT.bias[0]!];
  for (let step = 0; ; step++) {
    const input = [...X[step % X.length]!, 1];
    const err = p.reduce((s, pi, i) => s + pi * input[i]!, 0) - Y[step % Y.length]!;
    if (!(err * err <= FLT_MAX)) return step;
    for (let i = 0; i < p.length; i++) p[i]! -= lr * 2 * err * input[i]!;
  }
}

const quiet = <T>(body: () => Promise<T>) => captureWarnings(body).then((r) => r.result);

describeEachBackend("training watch", () => {
  it("stopOnNonFinite: a NonFiniteError at the step where the float64 reference overflows, nothing leaked", async () => {
    const before = tf.memory().numTensors;
    const options = { init: INIT, data: samplesFromJson({ x: X, y: Y }), steps: 200, lr: 1, momentum: 0, weightDecay: 0 };
    const expected = hostDivergenceStep(1);
    await assert.rejects(quiet(() => runSeedExperiment({ ...options, stopOnNonFinite: true })), (error: Error) => {
      assert.ok(error instanceof NonFiniteError, String(error));
      assert.match(error.message, new RegExp(`^the loss became (Infinity|NaN) at step ${expected} \\(the step before: `));
      return true;
    });
    assert.equal(tf.memory().numTensors, before, "tensors left behind after the stop");
    // Without the option it trains on, as PyTorch does, into NaN.
    const result = await quiet(() => runSeedExperiment(options));
    assert.ok(!Number.isFinite(result.losses[expected]!) && result.losses.slice(0, expected).every(Number.isFinite));
    result.model.dispose();
  });

  it("maxLosses keeps every k-th loss of the full run (k = ceil(steps / maxLosses)) and the last", async () => {
    const [full, thinned] = await quiet(() => Promise.all([runSeedExperiment({ steps: 1000, seed: 4 }), runSeedExperiment({ steps: 1000, seed: 4, maxLosses: 300 })]));
    assert.equal(full.lossEvery, 1);
    assert.equal(thinned.lossEvery, 4);
    assert.deepEqual(thinned.losses, full.losses.filter((_, step) => step % 4 === 0));
    assert.equal(thinned.lastLoss, full.losses[999]);
    full.model.dispose();
    thinned.model.dispose();
  });

  it("the tensor count seen at each read-back does not grow with the steps", async () => {
    const counts: number[] = [];
    const result = await quiet(() => runSeedExperiment({ steps: 3000, maxLosses: 10, onProgress: () => counts.push(tf.memory().numTensors) }));
    result.model.dispose();
    assert.ok(counts.length >= 3000 / 256, `${counts.length} read-backs for 3000 steps`);
    // Each read-back happens with the block just freed: the same count at step 512 as at step 3000.
    assert.equal(Math.max(...counts.slice(1)), Math.min(...counts.slice(1)), `tensor counts at read-backs: ${counts.join(", ")}`);
  });

  it("an aborted signal stops after the current block with TrainingInterruptedError, nothing leaked", async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    await assert.rejects(
      quiet(() => runSeedExperiment({ steps: 1_000_000, signal: controller.signal, onProgress: () => controller.abort("SIGINT") })),
      (error: Error) => error instanceof TrainingInterruptedError && /^training stopped at step \d+ of 1000000 \(SIGINT\)$/.test(error.message),
    );
    assert.equal(tf.memory().numTensors, before);
  });

  it("findNonFiniteParameter names the first non-finite entry in state-dict order", async () => {
    const model = new Linear(3, 2);
    assert.equal(await findNonFiniteParameter(model), null);
    model.loadStateDict({ weight: [[1, 2, 3], [4, 1e39, 6]], bias: [0, 0] });
    const entry = await findNonFiniteParameter(model);
    assert.deepEqual(entry, { name: "weight", index: [1, 1], value: Infinity });
    assert.equal(formatEntry(entry!), "weight[1][1] = Infinity");
    model.loadStateDict({ weight: [[1, 2, 3], [4, 5, 6]], bias: [0, -1e39] });
    assert.equal(formatEntry((await findNonFiniteParameter(model))!), "bias[1] = -Infinity");
    model.dispose();
  });
});
