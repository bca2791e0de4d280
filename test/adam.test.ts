/**
 * Adam and AdamW against torch.optim (test/fixtures/adam_reference.json, Debian torch 1.13, float64)
 * step by step: weight decay coupled and decoupled, amsgrad, maximize, betas, eps, a parameter
 * whose step count lags; torch's own state dict loads; bad arguments are refused before anything
 * changes; the tensor count is flat over many steps.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { Parameter } from "../lib/nn/parameter";
import { Adam, type AdamOptions } from "../lib/optim/adam";
import { AdamW } from "../lib/optim/adamw";
import { SGD } from "../lib/optim/sgd";
import { assertClose, type Nested } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";

interface TorchConfig { lr?: number; betas?: [number, number]; eps?: number; weight_decay?: number; amsgrad?: boolean; maximize?: boolean }
interface Case { optimizer: "Adam" | "AdamW"; config: TorchConfig; params: [number[][], number[]][]; state: Record<string, Record<string, Nested>>; param_group: Record<string, unknown> }
const reference = JSON.parse(readFileSync(new URL("./fixtures/adam_reference.json", import.meta.url), "utf8")) as {
  p0: number[][];
  p1: number[];
  grads0: number[][][];
  grads1: Record<string, number[]>;
  cases: Case[];
};

/**
 * float32 against float64 over eight steps. Adam moves each element by about lr per step whatever
 * the gradient's scale, so errors are relative to lr; a near-zero √v̂ amplifies round-off a little.
 */
const STEP_TOL = { atol: 5e-6, rtol: 5e-6 };

const OPTIMIZERS = { Adam, AdamW };

function camel(config: TorchConfig): Partial<AdamOptions> {
  const { weight_decay, ...rest } = config;
  return { ...rest, ...(weight_decay !== undefined ? { weightDecay: weight_decay } : {}) };
}

function params(): [Parameter, Parameter] {
  return [new Parameter(tf.tensor2d(reference.p0)), new Parameter(tf.tensor1d(reference.p1))];
}

