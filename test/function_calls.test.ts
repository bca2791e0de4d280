/**
 * defineFunction's call forms beyond the seed's: several outputs (one dy each, null where unused),
 * non-tensor arguments (in forward, ctx.attrs, symbolic), and ctx.needsInputGrad.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { backward } from "../lib/autograd/backward";
import { BackwardContractError, defineFunction } from "../lib/function";
import { Linear } from "../lib/nn/linear";
import { LinearF } from "../lib/ops/linear";
import { assertClose } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";

/** sin and cos of x in one op: backward gets dSin and dCos. */
const SinCos = defineFunction<[tf.Tensor], [tf.Tensor, tf.Tensor]>({
  name: "SINCOS",
  forward(ctx, x) {
    ctx.saveForBackward(x);
    return [tf.sin(x), tf.cos(x)];
  },
  backward(ctx, dSin, dCos) {
    const [x] = ctx.saved;
    ctx.attributes.set("seen", [dSin === null, dCos === null]);
    const fromSin = dSin ? tf.mul(dSin, tf.cos(x!)) : null;
    const fromCos = dCos ? tf.neg(tf.mul(dCos, tf.sin(x!))) : null;
    return fromSin && fromCos ? tf.add(fromSin, fromCos) : (fromSin ?? fromCos);
  },
});

/** leaky ReLU with its slope passed at call time. */
const seenSlopes: number[] = [];
const Leaky = defineFunction<[tf.Tensor, number]>({
  name: "LEAKY",
  inputNames: ["x", "slope"],
  forward(ctx, x, slope) {
    ctx.saveForBackward(x);
    return tf.where(tf.greater(x, 0), x, tf.mul(x, slope));
  },
  backward(ctx, dy) {
    const [x] = ctx.saved;
    const slope = ctx.attrs[1] as number;
    seenSlopes.push(slope);
    return [tf.mul(dy, tf.where(tf.greater(x!, 0), tf.onesLike(x!), tf.fill(x!.shape, slope))), null];
  },
  symbolic: (g, x, slope) => g.op("LeakyRelu", x, { alpha_f: slope }),
});

