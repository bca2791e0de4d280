/**
 * Correct function bodies, always (issue 12, item 2): calls of one custom op with different
 * constants each get a body with their own, in "function" mode, one function per distinct body
 * (equal bodies shared); attributes on the custom node are allowed and declared by the function.
 * ONNX Runtime's output is compared with gradlab's for every call, and the ONNX checker reads
 * the files.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import type { Module } from "../lib/nn/module";
import { exportOnnx } from "../lib/onnx/export";
import { onnx } from "../lib/onnx/proto";
import { describeEachBackend } from "./support/backends";
import { AttributeCalls, BakedSlopes, Float64Trouble } from "./support/onnx_function_models";
import { ONNX_CHECKER_MISSING, onnxCheckerError, randomRows } from "./support/onnx_models";

type Ort = typeof import("onnxruntime-node");
const ort: Ort | null = await import("onnxruntime-node").then((m) => ((m as { default?: Ort }).default ?? m) as Ort).catch(() => null);
const SKIP = ort === null ? "onnxruntime-node cannot be loaded here (npm install it to run these tests)" : false;
/** The seed's bar for ORT against gradlab (onnx_runtime.test.ts). */
const ORT_RTOL = 1e-6;
const BATCH = { x: { 0: "batch" }, y: { 0: "batch" } };

async function ortRows(bytes: Uint8Array, rows: number[][], dtype: "float32" | "float64" = "float32"): Promise<number[][]> {
  // At ORT's default optimisation level (all), as a user's session runs it.
  const session = await ort!.InferenceSession.create(bytes);
  try {
    const data = dtype === "float64" ? Float64Array.from(rows.flat()) : Float32Array.from(rows.flat());
    const out = await session.run({ x: new ort!.Tensor(dtype, data, [rows.length, rows[0]!.length]) });
    const y = out.y!;
    const [n, width] = y.dims as [number, number];
    return Array.from({ length: n }, (_, r) => Array.from((y.data as Float32Array | Float64Array).subarray(r * width, (r + 1) * width)));
  } finally {
    await session.release();
  }
}

/**
 * Compares ORT and gradlab call by call: each call's `width` columns of the concatenated output,
 * norm-wise (largest difference over the call's largest value: entries near zero after a Linear
 * differ by float32 round-off of the Linear's sum, not of the call). The wrong body the issue
 * found differs by 0.28.
 */
async function compareEveryCall(model: Module & { width: number }, bytes: Uint8Array, calls: string[], t: { diagnostic(s: string): void }, dtype: "float32" | "float64" = "float32"): Promise<void> {
  for (const batch of [1, 5]) {
    const rows = randomRows(batch, 3, 40 + batch).map((r) => r.map((v) => 4 * v - 2));
    const ours = tf.tidy(() => model.forward(tf.tensor2d(rows)).arraySync() as number[][]);
    const theirs = await ortRows(bytes, rows, dtype);
    calls.forEach((call, c) => {
      let diff = 0;
      let scale = 0;
      for (let r = 0; r < batch; r++) {
        for (let j = c * model.width; j < (c + 1) * model.width; j++) {
          diff = Math.max(diff, Math.abs(theirs[r]![j]! - ours[r]![j]!));
          scale = Math.max(scale, Math.abs(ours[r]![j]!));
        }
      }
      t.diagnostic(`batch ${batch}, call ${c + 1} ${call}: norm-wise relative difference ORT vs gradlab ${(diff / scale).toExponential(2)}`);
      assert.ok(diff <= ORT_RTOL * scale, `call ${c + 1} (${call}), batch ${batch}: ORT differs from gradlab by ${diff / scale} (norm-wise relative)`);
    });
  }
}

const functionsOf = (bytes: Uint8Array) => onnx.ModelProto.decode(bytes).functions!;
const nodesOf = (bytes: Uint8Array) => onnx.ModelProto.decode(bytes).graph!.node!.filter((n) => n.domain === "gradlab");

