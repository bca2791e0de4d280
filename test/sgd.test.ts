/** SGD against torch.optim.SGD, step by step (test/fixtures/sgd_reference.json, Debian torch 1.13). */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { Parameter } from "../lib/nn/parameter";
import { SGD } from "../lib/optim/sgd";
import { assertClose } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";

interface TorchConfig { lr: number; momentum: number; dampening: number; weight_decay: number; nesterov: boolean; maximize: boolean }
const reference = JSON.parse(readFileSync(new URL("./fixtures/sgd_reference.json", import.meta.url), "utf8")) as {
  p0: number[][];
  grads: number[][][];
  cases: { config: TorchConfig; params: number[][][] }[];
};

/** float32 arithmetic against float64 over six steps of O(1) values. */
const STEP_TOL = { atol: 2e-6, rtol: 2e-6 };

describeEachBackend("SGD", () => {
  for (const { config, params } of reference.cases) {
    const label = Object.entries(config).filter(([, v]) => v !== 0 && v !== false).map(([k, v]) => `${k}=${v}`).join(", ");
    it(`matches torch.optim.SGD step for step (${label})`, () => {
      const p = new Parameter(tf.tensor2d(reference.p0));
      const opt = new SGD([p], {
        lr: config.lr,
        momentum: config.momentum,
        dampening: config.dampening,
        weightDecay: config.weight_decay,
        nesterov: config.nesterov,
        maximize: config.maximize,
      });
      reference.grads.forEach((grad, step) => {
        opt.zeroGrad();
        p.grad = tf.tensor2d(grad);
        opt.step();
        assertClose(p.value.dataSync(), params[step]!, STEP_TOL, `step ${step + 1}`);
      });
      opt.zeroGrad();
      opt.dispose();
      p.dispose();
    });
  }

  it("skips parameters without a gradient, as torch does", () => {
    const a = new Parameter(tf.tensor1d([1, 2]));
    const b = new Parameter(tf.tensor1d([3, 4]));
    const opt = new SGD([a, b], { lr: 0.5, momentum: 0.9 });
    a.grad = tf.tensor1d([1, 1]);
    opt.step();
    assert.deepEqual(Array.from(a.value.dataSync()), [0.5, 1.5]);
    assert.deepEqual(Array.from(b.value.dataSync()), [3, 4]);
    opt.zeroGrad();
    assert.equal(a.grad, null);
    opt.dispose();
    a.dispose();
    b.dispose();
  });

  it("rejects what torch rejects, with the reason", () => {
    const p = new Parameter(tf.tensor1d([1]));
    assert.throws(() => new SGD([p], { lr: -0.1 }), /SGD: lr must be a finite number ≥ 0, got -0\.1/);
    assert.throws(() => new SGD([p], { lr: 0.1, momentum: Number.NaN }), /SGD: momentum must be a finite number ≥ 0/);
    assert.throws(() => new SGD([p], { lr: 0.1, weightDecay: -1 }), /weightDecay must be a finite number ≥ 0/);
    assert.throws(() => new SGD([p], { lr: 0.1, nesterov: true }), /Nesterov momentum requires a momentum > 0 and zero dampening/);
    assert.throws(() => new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), /Nesterov/);
    assert.throws(() => new SGD([], { lr: 0.1 }), /empty parameter list/);
    p.dispose();
  });
});
