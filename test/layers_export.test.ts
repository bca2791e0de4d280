/**
 * The layer library's modules through exportOnnx, end to end: a LeNet-size CNN (Conv2d with
 * padding, stride, dilation and groups, both pools, Flatten, LayerNorm, GELU, LeakyReLU, Dropout,
 * LogSoftmax) exported in each custom-op mode with a dynamic batch, checked by ONNX Runtime
 * against gradlab's own forward at two batch sizes, and imported back by gradlab.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { AvgPool2d, MaxPool2d } from "../lib/nn/pooling";
import { Conv2d } from "../lib/nn/conv";
import { Dropout } from "../lib/nn/dropout";
import { Flatten } from "../lib/nn/flatten";
import { GELU, LeakyReLU, LogSoftmax, ReLU } from "../lib/nn/activation";
import { LayerNorm } from "../lib/nn/normalization";
import { Linear } from "../lib/nn/linear";
import { Module } from "../lib/nn/module";
import { exportOnnx } from "../lib/onnx/export";
import { importOnnx } from "../lib/onnx/import";
import type { CustomOpsMode } from "../lib/onnx/export_options";
import { Generator } from "../lib/random";
import { assertClose } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";

type Ort = typeof import("onnxruntime-node");
const ort: Ort | null = await import("onnxruntime-node").then((m) => ((m as { default?: Ort }).default ?? m) as Ort).catch(() => null);
const SKIP = ort === null ? "onnxruntime-node cannot be loaded here" : false;

class SmallCnn extends Module {
  conv1: Conv2d;
  act1 = new ReLU();
  pool1 = new MaxPool2d(2);
  conv2: Conv2d;
  act2 = new LeakyReLU(0.1);
  conv3: Conv2d;
  pool2 = new AvgPool2d(3, { stride: 2, padding: 1 });
  flat = new Flatten();
  fc1: Linear;
  norm: LayerNorm;
  act3 = new GELU();
  drop = new Dropout(0.5);
  fc2: Linear;
  out = new LogSoftmax(1);
  constructor(g: Generator) {
    super();
    this.conv1 = new Conv2d(1, 4, 3, { padding: 1, generator: g });
    this.conv2 = new Conv2d(4, 8, 3, { stride: 2, dilation: 2, padding: 2, groups: 2, generator: g });
    this.conv3 = new Conv2d(8, 8, 1, { generator: g });
    this.fc1 = new Linear(8, 16, { generator: g });
    this.norm = new LayerNorm([16]);
    this.fc2 = new Linear(16, 10, { generator: g });
  }
  forward(x: tf.Tensor): tf.Tensor {
    let h: tf.Tensor = this.pool1.forward(this.act1.forward(this.conv1.forward(x)));
    h = this.pool2.forward(this.conv3.forward(this.act2.forward(this.conv2.forward(h))));
    h = this.act3.forward(this.norm.forward(this.fc1.forward(this.flat.forward(h))));
    return this.out.forward(this.fc2.forward(this.drop.forward(h)));
  }
}

describeEachBackend("layer modules through exportOnnx", () => {
  for (const mode of ["function", "standard"] as CustomOpsMode[]) {
    it(`a small CNN of gradlab's layers, customOps "${mode}": ONNX Runtime agrees at batch 2 and 5`, { skip: SKIP }, async () => {
      const g = new Generator(11);
      const model = new SmallCnn(g);
      model.eval();
      const example = tf.tensor(g.uniformArray(2 * 8 * 8, -1, 1), [2, 1, 8, 8]);
      const bytes = await exportOnnx(model, undefined, { customOps: mode, example, inputNames: ["x"], outputNames: ["y"], dynamicAxes: { x: { 0: "batch" }, y: { 0: "batch" } } });
      assert.equal(model.training, false, "export leaves the model in the mode it was in");
      const session = await ort!.InferenceSession.create(bytes);
      const reimported = importOnnx(bytes);
      for (const batch of [2, 5]) {
        const x = batch === 2 ? example : tf.tensor(g.uniformArray(batch * 64, -1, 1), [batch, 1, 8, 8]);
        const ours = tf.tidy(() => model.forward(x).dataSync());
        const out = await session.run({ x: new ort!.Tensor("float32", x.dataSync() as Float32Array, x.shape) });
        assert.deepEqual([...out.y!.dims], [batch, 10]);
        assertClose(out.y!.data as Float32Array, ours, { rtol: 1e-5, atol: 1e-5 }, `${mode}, batch ${batch}`);
        // And gradlab reads its own file back (custom nodes run through their function bodies).
        const back = tf.tidy(() => reimported.forward(x).dataSync());
        assertClose(back, ours, { rtol: 1e-5, atol: 1e-5 }, `${mode}, batch ${batch}, imported back`);
        if (x !== example) x.dispose();
      }
      reimported.dispose();
      await session.release();
      example.dispose();
      model.dispose();
    });
  }
});
