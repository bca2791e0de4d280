/**
 * StepLR and CosineAnnealingLR against torch.optim.lr_scheduler (test/fixtures/
 * lr_scheduler_reference.json): every epoch's learning rate, past tMax too; bad arguments and state
 * dicts refused before anything changes.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { Parameter } from "../lib/nn/parameter";
import { Adam } from "../lib/optim/adam";
import { CosineAnnealingLR, StepLR, type LRScheduler } from "../lib/optim/lr_scheduler";
import { SGD } from "../lib/optim/sgd";
import { assertClose } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";

const reference = JSON.parse(readFileSync(new URL("./fixtures/lr_scheduler_reference.json", import.meta.url), "utf8")) as {
  schedules: { scheduler: "StepLR" | "CosineAnnealingLR"; config: { step_size?: number; gamma?: number; T_max?: number; eta_min?: number }; lrs: number[] }[];
};

/** The same float64 formulas; Math.cos and libm's cos may differ in the last bit. */
const LR_TOL = { rtol: 1e-14, atol: 1e-17 };

function make(name: string, opt: SGD, c: { step_size?: number; gamma?: number; T_max?: number; eta_min?: number }): LRScheduler {
  return name === "StepLR" ? new StepLR(opt, c.step_size!, c.gamma === undefined ? {} : { gamma: c.gamma }) : new CosineAnnealingLR(opt, c.T_max!, c.eta_min === undefined ? {} : { etaMin: c.eta_min });
}

describeEachBackend("learning-rate schedulers", () => {
  for (const { scheduler, config, lrs } of reference.schedules) {
    it(`${scheduler}(${JSON.stringify(config)}) gives torch's learning rate every epoch`, () => {
      const p = Parameter.adopt(tf.zeros([1]));
      const opt = new SGD([p], { lr: 0.1 });
      const sched = make(scheduler, opt, config);
      const ours = [sched.getLastLr()[0]!];
      for (let epoch = 0; epoch < lrs.length - 1; epoch++) {
        opt.step();
        sched.step();
        ours.push(sched.getLastLr()[0]!);
        assert.equal(opt.paramGroups[0].lr, ours.at(-1));
      }
      assertClose(ours, lrs, LR_TOL, `${scheduler} learning rates`);
      opt.dispose();
      p.dispose();
    });
  }

  it("a scheduler resumed from its state dict continues torch's schedule", () => {
    const { config, lrs } = reference.schedules.find((s) => s.scheduler === "CosineAnnealingLR" && s.config.eta_min !== undefined)!;
    const p = Parameter.adopt(tf.zeros([1]));
    const opt = new SGD([p], { lr: 0.1 });
    const first = new CosineAnnealingLR(opt, config.T_max!, { etaMin: config.eta_min! });
    for (let epoch = 0; epoch < 13; epoch++) first.step();
    const saved = JSON.parse(JSON.stringify({ opt: opt.stateDict(), sched: first.stateDict() }));
    const opt2 = new SGD([p], { lr: 0.5 });
    const second = new CosineAnnealingLR(opt2, 99);
    opt2.loadStateDict(saved.opt);
    second.loadStateDict(saved.sched);
    const ours: number[] = [];
    for (let epoch = 13; epoch < lrs.length - 1; epoch++) {
      second.step();
      ours.push(second.getLastLr()[0]!);
    }
    assertClose(ours, lrs.slice(14), LR_TOL, "resumed learning rates");
    assert.equal(opt2.paramGroups[0].initialLr, 0.1);
    opt.dispose();
    opt2.dispose();
    p.dispose();
  });

  it("rejects bad arguments and state dicts, naming the scheduler, the argument, the value and what was expected", () => {
    const p = Parameter.adopt(tf.zeros([1]));
    const opt = new Adam([p], { lr: 0.1 });
    assert.throws(() => new StepLR(opt, 0), (e: Error) => e instanceof RangeError && e.message === "StepLR: stepSize must be an integer ≥ 1, got 0");
    assert.throws(() => new StepLR(opt, 2, { gamma: -0.5 }), /StepLR: gamma must be a finite number ≥ 0, got -0\.5/);
    assert.throws(() => new StepLR(opt, 2, { step_size: 3 } as unknown as { gamma: number }), /StepLR: unknown option "step_size"; expected gamma/);
    assert.throws(() => new CosineAnnealingLR(opt, 2.5), /CosineAnnealingLR: tMax must be an integer ≥ 1, got 2\.5/);
    assert.throws(() => new CosineAnnealingLR(opt, 10, { etaMin: Number.NaN }), /CosineAnnealingLR: etaMin must be a finite number ≥ 0, got NaN/);
    assert.throws(() => new StepLR({ paramGroups: [] } as unknown as SGD, 1), /StepLR: optimizer must be a gradlab Optimizer \(SGD, Adam, AdamW\), got an Object/);
    assert.equal(opt.paramGroups[0].lr, 0.1, "a refused scheduler changed the optimizer's lr");

    const step = new StepLR(opt, 2, { gamma: 0.5 });
    const cosine = new CosineAnnealingLR(opt, 4);
    const before = JSON.stringify(step.stateDict());
    const bad: [unknown, RegExp][] = [
      [cosine.stateDict(), /StepLR\.loadStateDict: this is the state of "CosineAnnealingLR"; expected that of StepLR/],
      [{ ...cosine.stateDict(), scheduler: undefined }, /StepLR\.loadStateDict: it has keys T_max, eta_min, .*: a state dict of another scheduler\?/],
      [{ ...step.stateDict(), base_lrs: [0.1, 0.2] }, /StepLR\.loadStateDict: base_lrs must be 1 finite number\(s\) ≥ 0 \(one per param group\), got \[0\.1, 0\.2\]/],
      [{ ...step.stateDict(), step_size: 0 }, /StepLR\.loadStateDict: step_size must be an integer ≥ 1, got 0/],
      [{ ...step.stateDict(), last_epoch: 1.5 }, /StepLR\.loadStateDict: last_epoch must be an integer ≥ -1, got 1\.5/],
    ];
    for (const [sd, message] of bad) {
      assert.throws(() => step.loadStateDict(JSON.parse(JSON.stringify(sd))), (e: Error) => message.test(e.message) || assert.fail(`${e.message} does not match ${message}`), `no error for ${message}`);
      assert.equal(JSON.stringify(step.stateDict()), before);
    }
    opt.dispose();
    p.dispose();
  });
});
