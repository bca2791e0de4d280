/**
 * exportOnnx, read back with onnx-proto: what each customOps mode writes, the model's metadata,
 * types and shapes, initializers, option checks (dynamicAxes names among them), the errors for
 * forwards it cannot trace and ops it cannot write, and the atomic write.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
// The CommonJS object behind node:fs (the namespace's bindings are read-only): patched, then
// syncBuiltinESMExports() carries the patch to every module's named imports.
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it, mock } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../lib/function";
import { Module } from "../lib/nn/module";
import { Parameter } from "../lib/nn/parameter";
import { OnnxExportError } from "../lib/onnx/errors";
import { exportOnnx } from "../lib/onnx/export";
import { importOnnx } from "../lib/onnx/import";
import type { SymbolicGraph, SymbolicValue } from "../lib/onnx/symbolic";
import { onnx, type OnnxTypes } from "../lib/onnx/proto";
import { describeEachBackend } from "./support/backends";
import { DOUBLE, FLOAT, seedModel, TwoLayer } from "./support/onnx_models";

const BATCH = { x: { 0: "batch" }, y: { 0: "batch" } };
const TMP = mkdtempSync(join(tmpdir(), "gradlab-onnx-export-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

const decode = (bytes: Uint8Array) => onnx.ModelProto.decode(bytes);
const dims = (v: OnnxTypes.IValueInfoProto) => v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
const opsets = (m: OnnxTypes.IModelProto) => Object.fromEntries(m.opsetImport!.map((o) => [o.domain, Number(o.version)]));
const rejectsExport = (fn: () => Promise<unknown>, pattern: RegExp) =>
  assert.rejects(fn, (e: Error) => {
    assert.ok(e instanceof OnnxExportError, `expected OnnxExportError, got ${e.name}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });

describeEachBackend("exportOnnx", () => {
  it('"function" (default): a gradlab.MYLINEAR node, and its definition as a model-local function of one Gemm', async () => {
    const model = seedModel();
    const m = decode(await exportOnnx(model, undefined, { dynamicAxes: BATCH }));
    assert.equal(Number(m.irVersion), 8);
    assert.deepEqual(opsets(m), { "": 17, gradlab: 1 });
    assert.equal(m.producerName, "gradlab");
    const [n] = m.graph!.node!;
    assert.equal(m.graph!.node!.length, 1);
    assert.deepEqual([n!.domain, n!.opType, n!.input, n!.output], ["gradlab", "MYLINEAR", ["x", "weight", "bias"], ["y"]]);
    assert.equal(m.functions!.length, 1);
    const f = m.functions![0]!;
    assert.deepEqual([f.domain, f.name, f.input], ["gradlab", "MYLINEAR", ["x", "weight", "bias"]]);
    assert.deepEqual(f.opsetImport!.map((o) => [o.domain, Number(o.version)]), [["", 17]]);
    assert.deepEqual(f.node!.map((b) => [b.domain, b.opType, b.input, b.output]), [["", "Gemm", ["x", "weight", "bias"], f.output]]);
    assert.deepEqual(f.node![0]!.attribute!.map((a) => [a.name, a.type, Number(a.i)]), [["transB", onnx.AttributeProto.AttributeType.INT, 1]]);
    model.dispose();
  });

  it('"standard": one Gemm with transB = 1, no custom domain, no functions', async () => {
    const model = seedModel();
    const m = decode(await exportOnnx(model, undefined, { customOps: "standard" }));
    assert.deepEqual(opsets(m), { "": 17 });
    assert.deepEqual(m.graph!.node!.map((n) => [n.domain, n.opType, n.input, n.output]), [["", "Gemm", ["x", "weight", "bias"], ["y"]]]);
    assert.equal(m.functions!.length, 0);
    model.dispose();
  });

  it('"opaque": the bare custom node without a definition, as PyTorch writes it (but in gradlab\'s domain)', async () => {
    const model = seedModel();
    const m = decode(await exportOnnx(model, undefined, { customOps: "opaque" }));
    assert.deepEqual(m.graph!.node!.map((n) => [n.domain, n.opType]), [["gradlab", "MYLINEAR"]]);
    assert.equal(m.functions!.length, 0);
    assert.deepEqual(opsets(m), { "": 17, gradlab: 1 });
    model.dispose();
  });

  it("inputs and outputs carry element type and full shape; dynamic axes by name; weights are initializers, not inputs", async () => {
    const model = seedModel();
    const m = decode(await exportOnnx(model, undefined, { dynamicAxes: BATCH }));
    const g = m.graph!;
    assert.deepEqual(g.input!.map((v) => [v.name, v.type!.tensorType!.elemType, dims(v)]), [["x", FLOAT, ["batch", 2]]]);
    assert.deepEqual(g.output!.map((v) => [v.name, v.type!.tensorType!.elemType, dims(v)]), [["y", FLOAT, ["batch", 1]]]);
    assert.deepEqual(g.initializer!.map((t) => [t.name, t.dataType, t.dims!.map(Number)]), [["weight", FLOAT, [1, 2]], ["bias", FLOAT, [1]]]);
    const raw = g.initializer![0]!.rawData!;
    const weight = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    assert.deepEqual([...weight], [...model.weight.value.dataSync()]);
    model.dispose();
  });

  it("without dynamicAxes every size is the example's, as torch.onnx.export does", async () => {
    const model = seedModel();
    const g = decode(await exportOnnx(model)).graph!;
    assert.deepEqual(dims(g.input![0]!), [1, 2]);
    assert.deepEqual(dims(g.output![0]!), [1, 1]);
    model.dispose();
  });

  it("dynamicAxes as a list of axes names them as torch.onnx does (<name>_dynamic_axes_<k>)", async () => {
    const model = seedModel();
    const g = decode(await exportOnnx(model, undefined, { dynamicAxes: { x: [0], y: [0] } })).graph!;
    assert.deepEqual(dims(g.input![0]!), ["x_dynamic_axes_1", 2]);
    assert.deepEqual(dims(g.output![0]!), ["y_dynamic_axes_1", 1]);
    model.dispose();
  });

  it("float64 on request: inputs, outputs and weights are DOUBLE, the weights widened exactly", async () => {
    const model = seedModel();
    const g = decode(await exportOnnx(model, undefined, { dtype: "float64" })).graph!;
    assert.equal(g.input![0]!.type!.tensorType!.elemType, DOUBLE);
    assert.equal(g.output![0]!.type!.tensorType!.elemType, DOUBLE);
    const w = g.initializer![0]!;
    assert.equal(w.dataType, DOUBLE);
    const raw = w.rawData!;
    const values = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    assert.deepEqual([...values], [...model.weight.value.dataSync()]);
    model.dispose();
  });

  it("names, opset and an example of the caller's choosing; a model with two layers gives two nodes and dotted initializer names", async () => {
    const model = new TwoLayer();
    const example = tf.zeros([5, 3]);
    const m = decode(await exportOnnx(model, undefined, { example, inputNames: ["features"], outputNames: ["scores"], opset: 11, dynamicAxes: { features: { 0: "n" }, scores: { 0: "n" } } }));
    assert.deepEqual(opsets(m), { "": 11, gradlab: 1 });
    const g = m.graph!;
    assert.deepEqual(g.node!.map((n) => [n.opType, n.input, n.output!.length]), [
      ["MYLINEAR", ["features", "first.weight", "first.bias"], 1],
      ["MYLINEAR", [g.node![0]!.output![0], "second.weight", "second.bias"], 1],
    ]);
    assert.deepEqual(g.node![1]!.output, ["scores"]);
    assert.deepEqual(g.initializer!.map((t) => t.name), ["first.weight", "first.bias", "second.weight", "second.bias"]);
    assert.deepEqual(dims(g.input![0]!), ["n", 3]);
    assert.equal(m.functions!.length, 1, "one function per custom op, however often it is called");
    example.dispose();
    model.dispose();
  });

  it("rejects dynamicAxes names that match no input or output, as in the seed's own call", async () => {
    const model = seedModel();
    // The seed: input_names=["x"], output_names=["y"], dynamic_axes={"image": …, "output": …}.
    await rejectsExport(() => exportOnnx(model, undefined, { dynamicAxes: { image: { 0: "batch" }, output: { 0: "batch" } } }), /dynamicAxes names "image", "output", which match no input or output; the inputs and outputs are "x", "y"/);
    await rejectsExport(() => exportOnnx(model, undefined, { dynamicAxes: { x: { 2: "batch" } } }), /dynamicAxes\["x"\]: axis 2 does not exist; "x" has rank 2/);
    await rejectsExport(() => exportOnnx(model, undefined, { dynamicAxes: { x: { 0: "" } } }), /must be a non-empty dimension name/);
    model.dispose();
  });

  it("rejects bad options before writing anything, naming the option", async () => {
    const model = seedModel();
    await rejectsExport(() => exportOnnx(model, undefined, { opset: 9 }), /opset must be an integer from 11 to 17, got 9/);
    await rejectsExport(() => exportOnnx(model, undefined, { customOps: "bare" as never }), /customOps must be one of "function", "standard", "opaque"/);
    await rejectsExport(() => exportOnnx(model, undefined, { dtype: "float16" as never }), /dtype must be "float32" or "float64"/);
    await rejectsExport(() => exportOnnx(model, undefined, { inputNames: ["x", "z"] }), /inputNames must list 1 name/);
    await rejectsExport(() => exportOnnx(model, undefined, { inputNames: ["y"] }), /the name "y" is used twice/);
    await rejectsExport(() => exportOnnx(model, undefined, { inputNames: ["weight"] }), /"weight" is also a parameter's name/);
    model.dispose();
  });

  it("a forward mixing defineFunction ops with plain tfjs ops exports all of them; constants made in forward become initializers", async () => {
    class ReluAfter extends Module {
      readonly inner = seedModel();
      readonly inFeatures = 2;
      forward(x: tf.Tensor): tf.Tensor {
        return tf.relu(this.inner.forward(x));
      }
    }
    class ScaleBefore extends Module {
      readonly inner = seedModel();
      readonly inFeatures = 2;
      forward(x: tf.Tensor): tf.Tensor {
        return this.inner.forward(tf.mul(x, 2));
      }
    }
    class NoOps extends Module {
      readonly w = new Parameter(tf.ones([2, 2]));
      readonly inFeatures = 2;
      forward(x: tf.Tensor): tf.Tensor {
        return tf.matMul(x, this.w.value);
      }
    }
    class RawVariable extends Module {
      // Not a Parameter, so no parameter name: exported at its current value, as a constant.
      readonly scale = tf.variable(tf.tensor1d([2, 3]), false);
      readonly inFeatures = 2;
      forward(x: tf.Tensor): tf.Tensor {
        return tf.mul(x, this.scale);
      }
    }
    class Unchanged extends Module {
      readonly inFeatures = 2;
      forward(x: tf.Tensor): tf.Tensor {
        return x;
      }
    }
    class MadeInForward extends Module {
      readonly inFeatures = 2;
      forward(): tf.Tensor {
        return tf.tensor2d([[1, 2]]);
      }
    }
    const cases: [Module, string[][], string[]][] = [
      [new ReluAfter(), [["gradlab", "MYLINEAR", "x", "inner.weight", "inner.bias"], ["", "Relu", "MYLINEAR_output"]], ["inner.weight", "inner.bias"]],
      [new ScaleBefore(), [["", "Mul", "x", "constant_0"], ["gradlab", "MYLINEAR", "Mul_output", "inner.weight", "inner.bias"]], ["inner.weight", "inner.bias", "constant_0"]],
      [new NoOps(), [["", "MatMul", "x", "w"]], ["w"]],
      [new RawVariable(), [["", "Mul", "x", "constant_0"]], ["constant_0"]],
      [new Unchanged(), [["", "Identity", "x"]], []],
      [new MadeInForward(), [["", "Identity", "constant_0"]], ["constant_0"]],
    ];
    for (const [model, nodes, initializers] of cases) {
      const g = decode(await exportOnnx(model)).graph!;
      assert.deepEqual(g.node!.map((n) => [n.domain, n.opType, ...n.input!]), nodes, model.constructor.name);
      assert.deepEqual(g.node!.at(-1)!.output, ["y"]);
      assert.deepEqual(g.initializer!.map((t) => t.name), initializers);
      model.dispose();
    }
  });

  it('traces in eval mode by default, as torch.onnx.export does ("train" and "preserve" on request), and puts every module\'s flag back', async () => {
    class HalvesInTraining extends Module {
      forward(x: tf.Tensor): tf.Tensor {
        return this.training ? tf.mul(x, 0.5) : tf.relu(x);
      }
    }
    class Net extends Module {
      readonly inner = new HalvesInTraining();
      readonly inFeatures = 2;
      forward(x: tf.Tensor): tf.Tensor {
        return this.inner.forward(x);
      }
    }
    const model = new Net();
    model.inner.training = false; // a sub-module in its own mode must keep it
    const opTypes = async (training?: "eval" | "train" | "preserve") => decode(await exportOnnx(model, undefined, { training })).graph!.node!.map((n) => n.opType);
    assert.deepEqual(await opTypes(), ["Relu"]);
    assert.deepEqual(await opTypes("train"), ["Mul"]);
    assert.deepEqual(await opTypes("preserve"), ["Relu"]);
    assert.deepEqual([model.training, model.inner.training], [true, false]);
    await rejectsExport(() => exportOnnx(model, undefined, { training: "inference" as never }), /training must be one of "eval", "train", "preserve", got "inference"/);
  });

  it("an op without `lower` exports only as opaque; the error says what to add", async () => {
    const Plain = defineFunction<[tf.Tensor2D, tf.Tensor2D, tf.Tensor1D]>({
      name: "PLAINLINEAR",
      forward: (_ctx, x, w, b) => tf.add(tf.matMul(x, w, false, true), b),
      backward: () => [null, null, null],
    });
    class UsesPlain extends Module {
      readonly weight = new Parameter(tf.ones([1, 2]));
      readonly bias = new Parameter(tf.zeros([1]));
      readonly inFeatures = 2;
      forward(x: tf.Tensor): tf.Tensor {
        return Plain.apply(x as tf.Tensor2D, this.weight.value as tf.Tensor2D, this.bias.value as tf.Tensor1D);
      }
    }
    const model = new UsesPlain();
    await rejectsExport(() => exportOnnx(model), /PLAINLINEAR has no `lower`.*add lower\(g, \.\.\.inputs\) to its definition, or export with customOps "opaque"/);
    await rejectsExport(() => exportOnnx(model, undefined, { customOps: "standard" }), /PLAINLINEAR has no `lower`/);
    const m = decode(await exportOnnx(model, undefined, { customOps: "opaque" }));
    assert.deepEqual(m.graph!.node!.map((n) => [n.domain, n.opType]), [["gradlab", "PLAINLINEAR"]], "no symbolic: the op's own name as a custom node");
    model.dispose();
  });

  it("attributes need torch.onnx's type suffix (_i, _f, _s), since a JavaScript number says neither", async () => {
    const make = (attrs: Record<string, number>) =>
      defineFunction<[tf.Tensor2D, tf.Tensor2D, tf.Tensor1D]>({
        name: "ATTRLINEAR",
        forward: (_ctx, x, w, b) => tf.add(tf.matMul(x, w, false, true), b),
        backward: () => [null, null, null],
        lower: (g, x, w, b) => g.op("Gemm", x!, w!, b!, attrs),
      });
    class M extends Module {
      readonly weight = new Parameter(tf.ones([1, 2]));
      readonly bias = new Parameter(tf.zeros([1]));
      readonly inFeatures = 2;
      constructor(readonly op: ReturnType<typeof make>) {
        super();
      }
      forward(x: tf.Tensor): tf.Tensor {
        return this.op.apply(x as tf.Tensor2D, this.weight.value as tf.Tensor2D, this.bias.value as tf.Tensor1D);
      }
    }
    const bare = new M(make({ transB: 1 }));
    await rejectsExport(() => exportOnnx(bare, undefined, { customOps: "standard" }), /attribute "transB" needs a type suffix, as in torch\.onnx: "transB_i"/);
    const typed = new M(make({ transB_i: 1, alpha_f: 1 }));
    const [gemm] = decode(await exportOnnx(typed, undefined, { customOps: "standard" })).graph!.node!;
    assert.deepEqual(gemm!.attribute!.map((a) => [a.name, a.type]), [["transB", onnx.AttributeProto.AttributeType.INT], ["alpha", onnx.AttributeProto.AttributeType.FLOAT]]);
    const fractional = new M(make({ transB_i: 0.5 }));
    await rejectsExport(() => exportOnnx(fractional, undefined, { customOps: "standard" }), /attribute "transB_i" must hold integers, got 0\.5/);
    [bare, typed, fractional].forEach((m) => m.dispose());
  });

  it("a forward of two inputs: examples and names one per argument, each a graph input; round trip through import", async () => {
    const Add2 = defineFunction<[tf.Tensor, tf.Tensor]>({
      name: "ADD2",
      inputNames: ["a", "b"],
      forward: (_ctx, a, b) => tf.add(a, b),
      backward: (_ctx, dy) => [dy, dy],
      lower: (g, a, b) => g.op("Add", a!, b!),
    });
    class Sum extends Module {
      forward(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
        return Add2.apply(a, b);
      }
    }
    const model = new Sum();
    const example = [tf.zeros([2, 3]), tf.ones([2, 3])];
    await rejectsExport(() => exportOnnx(model, undefined, { example }), /forward takes 2 inputs; name them with inputNames/);
    await rejectsExport(() => exportOnnx(model, undefined, { example: [example[0]!, example[0]!], inputNames: ["a", "b"] }), /the same tensor twice/);
    const bytes = await exportOnnx(model, undefined, { example, inputNames: ["a", "b"], outputNames: ["s"] });
    const g = decode(bytes).graph!;
    assert.deepEqual(g.input!.map((v) => v.name), ["a", "b"]);
    assert.deepEqual(g.initializer, []);
    const imported = importOnnx(bytes);
    const [a, b] = [tf.tensor2d([[1, 2, 3], [4, 5, 6]]), tf.tensor2d([[10, 20, 30], [40, 50, 60]])];
    assert.deepEqual(Array.from(imported.forward(a, b).dataSync()), [11, 22, 33, 44, 55, 66]);
    tf.dispose([...example, a, b]);
  });

  it("a symbolic must add a node and return its output; its own errors are reported with the op's name", async () => {
    const withSymbolic = (symbolic: (g: SymbolicGraph, x: SymbolicValue) => SymbolicValue) =>
      defineFunction<[tf.Tensor]>({ name: "ODD", forward: (_ctx, x) => tf.neg(x), backward: (_ctx, dy) => tf.neg(dy), symbolic, lower: (g, x) => g.op("Neg", x!) });
    class M extends Module {
      readonly inFeatures = 2;
      constructor(readonly op: ReturnType<typeof withSymbolic>) {
        super();
      }
      forward(x: tf.Tensor): tf.Tensor {
        return this.op.apply(x);
      }
    }
    const cases: [ReturnType<typeof withSymbolic>, RegExp][] = [
      [withSymbolic((_g, x) => x), /ODD\.symbolic returned one of its inputs/],
      [withSymbolic(() => ({ name: "nowhere" })), /ODD\.symbolic must return a value from g\.op/],
      [withSymbolic(() => { throw new Error("boom"); }), /ODD\.symbolic failed: boom/],
      [withSymbolic((g, x) => g.op("gradlab::OTHER", x)), /adds a gradlab\.OTHER node; customOps "function" can define only the op's own node, ODD/],
    ];
    for (const [op, pattern] of cases) await rejectsExport(() => exportOnnx(new M(op)), pattern);
    // A symbolic in standard ops alone: nothing custom, so no function either.
    const m = decode(await exportOnnx(new M(withSymbolic((g, x) => g.op("Neg", x)))));
    assert.deepEqual([m.graph!.node!.map((n) => n.opType), m.functions!.length, opsets(m)], [["Neg"], 0, { "": 17 }]);
  });

  it("leaves no tensors behind", async () => {
    const model = seedModel();
    await exportOnnx(model);
    const before = tf.memory().numTensors;
    for (const customOps of ["function", "standard", "opaque"] as const) await exportOnnx(model, undefined, { customOps });
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });
});

describe("exportOnnx writes its file atomically", () => {
  it("writes the same bytes it returns", async () => {
    const model = seedModel();
    const path = join(TMP, "seed.onnx");
    const bytes = await exportOnnx(model, path, { dynamicAxes: BATCH });
    assert.deepEqual(new Uint8Array(readFileSync(path)), bytes);
    model.dispose();
  });

  it("an export that fails leaves an existing file as it was", async () => {
    const model = seedModel();
    const path = join(TMP, "kept.onnx");
    writeFileSync(path, "the previous model");
    await rejectsExport(() => exportOnnx(model, path, { dynamicAxes: { image: [0] } }), /matches no input or output/);
    assert.equal(readFileSync(path, "utf8"), "the previous model");
    model.dispose();
  });

  it("a write that fails half-way leaves no partial file and the old one unchanged", async () => {
    const model = seedModel();
    const dir = join(TMP, "disk-full");
    mkdirSync(dir);
    const path = join(dir, "model.onnx");
    writeFileSync(path, "the previous model");
    // The first write gets half its bytes onto disk, then the disk is "full" (writeFileAtomic
    // writes through fs.writeSync on the temporary file's descriptor).
    const real = fs.writeSync;
    let calls = 0;
    mock.method(fs, "writeSync", (fd: number, data: Uint8Array, offset = 0, length = data.length - offset) => {
      if (calls++ === 0) return real(fd, data, offset, length >> 1);
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    });
    syncBuiltinESMExports();
    try {
      await assert.rejects(() => exportOnnx(model, path), /ENOSPC/);
    } finally {
      mock.restoreAll();
      syncBuiltinESMExports();
    }
    assert.equal(readFileSync(path, "utf8"), "the previous model");
    assert.deepEqual(readdirSync(dir), ["model.onnx"], "the temporary file is removed");
    model.dispose();
  });

  it("a path that cannot be written (a missing folder) fails with nothing created", async () => {
    const model = seedModel();
    const path = join(TMP, "no-such-folder", "model.onnx");
    await assert.rejects(() => exportOnnx(model, path), /ENOENT/);
    assert.equal(existsSync(join(TMP, "no-such-folder")), false);
    model.dispose();
  });
});
