/**
 * flatten against torch.flatten's output shapes (test/fixtures/conv_pool_reference.json), its
 * values and gradient (a reshape each way), gradcheck, its ONNX lower in ONNX Runtime (Flatten,
 * or Reshape from the input's Shape), bad dimensions, and memory.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { gradcheck } from "../lib/gradcheck/gradcheck";
import { formatGradcheckReport } from "../lib/gradcheck/report";
import { flatten, FlattenF } from "../lib/ops/flatten";
import { Generator } from "../lib/random";
import { describeEachBackend } from "./support/backends";
import { REFERENCE } from "./support/conv_pool_reference";
import { ORT_SKIP, runLowered } from "./support/onnx_lower";

const random = (g: Generator, shape: number[], scale = 1) => tf.tensor(g.uniformArray(shape.reduce((a, b) => a * b, 1), -scale, scale), shape);

/** Every torch case, plus a 0-d input and negative dims at both ends. */
const GRADCHECK: [number[], number, number][] = [
  ...REFERENCE.flatten.map((c) => [c.inputShape, c.startDim, c.endDim] as [number[], number, number]),
  [[], 0, -1],
  [[2, 3, 2], -2, -1],
  [[3, 1, 2, 2], -4, -3],
];

describeEachBackend("flatten", () => {
  for (const c of REFERENCE.flatten) {
    it(`gives torch's shape ${JSON.stringify(c.outputShape)} for ${JSON.stringify(c.inputShape)}, start_dim ${c.startDim}, end_dim ${c.endDim}; values and gradient in row-major order`, () => {
      const g = new Generator(1);
      const x = random(g, c.inputShape);
      const y = flatten(x, c.startDim, c.endDim);
      assert.deepEqual(y.shape, c.outputShape);
      assert.deepEqual(Array.from(y.dataSync()), Array.from(x.dataSync()));
      const dy = random(g, c.outputShape);
      const [dx] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(flatten(a, c.startDim, c.endDim), dy)))([x]);
      assert.deepEqual(dx!.shape, c.inputShape);
      assert.deepEqual(Array.from(dx!.dataSync()), Array.from(dy.dataSync()));
      tf.dispose([x, y, dy, dx!]);
    });
  }

  it(`passes gradcheck on ${GRADCHECK.length} shapes and dimension ranges, at scales 0.01, 1 and 100`, () => {
    const g = new Generator(2);
    for (const [shape, start, end] of GRADCHECK) {
      for (const scale of [0.01, 1, 100]) {
        const x = random(g, shape, scale);
        const report = gradcheck((t: tf.Tensor) => FlattenF.apply(t, start, end), [x], { name: `flatten ${JSON.stringify(shape)} (${start}, ${end}) ×${scale}` });
        assert.ok(report.passed, formatGradcheckReport(report));
        x.dispose();
      }
    }
  });

  it("ONNX: lower (Flatten or Shape→Slice→Concat→Reshape) in ONNX Runtime gives gradlab's output", { skip: ORT_SKIP }, async () => {
    const g = new Generator(3);
    for (const [shape, start, end] of GRADCHECK) {
      const x = random(g, shape);
      const ours = FlattenF.apply(x, start, end);
      const ort = await runLowered(FlattenF as never, [x, start, end], ours.shape);
      assert.deepEqual(ort.shape, ours.shape, `${JSON.stringify(shape)} (${start}, ${end})`);
      assert.deepEqual(Array.from(ort.values), Array.from(ours.dataSync()));
      tf.dispose([x, ours]);
    }
  });

  it("rejects dimensions out of range or in the wrong order, naming flatten, the argument, what was given and what was expected", () => {
    const x = tf.zeros([2, 3, 4, 5]);
    const cases: [() => unknown, RegExp][] = [
      [() => flatten(x, 4), /^flatten: start_dim must be an integer in \[-4, 3\] for a 4-D input \[2, 3, 4, 5\], got 4$/],
      [() => flatten(x, 0, -5), /^flatten: end_dim must be an integer in \[-4, 3\] for a 4-D input \[2, 3, 4, 5\], got -5$/],
      [() => flatten(x, 1.5), /^flatten: start_dim must be an integer in \[-4, 3\] for a 4-D input \[2, 3, 4, 5\], got 1.5$/],
      [() => flatten(x, 3, 1), /^flatten: start_dim 3 comes after end_dim 1 for a 4-D input; expected start_dim ≤ end_dim$/],
      [() => flatten(x, -1, -2), /^flatten: start_dim -1 comes after end_dim -2 for a 4-D input; expected start_dim ≤ end_dim$/],
      [() => flatten(tf.scalar(1), 1), /^flatten: start_dim must be an integer in \[-1, 0\] for a 0-D input \[\], got 1$/],
    ];
    const before = tf.memory().numTensors;
    for (const [call, message] of cases) assert.throws(() => tf.tidy(() => void call()), { message });
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });

  it("keeps the tensor count flat across 50 forward+backward calls", () => {
    const x = random(new Generator(4), [4, 3, 2, 2]);
    const step = () => tf.tidy(() => tf.grads((a: tf.Tensor) => tf.sum(tf.square(flatten(a, 1))))([x]));
    tf.dispose(step());
    const before = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) tf.dispose(step());
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });
});
