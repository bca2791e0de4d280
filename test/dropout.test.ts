/**
 * dropout and Dropout. Masks cannot match torch's bit for bit (different random streams), so the
 * tests check the law (the fraction dropped, kept values exactly x·fl32(1/(1 − p)) as torch
 * computes them, the mean preserved), reproducibility from a seed, the backward against the
 * forward's own mask, gradcheck with a fixed mask, train/eval, bad input and memory.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import * as F from "../lib/nn/functional";
import { Dropout } from "../lib/nn/dropout";
import { DropoutF } from "../lib/ops/dropout";
import { Generator } from "../lib/random";
import { describeEachBackend } from "./support/backends";
import { assertPathsAgree, onBothPaths } from "./support/host_paths";
import { assertGradcheck, assertMemoryFlat, assertRejects, awayFromZero, GRADCHECK_SHAPES, SCALES } from "./support/layer_checks";

describeEachBackend("dropout", () => {
  it("drops a fraction p (within 4σ) and scales the kept values by fl32(1/(1 − p)) exactly, as torch", () => {
    const n = 40000;
    const g = new Generator(1);
    const values = g.uniformArray(n, 0.5, 2);
    const x = tf.tensor(values);
    for (const p of [0.1, 0.5, 0.8]) {
      const y = F.dropout(x, p, true, { generator: g });
      const out = y.dataSync();
      const scale = Math.fround(1 / (1 - p));
      let dropped = 0;
      let sum = 0;
      for (let i = 0; i < n; i++) {
        if (out[i] === 0) dropped++;
        else assert.equal(out[i], Math.fround(values[i]! * scale), `p ${p}: element ${i} kept as ${out[i]}, expected ${values[i]} × ${scale}`);
        sum += out[i]!;
      }
      const sigma = Math.sqrt(p * (1 - p) / n);
      assert.ok(Math.abs(dropped / n - p) < 4 * sigma, `p ${p}: dropped ${dropped / n}, expected ${p} ± ${4 * sigma}`);
      // E[y] = x: the mean of y against the mean of x, within 4σ of the sampling spread.
      const meanX = values.reduce((a, b) => a + b, 0) / n;
      const spread = Math.sqrt(p / (1 - p)) * Math.sqrt(values.reduce((a, b) => a + b * b, 0) / n) / Math.sqrt(n);
      assert.ok(Math.abs(sum / n - meanX) < 4 * spread, `p ${p}: mean ${sum / n}, expected ${meanX} ± ${4 * spread}`);
      y.dispose();
    }
    x.dispose();
  });

  it("the same generator seed replays the same masks; successive calls differ", () => {
    const x = tf.ones([200]);
    const masks = (seed: number) => {
      const g = new Generator(seed);
      return [0, 1].map(() => tf.tidy(() => Array.from(F.dropout(x, 0.5, true, { generator: g }).dataSync())));
    };
    const [a1, a2] = masks(7);
    const [b1] = masks(7);
    assert.deepEqual(a1, b1);
    assert.notDeepEqual(a1, a2);
    assert.notDeepEqual(a1, masks(8)[0]);
    x.dispose();
  });

  it("backward multiplies dy by the forward's own mask: dx = up·y/x elementwise", () => {
    const g = new Generator(2);
    const x = awayFromZero(g, [5, 7], 1);
    const up = tf.tensor(g.uniformArray(35, -1, 1), [5, 7]);
    for (const p of [0.2, 0.6]) {
      const seed = 1234;
      const y = DropoutF.apply(x, p, true, seed);
      const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(DropoutF.apply(a, p, true, seed), up)))(x);
      const [ys, xs, us, ds] = [y.dataSync(), x.dataSync(), up.dataSync(), dx.dataSync()];
      const scale = Math.fround(1 / (1 - p));
      for (let i = 0; i < 35; i++) assert.equal(ds[i]! + 0, ys[i] === 0 ? 0 : Math.fround(us[i]! * scale), `p ${p} element ${i} (x ${xs[i]}, y ${ys[i]})`);
      tf.dispose([y, dx]);
    }
    tf.dispose([x, up]);
  });

  it("gradcheck with a fixed mask on 10 shapes × 3 scales", () => {
    const g = new Generator(4);
    for (const shape of GRADCHECK_SHAPES) {
      for (const scale of SCALES) {
        const x = awayFromZero(g, shape, scale);
        for (const p of [0.3, 0.7]) assertGradcheck((a) => DropoutF.apply(a, p, true, 99), [x], `Dropout(${p}) ${JSON.stringify(shape)} ×${scale}`);
        x.dispose();
      }
    }
  });

  it("evaluation and p = 0 give the input, p = 1 zeros (gradients alike), as torch", () => {
    const x = tf.tensor([[1, -2, 3], [4, 5, -6]]);
    const cases: [number, boolean, number[], number[]][] = [
      [0.5, false, [1, -2, 3, 4, 5, -6], [1, 1, 1, 1, 1, 1]],
      [0, true, [1, -2, 3, 4, 5, -6], [1, 1, 1, 1, 1, 1]],
      [1, true, [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]],
    ];
    for (const [p, training, expected, grad] of cases) {
      const y = F.dropout(x, p, training);
      const dx = tf.grad((a: tf.Tensor) => tf.sum(F.dropout(a, p, training)))(x);
      assert.deepEqual(Array.from(y.dataSync()), expected, `p ${p} training ${training}`);
      assert.deepEqual(Array.from(dx.dataSync()), grad, `gradient, p ${p} training ${training}`);
      assert.notEqual(y, x, "a new tensor, not the input itself");
      tf.dispose([y, dx]);
    }
    x.dispose();
  });

  it("Dropout follows train()/eval() and uses its generator", () => {
    const layer = new Dropout(0.5, { generator: new Generator(3) });
    assert.equal(layer.toString(), "Dropout(p=0.5, inplace=False)");
    assert.equal(layer.parameters().length, 0);
    const x = tf.ones([100]);
    const masked = layer.forward(x);
    assert.ok(Array.from(masked.dataSync()).some((v) => v === 0), "training mode drops something");
    layer.eval();
    const same = layer.forward(x);
    assert.deepEqual(Array.from(same.dataSync()), Array.from(x.dataSync()));
    layer.train();
    const again = layer.forward(x);
    const replay = F.dropout(x, 0.5, true, { generator: new Generator(3) });
    assert.deepEqual(Array.from(masked.dataSync()), Array.from(replay.dataSync()), "the module's first mask is its generator's first");
    tf.dispose([x, masked, same, again, replay]);
  });

  it("bad input: one error naming the op, the argument, what was given and what was expected", () => {
    const x = tf.ones([3]);
    const ints = tf.ones([3], "int32");
    assertRejects(() => F.dropout(x, 1.5), RangeError, /^dropout: dropout probability has to be between 0 and 1, but got 1\.5$/);
    assertRejects(() => F.dropout(x, Number.NaN), RangeError, /^dropout: dropout probability has to be between 0 and 1, but got NaN$/);
    assertRejects(() => F.dropout(x, 0.5, "yes" as unknown as boolean), TypeError, /^dropout: training must be a boolean, got a string \(yes\)$/);
    assertRejects(() => F.dropout(ints), TypeError, /^dropout: input must have dtype float32, got int32 \(shape \[3\]\)$/);
    assertRejects(() => new Dropout(-0.1), RangeError, /^Dropout: dropout probability has to be between 0 and 1, but got -0\.1$/);
    tf.dispose([x, ints]);
  });

  it("host and tfjs paths agree exactly: one seed, one mask, the same outputs and gradients (12 shapes, an empty one too)", () => {
    const g = new Generator(6);
    for (const shape of [...GRADCHECK_SHAPES, [0, 3], [32, 32]]) {
      const x = awayFromZero(g, shape, 2);
      const up = tf.tensor(g.uniformArray(x.size, -1, 1), shape);
      for (const p of [0.3, 0.7]) {
        const run = () => [DropoutF.apply(x, p, true, 41), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(DropoutF.apply(a, p, true, 41), up)))(x)];
        assertPathsAgree(run, { rtol: 0, atol: 0 }, `dropout(${p}) ${JSON.stringify(shape)}`);
      }
      tf.dispose([x, up]);
    }
  });

  it("memory is flat across forward + gradient calls, on the host and the tfjs path", () => onBothPaths(() => {
    const x = tf.randomNormal([8, 16]);
    const g = new Generator(5);
    assertMemoryFlat(() => {
      const [y, dx] = tf.tidy(() => [F.dropout(x, 0.3, true, { generator: g }), tf.grad((a: tf.Tensor) => tf.sum(F.dropout(a, 0.3, true, { generator: g })))(x)]);
      tf.dispose([y!, dx!]);
    });
    x.dispose();
  }));
});