describeEachBackend("custom ops called with different constants get correct function bodies", () => {
  it("one op name, slopes 0.01, 0.9, 0.01 baked into lower: two functions (LEAKY, LEAKY_2), the third call shares the first's; ORT equals gradlab for every call", { skip: SKIP }, async (t) => {
    const model = new BakedSlopes();
    const bytes = await exportOnnx(model, undefined, { dynamicAxes: BATCH, example: tf.zeros([2, 3]) });
    assert.deepEqual(nodesOf(bytes).map((n) => n.opType), ["MYLINEAR", "LEAKY", "LEAKY_2", "LEAKY"]);
    const leaky = functionsOf(bytes).filter((f) => f.name!.startsWith("LEAKY"));
    assert.deepEqual(leaky.map((f) => [f.name, f.node![0]!.opType, f.node![0]!.attribute![0]!.f]), [["LEAKY", "LeakyRelu", Math.fround(0.01)], ["LEAKY_2", "LeakyRelu", Math.fround(0.9)]]);
    await compareEveryCall(model, bytes, ["LEAKY 0.01", "LEAKY 0.9", "LEAKY 0.01"], t);
    model.dispose();
  });

  it("attributes from apply()'s arguments: the custom node carries them, each function declares them, and every call computes with its own", { skip: SKIP }, async (t) => {
    const model = new AttributeCalls();
    const bytes = await exportOnnx(model, undefined, { dynamicAxes: BATCH, example: tf.zeros([2, 3]) });
    const custom = nodesOf(bytes);
    assert.deepEqual(custom.map((n) => [n.opType, n.attribute!.map((a) => [a.name, Number((a.f ?? NaN).toFixed(6))])]), [
      ["MYLINEAR", []],
      ["SPLITSIGN", []],
      ["LEAKYBY", [["slope", 0.01]]],
      ["LEAKYBY_2", [["slope", 0.9]]],
      ["LEAKYBY", [["slope", 0.01]]],
      ["BLEND", [["p", 0.25]]],
      ["BLEND_2", [["p", 0.75]]],
    ]);
    assert.equal(custom[1]!.output!.length, 2, "SPLITSIGN's node has both outputs");
    const byName = new Map(functionsOf(bytes).map((f) => [f.name!, f]));
    assert.deepEqual([...byName.keys()].sort(), ["BLEND", "BLEND_2", "LEAKYBY", "LEAKYBY_2", "MYLINEAR", "SPLITSIGN"]);
    assert.deepEqual(byName.get("LEAKYBY_2")!.attribute, ["slope"]);
    assert.deepEqual(byName.get("SPLITSIGN")!.output!.length, 2);
    // Columns in forward's concat order: LEAKYBY ×3, BLEND ×2, then SPLITSIGN's two outputs.
    await compareEveryCall(model, bytes, ["LEAKYBY 0.01", "LEAKYBY 0.9", "LEAKYBY 0.01", "BLEND 0.25", "BLEND 0.75", "SPLITSIGN positive", "SPLITSIGN negative"], t);
    model.dispose();
  });

  for (const customOps of ["function", "standard"] as const) {
    it(`float64, customOps "${customOps}": custom ops of x·sigmoid(x) and erf run in ORT at its default optimisation level, and equal gradlab`, { skip: SKIP }, async (t) => {
      // Unadapted, ORT fuses x·sigmoid(x) into com.microsoft.QuickGelu (no float64 kernel) and has no float64 Erf.
      const model = new Float64Trouble();
      const bytes = await exportOnnx(model, undefined, { customOps, dtype: "float64", dynamicAxes: BATCH, example: tf.zeros([2, 3]) });
      await compareEveryCall(model, bytes, ["SILU", "ERFGELU", "BLEND 0.25 (float constants in lower)"], t, "float64");
      model.dispose();
    });

    it(`the ONNX checker (full_check) passes these models in "${customOps}" mode`, { skip: ONNX_CHECKER_MISSING ?? false }, async () => {
      for (const model of [new BakedSlopes(), new AttributeCalls()]) {
        assert.equal(onnxCheckerError(await exportOnnx(model, undefined, { customOps, dynamicAxes: BATCH, example: tf.zeros([2, 3]) })), null, model.constructor.name);
        model.dispose();
      }
      const float64 = new Float64Trouble();
      assert.equal(onnxCheckerError(await exportOnnx(float64, undefined, { customOps, dtype: "float64", dynamicAxes: BATCH, example: tf.zeros([2, 3]) })), null, "Float64Trouble in float64");
      float64.dispose();
    });
  }
});
