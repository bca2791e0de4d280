/**
 * Whole training runs against torch (test/fixtures/lr_scheduler_reference.json): a 3-4-2 MLP with
 * AdamW + StepLR, Adam + CosineAnnealingLR and SGD (Nesterov) + StepLR, loss and weights step by
 * step; then the same run stopped half way, model, optimizer and scheduler saved to files and
 * loaded into fresh objects, continues to bit-identical weights; the tensor count stays flat.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { backward } from "../lib/autograd/backward";
import { loadState, saveState } from "../lib/io/state_file";
import { Linear } from "../lib/nn/linear";
import { mseLoss } from "../lib/nn/mse_loss";
import { Sequential } from "../lib/nn/sequential";
import { Adam } from "../lib/optim/adam";
import { AdamW } from "../lib/optim/adamw";
import { CosineAnnealingLR, StepLR, type LRScheduler } from "../lib/optim/lr_scheduler";
import type { Optimizer } from "../lib/optim/optimizer";
import { SGD } from "../lib/optim/sgd";
import { assertClose, type Nested } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";
import { TfTanh } from "./support/tf_activations";

interface Run {
  optimizer: "Adam" | "AdamW" | "SGD";
  config: Record<string, unknown>;
  scheduler: "StepLR" | "CosineAnnealingLR";
  scheduler_config: Record<string, number>;
  init: Record<string, Nested>;
  x: number[][];
  y: number[][];
  losses: number[];
  states: Record<string, Nested>[];
  lrs: number[];
}
const reference = JSON.parse(readFileSync(new URL("./fixtures/lr_scheduler_reference.json", import.meta.url), "utf8")) as { runs: Run[] };

/** float32 training against float64 over 30 steps: round-off compounds through the trajectory. */
const TRAJECTORY_TOL = { atol: 2e-5, rtol: 2e-5 };

const dir = mkdtempSync(join(tmpdir(), "gradlab-resume-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function setup(run: Run) {
  const model = new Sequential(new Linear(3, 4), new TfTanh(), new Linear(4, 2, { bias: false }));
  model.loadStateDict(run.init);
  const camel = Object.fromEntries(Object.entries(run.config).map(([k, v]) => [k.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()), v]));
  const params = model.parameters();
  const opt: Optimizer<{ lr: number }> = run.optimizer === "SGD" ? new SGD(params, camel as never) : run.optimizer === "Adam" ? new Adam(params, camel) : new AdamW(params, camel);
  const c = run.scheduler_config;
  const sched: LRScheduler = run.scheduler === "StepLR" ? new StepLR(opt, c.step_size!, c.gamma === undefined ? {} : { gamma: c.gamma }) : new CosineAnnealingLR(opt, c.T_max!, { etaMin: c.eta_min ?? 0 });
  return { model, opt, sched };
}

