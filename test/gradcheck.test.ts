/** gradcheck in float32: passes the right backward, catches every planted mistake, says what is wrong. */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../lib/function";
import { gradcheck, gradcheckAsync, type GradcheckOptions } from "../lib/gradcheck/gradcheck";
import { formatGradcheckReport, GradcheckError } from "../lib/gradcheck/report";
import { LinearF } from "../lib/ops/linear";
import { Generator } from "../lib/random";
import { describeEachBackend } from "./support/backends";
import { PLANTED_MISTAKES } from "../lib/ops/linear_mistakes";

type Lin = [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];

/** `count` shapes [batch, in, out]: batch 1 and square cases (where no shape check can help) included. */
function randomShapes(seed: number, count: number): [number, number, number][] {
  const g = new Generator(seed);
  return Array.from({ length: count }, (_, i) => {
    if (i % 5 === 0) {
      const n = g.integer(2, 6);
      return [n, n, n];
    }
    return [i % 5 === 1 ? 1 : g.integer(1, 8), g.integer(1, 8), g.integer(1, 8)];
  });
}

function linearInputs(g: Generator, [batch, inF, outF]: [number, number, number]): Lin {
  return [
    tf.tensor2d(g.uniformArray(batch * inF, -2, 2), [batch, inF]),
    tf.tensor2d(g.uniformArray(outF * inF, -1, 1), [outF, inF]),
    tf.tensor1d(g.uniformArray(outF, -1, 1)),
  ];
}

/** Whether an op's backward gives LinearF's gradients here (tfjs autodiff as the referee). */
async function sameGradients(op: (typeof PLANTED_MISTAKES)[number]["op"], xs: Lin): Promise<boolean> {
  const u = tf.randomNormal([xs[0].shape[0], xs[1].shape[0]], 0, 1, "float32", 9);
  try {
    const loss = (f: (...a: Lin) => tf.Tensor) => (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor1D), u));
    const ours = tf.grads(loss((...a) => op.apply(...a)))(xs);
    const reference = tf.grads(loss((x, w, b) => tf.add(tf.matMul(x, w, false, true), b)))(xs);
    let same = true;
    for (const [i, t] of ours.entries()) {
      if (t.shape.join() !== reference[i]!.shape.join()) same = false;
      else {
        const gap = tf.tidy(() => tf.max(tf.abs(tf.sub(t, reference[i]!))));
        if (!((await gap.data())[0]! < 1e-6)) same = false;
        gap.dispose();
      }
    }
    tf.dispose([...ours, ...reference]);
    return same;
  } catch {
    return false;
  } finally {
    u.dispose();
  }
}

type Op = Parameters<typeof gradcheck>[0];

