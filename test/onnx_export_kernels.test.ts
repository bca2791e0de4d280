/**
 * Export traces the whole forward: models of plain tfjs ops (with gradlab's Linear among them)
 * covering every kernel family the exporter writes are exported with a dynamic batch and run in
 * ONNX Runtime (onnxruntime-node, CPU, default optimisation level) at batch sizes other than the
 * example's; ORT's output must equal gradlab's own forward. At opsets 17, 13 and 11 (where
 * ReduceSum and Unsqueeze change form) and in float64. Kernels without a writer fail naming the
 * kernel and the module that called it.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { Linear } from "../lib/nn/linear";
import { Module } from "../lib/nn/module";
import { OnnxExportError } from "../lib/onnx/errors";
import { exportOnnx } from "../lib/onnx/export";
import { onnx } from "../lib/onnx/proto";
import { traceForward } from "../lib/onnx/trace";
import { Generator } from "../lib/random";
import { normwise } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";
import { kernelModelInput, kernelModels, type KernelModel } from "./support/onnx_kernel_models";

type Ort = typeof import("onnxruntime-node");
const ort: Ort | null = await import("onnxruntime-node").then((m) => ((m as { default?: Ort }).default ?? m) as Ort).catch(() => null);
const SKIP = ort === null ? "onnxruntime-node cannot be loaded here (npm install it to run these tests)" : false;

/**
 * ORT against gradlab, norm-wise (largest |difference| over largest |gradlab|): both compute in
 * float32 (or ORT in float64 from float32 weights) with different kernels, exp and erf among them.
 */
const ORT_NORMWISE_RTOL = 1e-5;
const EXAMPLE_BATCH = 2;

async function runOrt(bytes: Uint8Array, x: tf.Tensor, dtype: "float32" | "float64"): Promise<Float64Array> {
  const session = await ort!.InferenceSession.create(bytes);
  try {
    const values = await x.data();
    const data = x.dtype === "int32" ? Int32Array.from(values) : dtype === "float64" ? Float64Array.from(values) : Float32Array.from(values);
    const out = await session.run({ x: new ort!.Tensor(x.dtype === "int32" ? "int32" : dtype, data, x.shape) });
    return Float64Array.from(out.y!.data as Float32Array | Float64Array);
  } finally {
    await session.release();
  }
}


const CONFIGS = [
  { opset: 17, dtype: "float32" },
  { opset: 13, dtype: "float32" },
  { opset: 11, dtype: "float32" },
  { opset: 17, dtype: "float64" },
] as const;

