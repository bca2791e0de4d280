/** backward(): what it accumulates, and what it says when the loss cannot be differentiated. */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { backward } from "../lib/autograd/backward";
import { Parameter } from "../lib/nn/parameter";
import { describeEachBackend } from "./support/backends";

describeEachBackend("backward", () => {
  it("accumulates into parameter.grad over calls, as loss.backward() does", () => {
    const p = new Parameter(tf.tensor1d([1, 2]));
    backward(() => tf.sum(tf.mul(p.value, 3)), [p]).dispose();
    backward(() => tf.sum(tf.mul(p.value, 3)), [p]).dispose();
    assert.deepEqual(Array.from(p.grad!.dataSync()), [6, 6]);
    p.dispose();
  });

  it("names the mistake: a non-scalar loss, a loss unrelated to the parameters, no parameters", () => {
    const p = new Parameter(tf.tensor1d([1, 2]));
    assert.throws(() => backward(() => tf.mul(p.value, 2), [p]), /backward: the loss must be a scalar, got shape \[2\]; reduce it first/);
    assert.throws(() => backward(() => tf.sum(tf.ones([2])), [p]), /backward: the loss does not depend on any of the parameters given/);
    assert.throws(() => backward(() => tf.scalar(1), []), /backward: no parameters given/);
    assert.equal(p.grad, null);
    p.dispose();
  });
});