describeEachBackend("Adam and AdamW", () => {
  for (const c of reference.cases) {
    const label = `${c.optimizer}(${JSON.stringify(c.config)})`;
    it(`${label} matches torch step for step, state included`, () => {
      const [p0, p1] = params();
      const opt = new OPTIMIZERS[c.optimizer]([p0, p1], camel(c.config));
      reference.grads0.forEach((grad, step) => {
        opt.zeroGrad();
        p0.grad = tf.tensor2d(grad);
        const g1 = reference.grads1[String(step)];
        if (g1 !== undefined) p1.grad = tf.tensor1d(g1);
        opt.step();
        assertClose(p0.value.arraySync() as Nested, c.params[step]![0], STEP_TOL, `${label} p0 after step ${step + 1}`);
        assertClose(p1.value.arraySync() as Nested, c.params[step]![1], STEP_TOL, `${label} p1 after step ${step + 1}`);
      });
      const sd = opt.stateDict();
      assert.equal(sd.optimizer, c.optimizer);
      for (const [index, entry] of Object.entries(c.state)) {
        const ours = sd.state[index]!;
        assert.deepEqual(Object.keys(ours).sort(), Object.keys(entry).sort(), `state["${index}"] keys`);
        assert.equal(ours.step, entry.step, `state["${index}"].step`);
        for (const k of Object.keys(entry).filter((k) => k !== "step")) assertClose(ours[k]!, entry[k]!, { atol: 1e-6, rtol: 1e-4 }, `state["${index}"].${k}`);
      }
      const { foreach: _f, capturable: _c, differentiable: _d, fused: _u, ...torchGroup } = c.param_group;
      assert.deepEqual(sd.param_groups[0], torchGroup);
      opt.zeroGrad();
      opt.dispose();
      p0.dispose();
      p1.dispose();
    });
  }

  it("loads torch's own optimizer state dict (as JSON) and continues from it", () => {
    const c = reference.cases.find((x) => x.optimizer === "Adam" && x.config.amsgrad === true && x.config.maximize === true)!;
    const [p0, p1] = params();
    const opt = new Adam([p0, p1]);
    opt.loadStateDict({ state: c.state, param_groups: [c.param_group] });
    assert.equal(opt.paramGroups[0].lr, c.config.lr);
    assert.deepEqual(opt.paramGroups[0].betas, c.config.betas);
    assert.equal(opt.paramGroups[0].amsgrad, true);
    assert.equal(opt.stateDict().state["1"]!.step, 5);
    opt.dispose();
    p0.dispose();
    p1.dispose();
  });

  it("rejects bad arguments with one error naming the class, the argument, the value and what was expected", () => {
    const [p0, p1] = params();
    const cases: [() => unknown, RegExp][] = [
      [() => new Adam([p0], { lr: -0.1 }), /^RangeError: Adam: lr must be a finite number ≥ 0, got -0\.1$/],
      [() => new AdamW([p0], { betas: [0.9, 1] }), /^RangeError: AdamW: betas must be two numbers, each in \[0, 1\), got \[0\.9, 1\]$/],
      [() => new Adam([p0], { betas: [-0.1, 0.9] }), /Adam: betas must be two numbers, each in \[0, 1\), got \[-0\.1, 0\.9\]/],
      [() => new Adam([p0], { eps: Number.NaN }), /Adam: eps must be a finite number ≥ 0, got NaN/],
      [() => new AdamW([p0], { weightDecay: -1 }), /AdamW: weightDecay must be a finite number ≥ 0, got -1/],
      [() => new Adam([p0], { amsgrad: 1 as unknown as boolean }), /Adam: amsgrad must be true or false, got 1/],
      [() => new Adam([p0], { weight_decay: 0.1 } as unknown as AdamOptions), /Adam: unknown option "weight_decay"; expected lr, betas, eps, weightDecay, amsgrad, maximize/],
      [() => new Adam([]), /Adam: params is an empty parameter list; expected at least one Parameter/],
      [() => new AdamW([p0, p1, p0]), /AdamW: params\[2\] is the same Parameter as params\[0\]; expected each parameter once/],
      [() => new Adam(p0 as unknown as Parameter[]), /Adam: params must be an array of Parameters \(e\.g\. model\.parameters\(\)\), got a single Parameter/],
      [() => new Adam([p0, p0.value as unknown as Parameter]), /Adam: params\[1\] is a Variable; expected a Parameter/],
    ];
    for (const [make, message] of cases) assert.throws(make, (e: Error) => message.test(`${e.name}: ${e.message}`) || assert.fail(`${e.name}: ${e.message} does not match ${message}`));
    p0.dispose();
    p1.dispose();
  });

  it("refuses the state dict of another optimizer, configuration or shape, and changes nothing", () => {
    const [p0, p1] = params();
    const adam = new Adam([p0, p1], { lr: 0.1 });
    p0.grad = tf.onesLike(p0.value);
    adam.step();
    const before = JSON.stringify(adam.stateDict());
    const sgd = new SGD([p0, p1], { lr: 0.1, momentum: 0.9 });
    sgd.step();
    const amsgrad = new Adam([p0, p1], { amsgrad: true });
    amsgrad.step();
    const good = adam.stateDict();
    const withMax = amsgrad.stateDict();
    const bad: [unknown, RegExp][] = [
      [sgd.stateDict(), /Adam\.loadStateDict: this is the state of "SGD"; expected that of Adam/],
      [{ ...sgd.stateDict(), optimizer: undefined }, /Adam\.loadStateDict: param_groups\[0\] has keys lr, momentum, .*: a state dict of another optimizer\?/],
      [new AdamW([p0]).stateDict(), /this is the state of "AdamW"; expected that of Adam/],
      [{ ...good, param_groups: [{ ...good.param_groups[0], params: [0] }] }, /param_groups\[0\]\.params is \[0\]; expected the 2 indices 0…1/],
      [{ ...good, param_groups: [{ ...good.param_groups[0], lr: -1 }] }, /Adam\.loadStateDict: param_groups\[0\]\.lr must be a finite number ≥ 0, got -1/],
      [{ ...good, state: { "0": { ...good.state["0"], exp_avg: [1, 2, 3] } } }, /optimizer state \["0"\]\.exp_avg" has shape \[3\], but the model's parameter has shape \[2, 3\]/],
      [{ ...good, state: { "5": good.state["0"] } }, /state has an entry for parameter "5"; expected indices 0…1/],
      [{ ...withMax, param_groups: [{ ...withMax.param_groups[0], amsgrad: false }] }, /state\["0"\] has step, exp_avg, exp_avg_sq, max_exp_avg_sq; expected step, exp_avg, exp_avg_sq \(for these hyper-parameters\)/],
      [[1, 2], /expected an optimizer state dict \(\{state, param_groups\}\), got \[1, 2\]/],
    ];
    for (const [sd, message] of bad) {
      assert.throws(() => adam.loadStateDict(JSON.parse(JSON.stringify(sd))), (e: Error) => message.test(e.message) || assert.fail(`${e.message} does not match ${message}`), `no error for ${message}`);
      assert.equal(JSON.stringify(adam.stateDict()), before, "a refused state dict changed the optimizer");
    }
    for (const o of [adam, sgd, amsgrad]) o.dispose();
    p0.dispose();
    p1.dispose();
  });

  it("keeps the tensor count flat across 300 steps (AdamW, amsgrad, weight decay)", () => {
    const [p0, p1] = params();
    const opt = new AdamW([p0, p1], { lr: 0.01, amsgrad: true, weightDecay: 0.1 });
    const counts: number[] = [];
    for (let step = 0; step < 300; step++) {
      opt.zeroGrad();
      p0.grad = tf.tidy(() => tf.mul(p0.value, 2));
      p1.grad = tf.tidy(() => tf.sin(p1.value));
      opt.step();
      counts.push(tf.memory().numTensors);
    }
    const drift = counts.findIndex((c, i) => i >= 1 && c !== counts[1]);
    assert.equal(drift, -1, `tensor count changed at step ${drift}: ${counts[drift]} vs ${counts[1]}`);
    opt.zeroGrad();
    opt.dispose();
    p0.dispose();
    p1.dispose();
  });
});