describeEachBackend("gradcheck", (backend) => {
  // cpu and wasm read synchronously: gradcheck, as most callers use it. webgpu in Node cannot:
  // gradcheckAsync (the same computation, reads.ts; a test below checks the two agree). llvmpipe
  // takes about a second per check, so webgpu gets the first 10 of the 50 shapes.
  const check = (op: Op, xs: readonly tf.Tensor[], options?: GradcheckOptions) =>
    backend === "webgpu" ? gradcheckAsync(op, xs, options) : Promise.resolve().then(() => gradcheck(op, xs, options));
  const count = backend === "webgpu" ? 10 : 50;

  it(`passes the correct LinearF on ${count} random shapes, batch 1 included`, async () => {
    const g = new Generator(11);
    for (const shape of randomShapes(1, count)) {
      const xs = linearInputs(g, shape);
      const report = await check(LinearF, xs);
      assert.ok(report.passed, `shape ${shape}:\n${formatGradcheckReport(report)}`);
      assert.deepEqual(report.inputs.map((r) => r.mode), ["full", "full", "full"]);
      tf.dispose(xs);
    }
  });

  for (const mistake of PLANTED_MISTAKES) {
    it(`catches "${mistake.name}" on every one of ${count} random shapes, saying what is wrong`, async () => {
      const g = new Generator(12);
      let caughtNumerically = 0;
      for (const shape of randomShapes(2, count)) {
        const xs = linearInputs(g, shape);
        // For some shapes a "mistake" is no mistake (the transpose of a 1×1 matrix is itself).
        if (await sameGradients(mistake.op, xs)) {
          tf.dispose(xs);
          continue;
        }
        const report = await check(mistake.op, xs);
        const text = formatGradcheckReport(report);
        assert.equal(report.passed, false, `not caught for shape ${shape}:\n${text}`);
        const wrong = report.inputs[mistake.wrongInput]!;
        if (report.inputs.some((r) => r.error !== null)) {
          assert.match(text, mistake.shapeMessage, `shape ${shape}:\n${text}`);
        } else {
          caughtNumerically++;
          assert.equal(wrong.passed, false, `shape ${shape}:\n${text}`);
          assert.match(text, new RegExp(`${wrong.label.replace(/[()]/g, "\\$&")} \\[[\\d, ]+\\]: FAILED \\(\\d+ Jacobian entries, \\d+ outside tolerance`), `shape ${shape}:\n${text}`);
          assert.match(text, /worst: ∂out\[[\d, ]+\] \/ ∂\w+\[[\d, ]+\]: analytic \S+, numerical \S+ \(tolerance \S+\)/);
          if (mistake.numericalMessage !== null) assert.match(text, mistake.numericalMessage, `shape ${shape}:\n${text}`);
        }
        tf.dispose(xs);
      }
      if (!mistake.alwaysWrongShape) assert.ok(caughtNumerically >= count / 5, `only ${caughtNumerically} shapes reached the numerical check`);
    });
  }

  it("checks large inputs by random projections and still catches the mistakes", async () => {
    const g = new Generator(13);
    const xs = linearInputs(g, [64, 300, 40]);
    const ok = await check(LinearF, xs);
    assert.ok(ok.passed, formatGradcheckReport(ok));
    assert.ok(ok.inputs.every((r) => r.mode === "projection"));
    for (const mistake of PLANTED_MISTAKES) {
      const report = await check(mistake.op, xs);
      assert.equal(report.passed, false, `${mistake.name} not caught by projections`);
    }
    const doubled = await check(PLANTED_MISTAKES.find((m) => m.name === "dW scaled by 2")!.op, xs);
    assert.match(formatGradcheckReport(doubled), /input 1 \(weight\) is 2\.00 × the numerical one/);
    tf.dispose(xs);
  });

  it("handles a nonlinear op: the right backward passes, a missing chain-rule factor fails", async () => {
    const make = (name: string, withFactor: boolean) =>
      defineFunction<[tf.Tensor]>({
        name,
        forward(ctx, x) {
          const y = tf.tanh(x);
          ctx.saveForBackward(y);
          return y;
        },
        backward(ctx, dy) {
          const [y] = ctx.saved;
          return withFactor ? tf.mul(dy, tf.sub(1, tf.square(y!))) : dy;
        },
      });
    const x = tf.tensor2d(new Generator(3).uniformArray(12, -2, 2), [3, 4]);
    assert.ok((await check(make("TANH", true), [x])).passed);
    const wrong = await check(make("TANH_NO_FACTOR", false), [x]);
    assert.equal(wrong.passed, false);
    x.dispose();
  });

  it("throws a GradcheckError with the report when asked to", async () => {
    const xs = linearInputs(new Generator(4), [3, 3, 3]);
    await assert.rejects(
      check(PLANTED_MISTAKES[2]!.op, xs, { raise: true }),
      (e: Error) => e instanceof GradcheckError && /gradcheck DW_DOUBLED: FAILED/.test(e.message) && e.report.inputs[1]!.passed === false,
    );
    assert.equal((await check(LinearF, xs, { raise: true })).passed, true);
    tf.dispose(xs);
  });

  it("rejects bad options and non-tensor inputs clearly", async () => {
    const xs = linearInputs(new Generator(5), [2, 2, 2]);
    await assert.rejects(check(LinearF, xs, { eps: 0 }), /gradcheck: eps must be a finite number > 0, got 0/);
    await assert.rejects(check(LinearF, xs, { rtol: -1 }), /rtol must be a finite number ≥ 0/);
    await assert.rejects(check(LinearF, [xs[0], { w: 1 }, xs[2]] as unknown as Lin), /gradcheck\(MYLINEAR\): input 1 \(weight\) is an object \(Object\); expected a tf\.Tensor, or a number, boolean, string or array of them/);
    tf.dispose(xs);
  });

  it("keeps no tensors", async () => {
    const xs = linearInputs(new Generator(6), [4, 3, 2]);
    const before = tf.memory().numTensors;
    await check(LinearF, xs);
    await check(PLANTED_MISTAKES[0]!.op, xs);
    await check(PLANTED_MISTAKES[2]!.op, xs);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose(xs);
  });

  if (backend === "webgpu") {
    it("the synchronous gradcheck says it cannot read here, and names gradcheckAsync", () => {
      const xs = linearInputs(new Generator(7), [2, 3, 2]);
      assert.throws(() => gradcheck(LinearF, xs), /^Error: gradcheck\(MYLINEAR\): the webgpu backend reads values back synchronously only in a browser .*; use `await gradcheckAsync\(…\)`/);
      tf.dispose(xs);
    });
  } else {
    it("gradcheck and gradcheckAsync give the same report, passing and failing", async () => {
      const g = new Generator(8);
      for (const op of [LinearF, ...PLANTED_MISTAKES.map((m) => m.op)]) {
        for (const shape of [[3, 4, 2], [64, 300, 40]] as [number, number, number][]) {
          const xs = linearInputs(g, shape);
          assert.deepEqual(await gradcheckAsync(op, xs), gradcheck(op, xs), `${op.name} ${shape}`);
          tf.dispose(xs);
        }
      }
    });
  }
}, { webgpu: true });