describeEachBackend("training runs against torch, and resuming them", () => {
  for (const run of reference.runs) {
    const label = `${run.optimizer}(${JSON.stringify(run.config)}) + ${run.scheduler}(${JSON.stringify(run.scheduler_config)})`;
    const x = () => tf.tensor2d(run.x);
    const y = () => tf.tensor2d(run.y);

    /** Steps [from, to): one optimizer step and one scheduler step each; returns the losses. */
    function train(s: ReturnType<typeof setup>, from: number, to: number, check: boolean, counts?: number[]): number[] {
      const [xs, ys] = [x(), y()];
      const losses: number[] = [];
      for (let step = from; step < to; step++) {
        s.opt.zeroGrad();
        const loss = backward(() => mseLoss(s.model.forward(xs), ys), s.model.parameters());
        s.opt.step();
        s.sched.step();
        losses.push(loss.dataSync()[0]!);
        loss.dispose();
        if (check) {
          for (const [k, v] of Object.entries(s.model.stateDict())) assertClose(v, run.states[step]![k]!, TRAJECTORY_TOL, `${label}: ${k} after step ${step + 1}`);
          assert.equal(s.sched.getLastLr()[0], run.lrs[step], `lr after step ${step + 1}`);
        }
        counts?.push(tf.memory().numTensors);
      }
      tf.dispose([xs, ys]);
      return losses;
    }

    it(`${label}: loss and weights follow torch's run step by step`, () => {
      const s = setup(run);
      const counts: number[] = [];
      const losses = train(s, 0, run.losses.length, true, counts);
      assertClose(losses, run.losses, { rtol: 1e-5, atol: 1e-6 }, `${label} losses`);
      const drift = counts.findIndex((c, i) => i >= 1 && c !== counts[1]);
      assert.equal(drift, -1, `tensor count changed at step ${drift + 1}: ${counts[drift]} vs ${counts[1]}`);
      s.model.zeroGrad();
      s.opt.dispose();
      s.model.dispose();
    });

    it(`${label}: saved half way to files and resumed, gives the uninterrupted run's weights bit for bit`, () => {
      const whole = setup(run);
      train(whole, 0, 30, false);
      const expected = whole.model.stateDict();

      const first = setup(run);
      train(first, 0, 12, false);
      const files = { model: join(dir, "model.json"), opt: join(dir, "opt.json"), sched: join(dir, "sched.json") };
      saveState(first.model, files.model);
      saveState(first.opt, files.opt);
      saveState(first.sched, files.sched);
      // A fresh process would build fresh objects (with another init) and load the three files.
      const second = setup({ ...run, init: Object.fromEntries(Object.entries(run.init).map(([k, v]) => [k, JSON.parse(JSON.stringify(v), (_, n) => (typeof n === "number" ? n / 2 : n))])) });
      loadState(second.model, files.model);
      loadState(second.opt, files.opt);
      loadState(second.sched, files.sched);
      train(second, 12, 30, false);
      assert.deepEqual(second.model.stateDict(), expected);
      assert.deepEqual(second.opt.stateDict(), whole.opt.stateDict());
      assert.deepEqual(second.sched.stateDict(), whole.sched.stateDict());
      for (const s of [whole, first, second]) {
        s.model.zeroGrad();
        s.opt.dispose();
        s.model.dispose();
      }
    });
  }

  it("loadState names the file it cannot read or parse, and a bad file leaves the model as it was", () => {
    const model = new Sequential(new Linear(3, 4), new TfTanh(), new Linear(4, 2, { bias: false }));
    const before = model.stateDict();
    assert.throws(() => loadState(model, join(dir, "missing.json")), /loadState: cannot read .*missing\.json: ENOENT/);
    writeFileSync(join(dir, "broken.json"), "{\"0.weight\": [[1, 2");
    assert.throws(() => loadState(model, join(dir, "broken.json")), /loadState: .*broken\.json is not a JSON state dict/);
    writeFileSync(join(dir, "short.json"), JSON.stringify({ "0.weight": before["0.weight"] }));
    assert.throws(() => loadState(model, join(dir, "short.json")), /missing keys: "0\.bias", "2\.weight"/);
    assert.deepEqual(model.stateDict(), before);
    model.dispose();
  });

  it("loadState refuses a folder, a file over its limit, a device past the limit and JSON nested too deep, before parsing, leaving the model as it was", () => {
    const model = new Sequential(new Linear(3, 4), new TfTanh(), new Linear(4, 2, { bias: false }));
    const before = model.stateDict();
    assert.throws(() => loadState(model, dir), /loadState: cannot read .*: it is a folder, expected a state file/);
    const big = join(dir, "big.json");
    writeFileSync(big, `{"pad": "${"x".repeat(3 * 1024 * 1024)}"}`);
    assert.throws(() => loadState(model, big, { maxMib: 2 }), /loadState: .*big\.json is 3\.0 MiB, over the 2 MiB limit on state files; if it is meant, pass \{ maxMib: 4 \}/);
    assert.throws(() => loadState(model, "/dev/zero", { maxMib: 1 }), /loadState: \/dev\/zero is more than 1 MiB \(a pipe or device\), over the 1 MiB limit/);
    const deep = join(dir, "deep.json");
    writeFileSync(deep, "[".repeat(200_000) + "]".repeat(200_000));
    assert.throws(() => loadState(model, deep), /loadState: .*deep\.json nests arrays\/objects more than 64 deep; expected a JSON state dict/);
    assert.throws(() => loadState(model, big, { maxMib: 0 }), /loadState: maxMib must be a positive number of MiB, got 0/);
    assert.deepEqual(model.stateDict(), before);
    model.dispose();
  });
});