describeEachBackend("exportOnnx traces plain tfjs ops; ONNX Runtime agrees with gradlab", (backend) => {
  for (const [name, entry] of kernelModels()) {
    const unsupported = entry.unsupported?.[backend] ?? false;
    it(`${name}: its forward runs the kernels it is meant to (${entry.kernels.join(", ")})`, { skip: unsupported }, () => {
      const model = entry.make();
      const example = kernelModelInput(entry, EXAMPLE_BATCH, 1);
      const trace = traceForward(model, [example]);
      trace.release();
      const seen = new Set(trace.steps.map((s) => (s.kind === "kernel" ? s.kernel : s.fn.name)));
      assert.deepEqual(entry.kernels.filter((k) => !seen.has(k)), [], `kernels traced: ${[...seen].join(", ")}`);
      example.dispose();
      model.dispose();
    });

    for (const { opset, dtype } of CONFIGS) {
      it(`${name}, opset ${opset}, ${dtype}: ORT equals gradlab within ${ORT_NORMWISE_RTOL} at batch 1 and 3 (exported at ${EXAMPLE_BATCH})`, { skip: unsupported || SKIP || (entry.ortLacks?.[dtype] ?? false) }, async (t) => {
        const model = entry.make();
        const example = kernelModelInput(entry, EXAMPLE_BATCH, 1);
        const bytes = await exportOnnx(model, undefined, { example, opset, dtype, dynamicAxes: { x: { 0: "batch" }, y: { 0: "batch" } } });
        example.dispose();
        const m = onnx.ModelProto.decode(bytes);
        assert.equal(m.graph!.input![0]!.type!.tensorType!.shape!.dim![0]!.dimParam, "batch");
        for (const batch of [1, 3]) {
          const x = kernelModelInput(entry, batch, 100 + batch);
          const y = model.forward(x);
          const ours = await y.data();
          const theirs = await runOrt(bytes, x, dtype);
          assert.equal(theirs.length, ours.length, `batch ${batch}: ORT gave ${theirs.length} values, gradlab ${ours.length}`);
          const difference = normwise(theirs, ours);
          t.diagnostic(`[${backend}] ${name} opset ${opset} ${dtype} batch ${batch}: ${m.graph!.node!.length} nodes, norm-wise difference ${difference.toExponential(2)}`);
          assert.ok(difference <= ORT_NORMWISE_RTOL, `batch ${batch}: norm-wise difference ${difference} > ${ORT_NORMWISE_RTOL}`);
          tf.dispose([x, y]);
        }
        model.dispose();
      });
    }
  }

  it("attention block with batch and sequence length both dynamic: reshapes read the length from the input; ORT agrees at other lengths", { skip: SKIP }, async (t) => {
    const [, entry] = kernelModels().find(([name]) => name === "attention block")!;
    const model = entry.make();
    const example = kernelModelInput(entry, EXAMPLE_BATCH, 1);
    const bytes = await exportOnnx(model, undefined, { example, dynamicAxes: { x: { 0: "batch", 1: "length" }, y: { 0: "batch" } } });
    example.dispose();
    const nodes = onnx.ModelProto.decode(bytes).graph!.node!;
    assert.ok(nodes.some((n) => n.opType === "Shape"), "a size that mixes no input axis alone is read with Shape → Gather");
    for (const [batch, length] of [[1, 5], [3, 2], [2, 9]] as const) {
      const x = tf.tidy(() => tf.sub(tf.mul(tf.randomUniform([batch, length, 8], 0, 1, "float32", batch * 10 + length), 2), 1));
      const difference = normwise(await runOrt(bytes, x, "float32"), await model.forward(x).data());
      t.diagnostic(`[${backend}] batch ${batch}, length ${length}: norm-wise difference ${difference.toExponential(2)}`);
      assert.ok(difference <= ORT_NORMWISE_RTOL, `batch ${batch}, length ${length}: norm-wise difference ${difference}`);
      x.dispose();
    }
  });

  it("puts the engine and the modules' forwards back when the forward throws, and says so when the engine has been replaced", async () => {
    class Throws extends Module {
      readonly inner = new Failing();
      forward(x: tf.Tensor): tf.Tensor {
        return this.inner.forward(tf.relu(x));
      }
    }
    class Failing extends Module {
      forward(_x: tf.Tensor): tf.Tensor {
        throw new Error("boom in forward");
      }
    }
    const model = new Throws();
    const example = tf.ones([2, 3]);
    const engine = tf.engine() as unknown as Record<string, unknown>;
    const before = tf.memory().numTensors;
    await assert.rejects(exportOnnx(model, undefined, { example }), /boom in forward/);
    assert.equal(Object.prototype.hasOwnProperty.call(engine, "runKernelFunc"), false, "the engine's own method is back");
    assert.equal(Object.prototype.hasOwnProperty.call(model.inner, "forward"), false, "the module's forward is back");
    assert.equal(tf.memory().numTensors, before, "the trace's tensors are freed");
    engine.runKernelFunc = () => {
      throw new Error("not tfjs's");
    };
    try {
      await assert.rejects(exportOnnx(model, undefined, { example }), /has no Engine\.runKernelFunc method \(or another tool has replaced it\)/);
    } finally {
      delete engine.runKernelFunc;
    }
    example.dispose();
  });

  it("leaves no tensors behind (constants made in forward are freed after the export)", async () => {
    const [, entry] = kernelModels().find(([name]) => name === "attention block")!;
    const model = entry.make();
    const example = kernelModelInput(entry, EXAMPLE_BATCH, 1);
    await exportOnnx(model, undefined, { example, dynamicAxes: { x: [0] } });
    const before = tf.memory().numTensors;
    await exportOnnx(model, undefined, { example, dynamicAxes: { x: [0] } });
    assert.equal(tf.memory().numTensors, before);
    example.dispose();
    model.dispose();
  });

  it("einsum exports as ONNX Einsum from opset 12, where ORT agrees at other batch sizes, and at opset 11 says which opset it needs", { skip: SKIP || (backend === "wasm" ? "tfjs-wasm has no Einsum kernel" : false) }, async () => {
    class Contractions extends Module {
      readonly w = tf.tensor2d(Array.from(new Generator(14).uniformArray(12, -1, 1)), [4, 3]);
      forward(x: tf.Tensor): tf.Tensor {
        return tf.concat([tf.einsum("bi,ij->bj", x, this.w), tf.reshape(tf.einsum("bi,bi->b", x, x), [-1, 1])], 1);
      }
    }
    const model = new Contractions();
    const example = tf.ones([2, 4]);
    await assert.rejects(exportOnnx(model, undefined, { example, opset: 11 }), /tfjs kernel Einsum, called in .*: ONNX has Einsum from opset 12; export at opset 12 or later \(this export is at 11\)/);
    for (const opset of [12, 17]) {
      const bytes = await exportOnnx(model, undefined, { example, opset, dynamicAxes: { x: { 0: "batch" }, y: { 0: "batch" } } });
      for (const batch of [1, 3]) {
        const x = tf.tensor2d(Array.from(new Generator(batch).uniformArray(batch * 4, -1, 1)), [batch, 4]);
        const ours = await model.forward(x).data();
        const theirs = await runOrt(bytes, x, "float32");
        assert.ok(normwise(theirs, ours) <= ORT_NORMWISE_RTOL, `opset ${opset}, batch ${batch}: ORT ${Array.from(theirs)} vs gradlab ${Array.from(ours)}`);
        x.dispose();
      }
    }
    tf.dispose([example, model.w]);
  });

  it("mirrorPad in symmetric mode, which ONNX's Pad lacks, fails naming the mode and the one that exports", async () => {
    class Symmetric extends Module {
      forward(x: tf.Tensor): tf.Tensor {
        return tf.mirrorPad(x, [[0, 0], [1, 1]], "symmetric");
      }
    }
    const example = tf.ones([2, 3]);
    await assert.rejects(exportOnnx(new Symmetric(), undefined, { example }), /tfjs kernel MirrorPad, called in .*: its mode "symmetric" has no ONNX Pad mode .*; use mode "reflect"/);
    example.dispose();
  });

  it("a kernel without a writer fails with the kernel's name and the module path that called it", async () => {
    class Cumulative extends Module {
      forward(x: tf.Tensor): tf.Tensor {
        return tf.cumprod(x, 1);
      }
    }
    class Net extends Module {
      readonly layers = [new ReluLayer(), new Cumulative()];
      forward(x: tf.Tensor): tf.Tensor {
        return this.layers.reduce((h, layer) => layer.forward(h), x);
      }
    }
    class ReluLayer extends Module {
      forward(x: tf.Tensor): tf.Tensor {
        return tf.relu(x);
      }
    }
    const model = new Net();
    const example = tf.ones([2, 3]);
    await assert.rejects(exportOnnx(model, undefined, { example }), (e: Error) => {
      assert.ok(e instanceof OnnxExportError);
      assert.match(e.message, /tfjs kernel Cumprod, called in module "layers\.1" \(Cumulative\), has no ONNX writer/);
      return true;
    });
    // The forwards are put back after the trace: the model runs as before.
    assert.equal(Object.prototype.hasOwnProperty.call(model.layers[1], "forward"), false);
    example.dispose();
  });

  it("what the forward computes and throws away is not written, so a kernel without a writer there does not stop the export", async () => {
    class Checks extends Module {
      forward(x: tf.Tensor): tf.Tensor {
        tf.cumsum(x, 1); // e.g. a value computed for a log line
        tf.sum(tf.isNaN(x));
        return tf.relu(x);
      }
    }
    const example = tf.ones([2, 3]);
    const g = onnx.ModelProto.decode(await exportOnnx(new Checks(), undefined, { example })).graph!;
    assert.deepEqual([g.node!.map((n) => n.opType), g.initializer!.length], [["Relu"], 0]);
    example.dispose();
  });

  it("a forward that accepts only the example's batch (an imported file that fixes it) still exports with a dynamic batch when no kernel carries a size", { skip: SKIP }, async () => {
    class BatchOfTwoOnly extends Module {
      readonly fc = new Linear(4, 3, { generator: new Generator(31) });
      constructor(readonly flatten: boolean) {
        super();
      }
      forward(x: tf.Tensor): tf.Tensor {
        if (x.shape[0] !== 2) throw new Error(`batch ${x.shape[0]}, but this model takes 2`);
        const h = tf.sigmoid(this.fc.forward(x));
        return this.flatten ? tf.reshape(h, [-1]) : h;
      }
    }
    const example = tf.tensor2d([[0.1, -0.2, 0.3, 0.4], [1, 2, -3, 0.5]]);
    const model = new BatchOfTwoOnly(false);
    const bytes = await exportOnnx(model, undefined, { example, dynamicAxes: { x: [0], y: [0] } });
    // ORT runs it at batch 4: two batches of two, each checked against gradlab's forward.
    const x = tf.concat([example, tf.reverse(example, 0)]);
    const theirs = await runOrt(bytes, x, "float32");
    const ours = [...(await model.forward(example).data()), ...(await model.forward(tf.reverse(example, 0)).data())];
    assert.ok(normwise(theirs, ours) <= ORT_NORMWISE_RTOL, `norm-wise difference ${normwise(theirs, ours)}`);
    await assert.rejects(
      exportOnnx(new BatchOfTwoOnly(true), undefined, { example, dynamicAxes: { x: [0] } }),
      /tfjs kernel Reshape, called in the model's own forward \(BatchOfTwoOnly\): its shape may follow the dynamic axes, but gradlab cannot tell: the forward refused inputs with those axes one larger \(\[3, 4\]: batch 3, but this model takes 2\)/,
    );
    tf.dispose([example, x]);
  });

  it("a tensor made in forward whose shape follows the dynamic batch is refused, since ONNX would fix it", async () => {
    class Padded extends Module {
      forward(x: tf.Tensor): tf.Tensor {
        return tf.concat([x, tf.zeros([x.shape[0]!, 1])], 1);
      }
    }
    const example = tf.ones([2, 3]);
    await assert.rejects(exportOnnx(new Padded(), undefined, { example, dynamicAxes: { x: [0] } }), /reads a tensor made in forward whose shape follows the dynamic axes \(\[2, 1\], then \[3, 1\]\)/);
    // Without dynamic axes the same forward exports, at the example's batch.
    const bytes = await exportOnnx(new Padded(), undefined, { example });
    assert.deepEqual(onnx.ModelProto.decode(bytes).graph!.node!.map((n) => n.opType), ["Concat"]);
    example.dispose();
  });
});
