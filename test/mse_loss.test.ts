/** MSELoss against torch.nn.MSELoss (test/fixtures/mse_reference.json): values, both gradients, warnings. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { mseLoss, MSELoss, type Reduction } from "../lib/nn/mse_loss";
import { assertClose, flatten, type Nested } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";
import { captureWarnings } from "./support/capture_warnings";
import { FLOAT32_OP_RTOL } from "./support/tolerances";

interface Case {
  reduction: Reduction;
  inputShape: number[];
  targetShape: number[];
  input: Nested;
  target: Nested;
  output: Nested | null;
  outputShape: number[] | null;
  gradInput: Nested | null;
  gradTarget: Nested | null;
  upstream: Nested | null;
  warning: string | null;
  error: string | null;
}
const { cases } = JSON.parse(readFileSync(new URL("./fixtures/mse_reference.json", import.meta.url), "utf8")) as { cases: Case[] };
const TOL = { rtol: FLOAT32_OP_RTOL, atol: 1e-6 };

describeEachBackend("MSELoss", () => {
  for (const c of cases) {
    it(`matches torch for input [${c.inputShape}] vs target [${c.targetShape}], reduction ${c.reduction}`, async () => {
      const input = tf.tensor(flatten(c.input), c.inputShape);
      const target = tf.tensor(flatten(c.target), c.targetShape);
      const { warnings } = await captureWarnings(() => {
        if (c.error !== null) {
          assert.throws(() => mseLoss(input, target, c.reduction), (e: Error) => e.message.includes(c.error!));
          return;
        }
        const out = mseLoss(input, target, c.reduction);
        assert.deepEqual(out.shape, c.outputShape);
        assertClose(out.dataSync(), flatten(c.output!), TOL, "loss");
        const upstream = c.upstream === null ? null : tf.tensor(flatten(c.upstream), c.outputShape!);
        const [gInput, gTarget] = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
          const loss = mseLoss(a, b, c.reduction);
          return upstream === null ? loss : tf.sum(tf.mul(loss, upstream));
        })([input, target]);
        assert.deepEqual(gInput!.shape, c.inputShape);
        assert.deepEqual(gTarget!.shape, c.targetShape);
        assertClose(gInput!.dataSync(), flatten(c.gradInput!), TOL, "gradient of input");
        assertClose(gTarget!.dataSync(), flatten(c.gradTarget!), TOL, "gradient of target");
        tf.dispose([out, gInput!, gTarget!, ...(upstream ? [upstream] : [])]);
      });
      // PyTorch's own words, and only where PyTorch warns.
      assert.deepEqual(warnings, c.warning === null ? [] : [c.warning]);
      tf.dispose([input, target]);
    });
  }

  it("warns once for the seed's call, not on every step", async () => {
    const loss = new MSELoss();
    const { warnings } = await captureWarnings(() => {
      for (let i = 0; i < 5; i++) tf.tidy(() => loss.forward(tf.ones([1, 1]), tf.ones([1])));
    });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /Using a target size \(torch\.Size\(\[1\]\)\) that is different to the input size \(torch\.Size\(\[1, 1\]\)\)/);
  });

  it("rejects an unknown reduction", () => {
    assert.throws(() => new MSELoss("avg" as Reduction), /MSELoss: reduction must be one of "mean", "sum", "none", got "avg"/);
    assert.throws(() => mseLoss(tf.ones([1]), tf.ones([1]), "max" as Reduction), /reduction must be one of/);
  });
});
