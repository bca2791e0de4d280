/**
 * An imported model is a Module that exports again (issue 12): PyTorch 1.13's own exports
 * (test/fixtures/torch_onnx: MLPs with each activation, a CNN with BatchNorm and pooling, a
 * transformer encoder layer) are imported, exported by gradlab's kernel-level trace with a dynamic
 * batch, and run in ONNX Runtime at two batch sizes against PyTorch's recorded outputs.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { exportOnnx } from "../lib/onnx/export";
import { importOnnx } from "../lib/onnx/import";
import { assertClose } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";

type Ort = typeof import("onnxruntime-node");
const ort: Ort | null = await import("onnxruntime-node").then((m) => ((m as { default?: Ort }).default ?? m) as Ort).catch(() => null);
const SKIP = ort === null ? "onnxruntime-node cannot be loaded here" : false;

const DIR = join(import.meta.dirname, "fixtures", "torch_onnx");
interface Case { x: number[]; shape: number[]; y: number[]; y_shape: number[] }
const reference = JSON.parse(readFileSync(join(DIR, "reference.json"), "utf8")) as { models: Record<string, { cases: Case[] }> };

/** float32 through two runtimes and two exporters: PyTorch's numbers, summed in other orders. */
const TOL = { rtol: 1e-5, atol: 1e-5 };

describeEachBackend("exportOnnx of imported PyTorch models", () => {
  for (const name of ["mlp_relu", "mlp_gelu", "mlp_leakyrelu", "mlp_logsoftmax", "mlp_flatten", "cnn", "transformer"]) {
    const model = reference.models[name];
    if (!model) continue;
    it(`${name} (opset 17): import → export → ONNX Runtime gives PyTorch's outputs at two batch sizes`, { skip: SKIP }, async () => {
      const imported = importOnnx(join(DIR, `${name}_opset17.onnx`));
      const first = model.cases[0]!;
      const example = tf.tensor(first.x, first.shape);
      const rank = first.shape.length;
      const bytes = await exportOnnx(imported, undefined, {
        example,
        inputNames: ["x"],
        outputNames: ["y"],
        dynamicAxes: { x: { 0: "batch" }, y: { 0: "batch" } },
      });
      example.dispose();
      const session = await ort!.InferenceSession.create(bytes);
      assert.deepEqual(session.inputNames, ["x"]);
      for (const c of model.cases) {
        assert.equal(c.shape.length, rank);
        const out = await session.run({ x: new ort!.Tensor("float32", Float32Array.from(c.x), c.shape) });
        const y = out.y!;
        assert.deepEqual([...y.dims], c.y_shape, `${name}: output shape at batch ${c.shape[0]}`);
        assertClose(y.data as Float32Array, c.y, TOL, `${name} y in ONNX Runtime at [${c.shape}]`);
      }
      imported.dispose();
    });
  }
});