describeEachBackend("defineFunction call forms", () => {
  it("an op with two outputs gives backward one dy per output, null for the unused one", () => {
    const x = tf.tensor1d([0.3, -1.2, 2.5]);
    const both = tf.grad((t: tf.Tensor) => {
      const [s, c] = SinCos.apply(t);
      return tf.add(tf.sum(tf.mul(s, 2)), tf.sum(tf.mul(c, 3)));
    })(x);
    const expected = [0.3, -1.2, 2.5].map((v) => 2 * Math.cos(v) - 3 * Math.sin(v));
    assertClose(both.dataSync(), expected, { rtol: 1e-5, atol: 1e-6 }, "d(2 sin + 3 cos)");

    let seen: unknown = null;
    const onlyCos = tf.grad((t: tf.Tensor) => {
      const [, c] = SinCos.apply(t);
      return tf.sum(c);
    })(x);
    assertClose(onlyCos.dataSync(), [0.3, -1.2, 2.5].map((v) => -Math.sin(v)), { rtol: 1e-5, atol: 1e-6 }, "d cos");
    // Read what backward saw on a fresh call (the ctx of each call is its own).
    const probe = defineFunction<[tf.Tensor], [tf.Tensor, tf.Tensor]>({
      name: "PROBE",
      forward: (_ctx, t) => [tf.mul(t, 1), tf.mul(t, 2)],
      backward: (_ctx, a, b) => {
        seen = [a === null, b === null];
        return tf.mul(b!, 2);
      },
    });
    tf.grad((t: tf.Tensor) => tf.sum(probe.apply(t)[1]))(x);
    assert.deepEqual(seen, [true, false]);
    tf.dispose([x, both, onlyCos]);
  });

  it("passes non-tensor arguments to forward, to backward through ctx.attrs, and keeps them per call", () => {
    seenSlopes.length = 0;
    const x = tf.tensor1d([-2, -0.5, 1, 3]);
    const g1 = tf.grad((t: tf.Tensor) => tf.sum(Leaky.apply(t, 0.01)))(x);
    const g9 = tf.grad((t: tf.Tensor) => tf.sum(Leaky.apply(t, 0.9)))(x);
    assertClose(g1.dataSync(), [0.01, 0.01, 1, 1], { rtol: 1e-6, atol: 0 }, "slope 0.01");
    assertClose(g9.dataSync(), [0.9, 0.9, 1, 1], { rtol: 1e-6, atol: 0 }, "slope 0.9");
    assert.deepEqual(seenSlopes, [0.01, 0.9]);
    assertClose(Leaky.apply(x, 0.9).dataSync(), [-1.8, -0.45, 1, 3], { rtol: 1e-6, atol: 0 }, "forward");
    tf.dispose([x, g1, g9]);
  });

  it("refuses arguments that are neither tensors nor attribute values, and a gradient for an attribute", () => {
    const x = tf.ones([2]);
    assert.throws(() => (Leaky.apply as (...a: unknown[]) => tf.Tensor)(x, { slope: 1 }), /LEAKY\.apply: input 1 \(slope\) is an object \(Object\), expected a tf\.Tensor or a non-tensor argument/);
    assert.throws(() => (Leaky.apply as (...a: unknown[]) => tf.Tensor)(0.1, 0.2), /LEAKY\.apply: no tf\.Tensor among its 2 arguments/);
    const bad = defineFunction<[tf.Tensor, number]>({
      name: "GRAD_FOR_NUMBER",
      forward: (_ctx, t, k) => tf.mul(t, k),
      backward: (_ctx, dy) => [dy, tf.sum(dy)],
    });
    assert.throws(() => tf.grad((t: tf.Tensor) => tf.sum(bad.apply(t, 2)))(x), (e: Error) => {
      assert.ok(e instanceof BackwardContractError);
      assert.match(e.message, /GRAD_FOR_NUMBER\.backward: input 1 is not a tensor, so its gradient must be null/);
      return true;
    });
    x.dispose();
  });

  it("ctx.needsInputGrad: under backward() the data input of the first layer needs none", () => {
    const needs: boolean[][] = [];
    const Recording = defineFunction<[tf.Tensor2D, tf.Tensor2D, tf.Tensor1D]>({
      ...LinearF.definition,
      kernel: undefined,
      name: "RECORDING_LINEAR",
      backward(ctx, dy) {
        needs.push([...ctx.needsInputGrad]);
        const [x, w] = ctx.saved as [tf.Tensor2D, tf.Tensor2D];
        return [ctx.needsInputGrad[0] ? tf.matMul(dy, w) : null, tf.matMul(dy, x, true, false), tf.sum(dy, 0)];
      },
    });
    const first = new Linear(2, 3);
    const second = new Linear(3, 1);
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    const loss = backward(() => {
      const h = Recording.apply(x, first.weight.value as tf.Tensor2D, first.bias!.value as tf.Tensor1D);
      return tf.sum(Recording.apply(h as tf.Tensor2D, second.weight.value as tf.Tensor2D, second.bias!.value as tf.Tensor1D));
    }, [...first.parameters(), ...second.parameters()]);
    // Backward runs the second layer first: its input h comes from the first layer's parameters.
    assert.deepEqual(needs, [[true, true, true], [false, true, true]]);
    // Outside gradlab's backward() nothing is known, so every float input needs its gradient.
    needs.length = 0;
    tf.grads((a: tf.Tensor) => tf.sum(Recording.apply(a as tf.Tensor2D, first.weight.value as tf.Tensor2D, first.bias!.value as tf.Tensor1D)))([x]);
    assert.deepEqual(needs, [[true, true, true]]);
    tf.dispose([loss, x]);
    first.zeroGrad();
    second.zeroGrad();
  });

  it("keeps no tensors after calls with several outputs and attributes", () => {
    const x = tf.tensor1d([0.1, 0.2]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) {
      tf.dispose(tf.grad((t: tf.Tensor) => tf.sum(SinCos.apply(t)[0]))(x));
      tf.dispose(tf.grad((t: tf.Tensor) => tf.sum(Leaky.apply(t, 0.2)))(x));
    }
    tf.tidy(() => {
      SinCos.apply(x);
      Leaky.apply(x, 0.3);
    });
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });
});
