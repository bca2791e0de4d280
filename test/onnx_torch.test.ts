/**
 * PyTorch 1.13's ONNX exports of ordinary models (test/fixtures/make_torch_models.py: MLPs with
 * each activation, Flatten, a CNN with BatchNorm and pooling, nn.TransformerEncoderLayer with
 * batch_first; once more with the sequence length dynamic too), at opsets 11, 13 and 17 with a
 * dynamic batch, three of them in float64 too: gradlab imports each and matches
 * PyTorch's outputs at two batch sizes within 1e-5 relative (float32), the gradient of sum(y · w)
 * with respect to the input, and for the MLPs with respect to every parameter, by its name.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { backward } from "../lib/autograd/backward";
import { importOnnx } from "../lib/onnx/import";
import { assertClose } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";

const DIR = join(import.meta.dirname, "fixtures", "torch_onnx");

interface Case { x: number[]; shape: number[]; y: number[]; y_shape: number[]; x_grad: number[]; grads?: Record<string, number[]> }
const reference = JSON.parse(readFileSync(join(DIR, "reference.json"), "utf8")) as {
  torch: string;
  opsets: number[];
  models: Record<string, { input_shape: (string | number)[]; cases: Case[] }>;
};

/** float32 against float32: PyTorch and tfjs sum in different orders. */
const TOL = { rtol: 1e-5, atol: 1e-6 };

describeEachBackend("importOnnx: PyTorch's exports", () => {
  for (const [name, model] of Object.entries(reference.models)) {
    for (const opset of reference.opsets) {
      it(`${name}, opset ${opset}: PyTorch's outputs and input gradients at ${model.cases.map((c) => `[${c.shape.join(", ")}]`).join(" and ")}${model.cases[0]!.grads ? ", and its parameter gradients" : ""}`, () => {
        const imported = importOnnx(join(DIR, `${name}_opset${opset}.onnx`));
        assert.deepEqual(imported.inputs[0]!.shape, model.input_shape, "the batch (and sequence) axes stay dynamic");
        for (const c of model.cases) {
          const x = tf.tensor(c.x, c.shape);
          const { y } = imported.run({ x });
          assert.deepEqual(y!.shape, c.y_shape);
          assertClose(y!.dataSync(), c.y, TOL, `${name} y at [${c.shape}]`);
          tf.dispose(y);
          const w = tf.linspace(-1, 1, c.y.length).reshape(c.y_shape);
          const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(imported.forward(input), w)))(x);
          assertClose(dx.dataSync(), c.x_grad, TOL, `${name} d/dx at batch ${c.shape[0]}`);
          dx.dispose();
          if (c.grads) {
            imported.zeroGrad();
            backward(() => tf.sum(tf.mul(imported.forward(x), w)), imported.parameters()).dispose();
            const grads = Object.fromEntries(imported.namedParameters().map(([n, p]) => [n, p.grad]));
            for (const [param, expected] of Object.entries(c.grads)) {
              assert.ok(grads[param], `parameter ${param} is in the imported model (it has ${Object.keys(grads).join(", ")})`);
              assertClose(grads[param]!.dataSync(), expected, TOL, `${name} d/d${param} at batch ${c.shape[0]}`);
            }
            imported.zeroGrad();
          }
          tf.dispose([w, x]);
        }
        imported.dispose();
      });
    }
  }
});
