/**
 * Torch weights in (issue 11, item 5): test/fixtures/torch_weights.json holds torch state_dict()s
 * written as README shows ({name: tensor.tolist()}); loaded into the same architecture built from
 * gradlab's containers, the model gives torch's outputs and gradients (float64 references).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { backward } from "../lib/autograd/backward";
import { Linear } from "../lib/nn/linear";
import { Module } from "../lib/nn/module";
import { ModuleDict } from "../lib/nn/module_dict";
import { ModuleList } from "../lib/nn/module_list";
import { Sequential } from "../lib/nn/sequential";
import { assertClose, type Nested } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";
import { TfReLU, TfTanh } from "./support/tf_activations";

interface Case { state_dict: Record<string, Nested>; shapes: Record<string, number[]>; x: number[][]; y: number[][]; grads: Record<string, Nested> }
const fixture = JSON.parse(readFileSync(new URL("./fixtures/torch_weights.json", import.meta.url), "utf8")) as { cases: Record<string, Case> };

/** float32 forward and backward through a few layers of O(1) values, against float64. */
const TOL = { atol: 1e-5, rtol: 1e-5 };

/** torch: nn.Sequential(Linear(4, 8), ReLU(), Linear(8, 8, bias=False), Tanh(), Linear(8, 3)). */
const sequential = () => new Sequential(new Linear(4, 8), new TfReLU(), new Linear(8, 8, { bias: false }), new TfTanh(), new Linear(8, 3));

/** torch's Net in make_torch_weights.py: ModuleList, ModuleDict, a Sequential inside. */
class Net extends Module {
  readonly blocks = new ModuleList([new Linear(5, 6), new Linear(6, 6, { bias: false })]);
  readonly heads = new ModuleDict({ mean: new Linear(6, 2), scale: new Sequential(new Linear(6, 3), new TfTanh(), new Linear(3, 2, { bias: false })) });

  forward(x: tf.Tensor): tf.Tensor {
    let h = x;
    for (const block of this.blocks) h = tf.relu(block.forward(h));
    return tf.mul(this.heads.get("mean").forward(h), tf.sigmoid(this.heads.get("scale").forward(h)));
  }
}

const BUILDERS: Record<string, () => Module> = { sequential, nested: () => new Net() };

describeEachBackend("torch weights in", () => {
  for (const [name, build] of Object.entries(BUILDERS)) {
    const c = fixture.cases[name]!;

    it(`${name}: the same keys and shapes as torch's state_dict()`, () => {
      const model = build();
      const shapes = Object.fromEntries(model.namedParameters().map(([k, p]) => [k, p.shape]));
      assert.deepEqual(shapes, c.shapes);
      assert.deepEqual(Object.keys(shapes), Object.keys(c.shapes), "key order differs from torch's");
      model.dispose();
    });

    it(`${name}: loaded from torch's JSON, gives torch's outputs and gradients`, () => {
      const model = build();
      model.loadStateDict(JSON.parse(JSON.stringify(c.state_dict)));
      const x = tf.tensor2d(c.x);
      const y = tf.tidy(() => model.forward(x).arraySync() as number[][]);
      assertClose(y, c.y, TOL, `${name} output`);
      backward(() => tf.sum(tf.square(model.forward(x))), model.parameters()).dispose();
      for (const [key, p] of model.namedParameters()) assertClose(p.grad!.arraySync() as Nested, c.grads[key]!, TOL, `d(sum y²)/d ${key}`);
      // And back out: what gradlab writes is torch's state dict, value for value (float32 exact).
      assert.deepEqual(model.stateDict(), c.state_dict);
      model.zeroGrad();
      x.dispose();
      model.dispose();
    });
  }
});
