/** defineFunction: the op contract (forward, backward, saved tensors) and its error messages. */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { BackwardContractError, defineFunction, FunctionCallError } from "../lib/function";
import { LinearF } from "../lib/ops/linear";
import { linearWith } from "../lib/ops/linear_mistakes";
import { Generator } from "../lib/random";
import { assertClose } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";
import { FLOAT32_OP_RTOL } from "./support/tolerances";

type Lin = [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];

function inputs(g: Generator, batch: number, inF: number, outF: number): Lin {
  return [
    tf.tensor2d(g.uniformArray(batch * inF, -1, 1), [batch, inF]),
    tf.tensor2d(g.uniformArray(outF * inF, -1, 1), [outF, inF]),
    tf.tensor1d(g.uniformArray(outF, -1, 1)),
  ];
}

const gradsOf = (f: (...xs: Lin) => tf.Tensor, xs: Lin) => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(f(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor1D))))(xs);

describeEachBackend("defineFunction", () => {
  it("LinearF's hand-written gradients equal tfjs autodiff of the same expression", () => {
    const g = new Generator(7);
    for (const [batch, inF, outF] of [[1, 2, 1], [37, 5, 3], [8, 16, 4]] as const) {
      const xs = inputs(g, batch, inF, outF);
      const ours = gradsOf((...a) => LinearF.apply(...a), xs);
      const autodiff = gradsOf((x, w, b) => tf.add(tf.matMul(x, w, false, true), b), xs);
      ours.forEach((t, i) => assertClose(t.dataSync(), autodiff[i]!.dataSync(), { rtol: FLOAT32_OP_RTOL, atol: 1e-6 }, `gradient ${i} for ${batch}×${inF}→${outF}`));
      tf.dispose([...xs, ...ours, ...autodiff]);
    }
  });

  it("rejects a backward that returns the wrong number of gradients, naming the op", () => {
    const op = linearWith("TWO_GRADS", (dy, x, w) => [tf.matMul(dy, w), tf.matMul(dy, x, true)]);
    const xs = inputs(new Generator(1), 4, 3, 2);
    assert.throws(() => gradsOf((...a) => op.apply(...a), xs), (e: Error) => {
      assert.ok(e instanceof BackwardContractError);
      assert.match(e.message, /TWO_GRADS\.backward returned 2 gradients for 3 inputs/);
      return true;
    });
  });

  it("sums a gradient of a broadcast shape to its input's shape, as PyTorch's engine does", () => {
    const op = linearWith("UNSUMMED_BIAS", (dy, x, w) => [tf.matMul(dy, w), tf.matMul(dy, x, true), dy]);
    const xs = inputs(new Generator(2), 4, 3, 2);
    const ours = gradsOf((...a) => op.apply(...a), xs);
    const reference = gradsOf((...a) => LinearF.apply(...a), xs);
    assert.deepEqual(ours[2]!.shape, [2]);
    assertClose(ours[2]!.dataSync(), reference[2]!.dataSync(), { rtol: FLOAT32_OP_RTOL, atol: 1e-6 }, "bias gradient");
    tf.dispose([...xs, ...ours, ...reference]);
  });

  it("rejects a gradient whose shape does not broadcast to its input's, naming the input and both shapes", () => {
    const op = linearWith("WRONG_AXIS_BIAS", (dy, x, w) => [tf.matMul(dy, w), tf.matMul(dy, x, true), tf.sum(dy, 1)]);
    const xs = inputs(new Generator(2), 4, 3, 2);
    assert.throws(() => gradsOf((...a) => op.apply(...a), xs), (e: Error) => {
      assert.ok(e instanceof BackwardContractError);
      assert.equal(e.inputIndex, 2);
      assert.match(e.message, /WRONG_AXIS_BIAS\.backward: gradient for input 2 \(bias\) has shape \[4\], but the input has shape \[2\], and it does not broadcast to it/);
      return true;
    });
  });

  it("rejects a non-tensor gradient and treats null as zero", () => {
    const bad = linearWith("NUMBER_GRAD", (dy, x, w) => [tf.matMul(dy, w), tf.matMul(dy, x, true), 3 as unknown as tf.Tensor]);
    const xs = inputs(new Generator(3), 2, 3, 2);
    assert.throws(() => gradsOf((...a) => bad.apply(...a), xs), /NUMBER_GRAD\.backward: gradient for input 2 \(bias\) is a number \(3\), expected a tf\.Tensor of shape \[2\]/);
    const noBias = linearWith("NULL_GRAD", (dy, x, w) => [tf.matMul(dy, w), tf.matMul(dy, x, true), null]);
    const grads = gradsOf((...a) => noBias.apply(...a), xs);
    assert.deepEqual(Array.from(grads[2]!.dataSync()), [0, 0]);
  });

  it("wraps an exception inside backward with the op's name and the shapes involved", () => {
    const op = linearWith("BAD_MATMUL", (dy, x, w) => [tf.matMul(dy, w, false, true), tf.matMul(dy, x, true), tf.sum(dy, 0)]);
    const xs = inputs(new Generator(4), 4, 3, 2);
    assert.throws(() => gradsOf((...a) => op.apply(...a), xs), (e: Error) => {
      assert.ok(e instanceof FunctionCallError);
      assert.match(e.message, /^BAD_MATMUL\.backward failed \(dy \[4, 2\]; input 0 \(x\) \[4, 3\], input 1 \(weight\) \[2, 3\], input 2 \(bias\) \[2\]\): /);
      return true;
    });
  });

  it("checks apply's arguments and forward's result", () => {
    assert.throws(() => (LinearF.apply as (...a: unknown[]) => tf.Tensor)(tf.ones([1, 2]), [[1, 2]], tf.ones([1])), /MYLINEAR\.apply: input 1 \(weight\) is an array of length 1, expected a tf\.Tensor/);
    const noReturn = defineFunction<[tf.Tensor]>({ name: "NO_RETURN", forward: () => undefined as unknown as tf.Tensor, backward: (_ctx, dy) => [dy] });
    assert.throws(() => noReturn.apply(tf.ones([2])), /NO_RETURN\.forward must return a tf\.Tensor or a non-empty array of tf\.Tensors, got undefined/);
    assert.throws(() => defineFunction({ name: "", forward: (_c, x: tf.Tensor) => x, backward: (_c, dy) => dy }), /name/);
  });

  it("gives backward the saved tensors and ctx attributes; ctx.saved is refused in forward", () => {
    const Scale = defineFunction<[tf.Tensor]>({
      name: "SCALE",
      forward(ctx, x) {
        assert.throws(() => ctx.saved, /SCALE: ctx\.saved is available in backward only/);
        ctx.attributes.set("factor", 3);
        ctx.saveForBackward(x);
        return tf.mul(x, 3);
      },
      backward(ctx, dy) {
        assert.equal(ctx.saved.length, 1);
        return tf.mul(dy, ctx.attributes.get("factor") as number);
      },
    });
    const grad = tf.grad((x: tf.Tensor) => tf.sum(Scale.apply(x)))(tf.tensor1d([1, 2]));
    assert.deepEqual(Array.from(grad.dataSync()), [3, 3]);
  });

  it("keeps no tensors after forward and backward", () => {
    const xs = inputs(new Generator(5), 3, 2, 2);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) tf.dispose(gradsOf((...a) => LinearF.apply(...a), xs));
    tf.tidy(() => {
      LinearF.apply(...xs);
    });
    assert.equal(tf.memory().numTensors, before);
    tf.dispose(xs);
  });
});
