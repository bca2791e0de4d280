/**
 * importOnnx: gradlab's own exports in every mode (round trip: same outputs, same parameters),
 * PyTorch's export of the seed (gives PyTorch's output), Gemm and MatMul + Add models as other
 * tools write them (checked against float64 host arithmetic), training an imported model further,
 * exporting it again, describing a file, and every kind of file it must refuse, by name. Then
 * run() by name with several outputs, a user's defineFunction op for a custom node (attributes as
 * its arguments, its own backward), model-local functions with attributes, and int64 shape
 * arithmetic over a symbolic batch. PyTorch's larger exports: onnx_torch.test.ts; ONNX's own
 * conformance data: onnx_conformance.test.ts; untrusted bytes and budgets: onnx_fuzz.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { backward } from "../lib/autograd/backward";
import { defineFunction } from "../lib/function";
import { Linear } from "../lib/nn/linear";
import { Module } from "../lib/nn/module";
import { mseLoss } from "../lib/nn/mse_loss";
import { SGD } from "../lib/optim/sgd";
import { describeOnnx, formatOnnxDescription } from "../lib/onnx/describe";
import { OnnxImportError } from "../lib/onnx/errors";
import { exportOnnx } from "../lib/onnx/export";
import { importOnnx } from "../lib/onnx/import";
import { OnnxModel } from "../lib/onnx/onnx_model";
import type { OnnxTypes } from "../lib/onnx/proto";
import { assertClose, hostLinear } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";
import {
  DOUBLE, encodeModel, floatAttr, floatInit, intAttr, linearWeights, node, randomRows, seedModel, tensorInfo, TORCH_ONNX, TORCH_ONNX_BYTES, TwoLayer,
} from "./support/onnx_models";

const BATCH = { x: { 0: "batch" }, y: { 0: "batch" } };
/** float32 results against float64 host arithmetic: a few units of float32 round-off. */
const F32_RTOL = 1e-6;
const TMP = mkdtempSync(join(tmpdir(), "gradlab-onnx-import-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

const forward = (model: { forward(x: tf.Tensor): tf.Tensor }, rows: number[][]) => tf.tidy(() => Array.from(model.forward(tf.tensor2d(rows)).dataSync()));
const rowsOf = (flat: number[], width: number) => Array.from({ length: flat.length / width }, (_, i) => flat.slice(i * width, (i + 1) * width));

function throwsImport(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof OnnxImportError, `expected OnnxImportError, got ${e.name}: ${e.message}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

/** x [batch, in] → Gemm(x, W, b) → y, written as other exporters do. */
function gemmModel(inF: number, outF: number, attrs: { transB?: number; alpha?: number; beta?: number } = {}): { bytes: Uint8Array; w: number[]; b: number[] } {
  const { w, b } = linearWeights(inF, outF);
  const transB = attrs.transB ?? 1;
  // With transB = 0 the file holds Wᵀ ([in, out]).
  const stored = transB ? w : Array.from({ length: inF * outF }, (_, k) => w[(k % outF) * inF + Math.floor(k / outF)]!);
  const attribute = [intAttr("transB", transB), ...(attrs.alpha !== undefined ? [floatAttr("alpha", attrs.alpha)] : []), ...(attrs.beta !== undefined ? [floatAttr("beta", attrs.beta)] : [])];
  const bytes = encodeModel({
    name: "gemm",
    node: [node("Gemm", ["x", "W", "b"], ["y"], { attribute })],
    initializer: [floatInit("W", transB ? [outF, inF] : [inF, outF], stored), floatInit("b", [outF], b)],
    input: [tensorInfo("x", ["N", inF])],
    output: [tensorInfo("y", ["N", outF])],
  });
  return { bytes, w, b };
}

describeEachBackend("importOnnx", () => {
  for (const customOps of ["function", "standard", "opaque"] as const) {
    for (const dtype of ["float32", "float64"] as const) {
      it(`round trip, customOps "${customOps}", ${dtype}: same parameters, same outputs (batch 1 and 37)`, async () => {
        const model = new TwoLayer();
        const imported = importOnnx(await exportOnnx(model, undefined, { customOps, dtype, dynamicAxes: BATCH }));
        assert.deepEqual(imported.stateDict(), model.stateDict());
        for (const batch of [1, 37]) {
          const rows = randomRows(batch, 3, batch);
          assert.deepEqual(forward(imported, rows), forward(model, rows), `batch ${batch}`);
        }
        imported.dispose();
        model.dispose();
      });
    }
  }

  it("from a file path, as the export wrote it", async () => {
    const model = seedModel();
    const path = join(TMP, "seed.onnx");
    await exportOnnx(model, path, { dynamicAxes: BATCH });
    const imported = importOnnx(path);
    assert.deepEqual(forward(imported, [[3, 2]]), forward(model, [[3, 2]]));
    assert.equal(String(imported), "OnnxModel(x [batch, 2]) → y [batch, 1]");
    imported.dispose();
    model.dispose();
  });

  it("PyTorch's export of the seed (default-domain MYLINEAR, float64, weights listed as inputs) gives PyTorch's output", async () => {
    const imported = importOnnx(TORCH_ONNX_BYTES);
    assert.deepEqual(imported.inputNames, ["x"], "weight and bias, listed as inputs with initializers, are parameters");
    assert.deepEqual(imported.namedParameters().map(([n, p]) => [n, p.shape]), [["weight", [1, 2]], ["bias", [1]]]);
    const state = imported.stateDict() as { weight: number[][]; bias: number[] };
    assert.deepEqual(state.weight[0], TORCH_ONNX.weights.weight[0]!.map(Math.fround), "float64 weights become float32");
    assertClose(forward(imported, TORCH_ONNX.x), TORCH_ONNX.y, { rtol: F32_RTOL }, "y at x = [[3, 2]]");
    // The seed's dynamic_axes named nothing, so PyTorch fixed the batch at 1.
    throwsImport(() => imported.forward(tf.tensor2d([[3, 2], [1, 1]])), /has shape \[2, 2\], but the model declares \[1, 2\]; axis 0 is fixed at 1 in the file/);
    imported.dispose();
  });

  it("an imported PyTorch model trains on: SGD steps match gradlab's Linear from the same weights exactly", async () => {
    const imported = importOnnx(TORCH_ONNX_BYTES);
    const linear = new Linear(2, 1);
    linear.loadStateDict(imported.stateDict());
    const rows = randomRows(20, 2, 9);
    for (const model of [imported, linear]) {
      const optimizer = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
      for (const [x1, x2] of rows) {
        const x = tf.tensor2d([[x1!, x2!]]);
        const y = tf.tensor2d([[2 * x1! + 3 * x2! + 4]]);
        optimizer.zeroGrad();
        backward(() => mseLoss(model.forward(x), y), model.parameters()).dispose();
        optimizer.step();
        tf.dispose([x, y]);
      }
      optimizer.zeroGrad();
      optimizer.dispose();
    }
    assert.deepEqual(imported.stateDict(), linear.stateDict());
    imported.dispose();
    linear.dispose();
  });

  it("an imported model exports again (gradlab ops inside), and that file gives the same outputs", async () => {
    const imported = importOnnx(TORCH_ONNX_BYTES);
    const again = importOnnx(await exportOnnx(imported));
    assert.deepEqual(forward(again, [[3, 2]]), forward(imported, [[3, 2]]));
    imported.dispose();
    again.dispose();
  });

  for (const [label, attrs] of [
    ["Gemm with transB = 1 (as torch.nn.Linear exports)", { transB: 1 }],
    ["Gemm with transB = 0 (W stored as [in, out])", { transB: 0 }],
    ["Gemm with alpha 0.5 and beta 2", { transB: 1, alpha: 0.5, beta: 2 }],
  ] as const) {
    it(`${label} equals float64 host arithmetic`, async () => {
      const { bytes, w, b } = gemmModel(5, 3, attrs);
      const imported = importOnnx(bytes);
      const rows = randomRows(37, 5, 4);
      const alpha = "alpha" in attrs ? attrs.alpha : 1;
      const beta = "beta" in attrs ? attrs.beta : 1;
      const expected = hostLinear(rows, rowsOf(w, 5), b.map(() => 0)).map((r) => r.map((v, j) => alpha * v + beta * b[j]!));
      assertClose(forward(imported, rows), expected, { rtol: F32_RTOL, atol: 1e-6 }, label);
      imported.dispose();
    });
  }

  it("MatMul + Add (as converters write a linear layer) equals host arithmetic, and trains: its gradients are Linear's", async () => {
    const { w, b } = linearWeights(4, 2);
    const wT = Array.from({ length: 8 }, (_, k) => w[(k % 2) * 4 + Math.floor(k / 2)]!);
    const imported = importOnnx(
      encodeModel({
        name: "matmul_add",
        node: [node("MatMul", ["x", "WT"], ["xw"]), node("Add", ["xw", "b"], ["y"])],
        initializer: [floatInit("WT", [4, 2], wT), floatInit("b", [2], b)],
        input: [tensorInfo("x", ["N", 4])],
        output: [tensorInfo("y", ["N", 2])],
      }),
    );
    const rows = randomRows(6, 4, 8);
    assertClose(forward(imported, rows), hostLinear(rows, rowsOf(w, 4), b), { rtol: F32_RTOL, atol: 1e-6 }, "MatMul + Add");

    const linear = new Linear(4, 2);
    linear.loadStateDict({ weight: rowsOf(w, 4), bias: b });
    const x = tf.tensor2d(rows);
    const target = tf.zeros([6, 2]);
    for (const model of [imported, linear]) backward(() => mseLoss(model.forward(x), target), model.parameters()).dispose();
    const [gWT, gb] = imported.parameters().map((p) => p.grad!);
    assertClose(tf.tidy(() => Array.from(tf.transpose(gWT!).dataSync())), Array.from(linear.weight.grad!.dataSync()), { rtol: 1e-5, atol: 1e-7 }, "dL/dW");
    assertClose(Array.from(gb!.dataSync()), Array.from(linear.bias.grad!.dataSync()), { rtol: 1e-5, atol: 1e-7 }, "dL/db");
    tf.dispose([x, target]);
    imported.dispose();
    linear.dispose();
  });

  it("MatMul of a batch of matrices [B, T, in] by [in, out], Identity and Relu", async () => {
    const { w } = linearWeights(3, 2);
    const imported = importOnnx(
      encodeModel({
        name: "seq",
        node: [node("MatMul", ["x", "W"], ["xw"]), node("Relu", ["xw"], ["r"]), node("Identity", ["r"], ["y"])],
        initializer: [floatInit("W", [3, 2], w)],
        input: [tensorInfo("x", ["B", 4, 3])],
        output: [tensorInfo("y", ["B", 4, 2])],
      }),
    );
    const x = tf.tensor3d(randomRows(8, 3, 2).flat(), [2, 4, 3]);
    const y = imported.forward(x);
    assert.deepEqual(y.shape, [2, 4, 2]);
    const expected = tf.tidy(() => tf.relu(tf.reshape(tf.matMul(tf.reshape(x, [8, 3]), tf.tensor2d(w, [3, 2])), [2, 4, 2])).dataSync());
    assert.deepEqual(y.dataSync(), expected);
    tf.dispose([x, y]);
    imported.dispose();
  });

  it("forward leaves only the model's parameters behind, and dispose frees them", async () => {
    const before = tf.memory().numTensors;
    const imported = importOnnx(TORCH_ONNX_BYTES);
    assert.equal(tf.memory().numTensors, before + 2);
    forward(imported, [[3, 2]]);
    assert.equal(tf.memory().numTensors, before + 2);
    imported.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it("an OnnxModel is a Module: namedParameters with a prefix inside another model", async () => {
    const imported = importOnnx(TORCH_ONNX_BYTES);
    assert.ok(imported instanceof OnnxModel);
    assert.deepEqual(imported.namedParameters("inner.").map(([n]) => n), ["inner.weight", "inner.bias"]);
    imported.dispose();
  });
});

describe("describeOnnx: a model's graph as data and text", () => {
  it("shows inputs, outputs, initializers, nodes and function bodies with shapes", async () => {
    const model = seedModel();
    const bytes = await exportOnnx(model, undefined, { dynamicAxes: BATCH });
    const d = describeOnnx(bytes);
    assert.deepEqual(d.opsets, { "": 17, gradlab: 1 });
    assert.deepEqual(d.inputs, [{ name: "x", dtype: "float32", shape: ["batch", 2], initialized: false }]);
    assert.deepEqual(d.nodes.map((n) => [n.domain, n.opType]), [["gradlab", "MYLINEAR"]]);
    assert.deepEqual(d.functions[0]!.nodes[0]!.attributes, { transB: 1 });
    assert.equal(
      formatOnnxDescription(d),
      [
        `ONNX model, IR 8, gradlab 0.1.0, opsets ai.onnx 17, gradlab 1 (${bytes.length} bytes)`,
        "inputs:",
        "  x: float32 [batch, 2]",
        "outputs:",
        "  y: float32 [batch, 1]",
        "initializers:",
        "  weight: float32 [1, 2]",
        "  bias: float32 [1]",
        "nodes:",
        "  y = gradlab.MYLINEAR(x, weight, bias)",
        "function gradlab.MYLINEAR(x, weight, bias) → output:",
        "  output = Gemm(x, weight, bias) {transB=1}",
      ].join("\n"),
    );
    model.dispose();
  });

  it("marks PyTorch's weights-as-inputs", async () => {
    const d = describeOnnx(TORCH_ONNX_BYTES);
    assert.deepEqual(d.inputs.map((i) => [i.name, i.dtype, i.initialized]), [["x", "float64", false], ["weight", "float64", true], ["bias", "float64", true]]);
    assert.equal(d.nodes[0]!.domain, "");
  });
});

describe("importOnnx refuses what it cannot run, saying what and where", () => {
  const linearGraph = (over: Record<string, unknown> = {}) => ({
    name: "g",
    node: [node("Gemm", ["x", "W", "b"], ["y"], { attribute: [intAttr("transB", 1)] })],
    initializer: [floatInit("W", [1, 2], [1, 2]), floatInit("b", [1], [3])],
    input: [tensorInfo("x", ["N", 2])],
    output: [tensorInfo("y", ["N", 1])],
    ...over,
  });

  it("an unsupported op: names the op, the node and what is supported", async () => {
    throwsImport(
      () => importOnnx(encodeModel(linearGraph({ node: [node("LSTM", ["x"], ["y"], { name: "rnn" })] }))),
      /node "rnn" \(LSTM\): op LSTM is not supported; gradlab runs \d+ standard ONNX ops \(Abs, Acos, .*\), MYLINEAR \(any domain\) and the ops given in importOnnx's `ops` option/,
    );
    throwsImport(() => importOnnx(encodeModel(linearGraph({ node: [node("Gemm", ["x", "W", "b"], ["y"], { domain: "com.example" })] }))), /op com\.example\.Gemm is not supported/);
  });

  it("a missing initializer: names the value and the node that reads it", async () => {
    throwsImport(() => importOnnx(encodeModel(linearGraph({ initializer: [floatInit("W", [1, 2], [1, 2])] }))), /node "Gemm_y" \(Gemm\) reads "b", which is no graph input, no initializer and no node's output \(a missing initializer\?\)/);
  });

  it("a cycle: names the nodes caught in it", async () => {
    const graph = linearGraph({
      node: [node("Add", ["x", "b2"], ["a"], { name: "first" }), node("Add", ["a", "x"], ["b2"], { name: "second" }), node("Identity", ["a"], ["y"])],
      output: [tensorInfo("y", ["N", 2])],
    });
    throwsImport(() => importOnnx(encodeModel(graph)), /the graph has a cycle: nodes "first", "second"/);
  });

  it("absurd sizes are refused before anything is allocated", async () => {
    throwsImport(() => importOnnx(encodeModel(linearGraph({ initializer: [floatInit("W", [2 ** 31 - 1, 2 ** 31 - 1], [1, 2]), floatInit("b", [1], [3])] }))), /budget maxTensorElements exceeded at initializer "W": shape \[2147483647, 2147483647\] holds more than 2⁵³ elements; the budget is 134217728/);
    throwsImport(() => importOnnx(encodeModel(linearGraph({ initializer: [floatInit("W", [2 ** 40, 1], [1, 2]), floatInit("b", [1], [3])] }))), /initializer "W": dimension 0 is 1099511627776; dimensions must lie in \[0, 2147483647\]/);
    throwsImport(() => importOnnx(encodeModel(linearGraph({ initializer: [floatInit("W", [-1, 2], [1, 2]), floatInit("b", [1], [3])] }))), /dimension 0 is -1/);
    throwsImport(() => importOnnx(encodeModel(linearGraph({ initializer: [floatInit("W", [1000, 1000], [1, 2]), floatInit("b", [1], [3])] }))), /shape \[1000, 1000\] needs 1000000 elements of float32, but it holds 2 values/);
    throwsImport(() => importOnnx(encodeModel(linearGraph({ input: [tensorInfo("x", [2 ** 45, 2])] }))), /graph input "x": dimension 0 is 35184372088832/);
  });

  it("shapes that do not fit: caught at import, naming the node", async () => {
    throwsImport(() => importOnnx(encodeModel(linearGraph({ input: [tensorInfo("x", ["N", 3])] }))), /node "Gemm_y" \(Gemm\): inner dimensions differ: A \[N, 3\] times Bᵀ \[1, 2\]/);
  });

  it("other malformed graphs", async () => {
    throwsImport(() => importOnnx(encodeModel(linearGraph({ node: [node("Gemm", ["x", "W", "b"], ["W"])] }))), /writes "W", which is a graph input or an initializer/);
    throwsImport(() => importOnnx(encodeModel(linearGraph({ node: [node("Identity", ["x"], ["y"]), node("Relu", ["x"], ["y"])] }))), /value "y" is produced twice/);
    throwsImport(() => importOnnx(encodeModel(linearGraph({ node: [node("Gemm", ["x"], ["y"])] }))), /has 1 inputs; Gemm takes 2 to 3/);
    throwsImport(() => importOnnx(encodeModel(linearGraph({ node: [node("Gemm", ["x", "W", "b"], ["y"], { attribute: [intAttr("foo", 1)] })] }))), /attribute "foo" of Gemm is not supported \(gradlab reads alpha, beta, transA, transB, broadcast\)/);
    throwsImport(() => importOnnx(encodeModel(linearGraph({ node: [node("Gemm", ["x", "W", "b"], ["y"], { attribute: [floatAttr("transB", 1)] })] }))), /attribute "transB" must be of type INT, got FLOAT/);
    throwsImport(() => importOnnx(encodeModel(linearGraph({ output: [] }))), /the graph has no outputs/);
    throwsImport(() => importOnnx(encodeModel(linearGraph({ output: [tensorInfo("z", [1])] }))), /graph output "z" is not produced by any node, input or initializer/);
    throwsImport(() => importOnnx(encodeModel(linearGraph({ input: [tensorInfo("x", ["N", 2], 8)] }))), /graph input "x" has element type string; gradlab feeds numeric and bool tensors/);
    throwsImport(() => importOnnx(encodeModel(linearGraph({ initializer: [{ name: "W", dims: [1, 2], dataType: 1, dataLocation: 1 }, floatInit("b", [1], [3])] }))), /initializer "W": its data is stored outside the model file/);
    throwsImport(() => importOnnx(encodeModel(linearGraph({ initializer: [{ name: "W", dims: [1, 2], dataType: DOUBLE, rawData: new Uint8Array(12) }, floatInit("b", [1], [3])] }))), /needs 2 elements of float64, but it holds 12 bytes of raw data \(8 per element\)/);
    throwsImport(() => importOnnx(encodeModel(linearGraph(), { opsetImport: [{ domain: "", version: 0 }] })), /opset 0; gradlab runs opset 1 and later/);
    throwsImport(() => importOnnx(encodeModel(linearGraph({ node: [node("Add", ["x", "b"], ["y"], { attribute: [intAttr("broadcast", 1)] })] }), { opsetImport: [{ domain: "", version: 6 }] })), /attribute "broadcast" of Add is not supported/);
    throwsImport(() => importOnnx(encodeModel(linearGraph(), { irVersion: 0 })), /ir_version is 0/);
  });

  it("a function that calls itself", async () => {
    const f = { domain: "loop", name: "F", input: ["a"], output: ["b"], node: [{ opType: "F", domain: "loop", input: ["a"], output: ["b"] }] };
    throwsImport(
      () => importOnnx(encodeModel(linearGraph({ node: [{ opType: "F", domain: "loop", input: ["x"], output: ["y"], name: "call" }] }), { functions: [f], opsetImport: [{ domain: "", version: 13 }, { domain: "loop", version: 1 }] })),
      /function loop\.F calls itself \(via loop\.F → loop\.F\)/,
    );
  });

  it("bytes that are not a model, a missing file", async () => {
    throwsImport(() => importOnnx(new Uint8Array(0)), /the model is empty/);
    throwsImport(() => importOnnx(new TextEncoder().encode("this is not protobuf")), /not a readable ONNX model: protobuf decoding failed/);
    throwsImport(() => importOnnx(join(TMP, "missing.onnx")), /cannot read ONNX file .*missing\.onnx: no such file/);
  });

  it("a wrong input at forward time: names the input and both shapes", async () => {
    const imported = importOnnx(encodeModel(linearGraph()));
    throwsImport(() => imported.forward(tf.zeros([4, 3])), /input 0 \("x"\) has shape \[4, 3\], but the model declares \[N, 2\]/);
    throwsImport(() => imported.forward(tf.zeros([4, 2], "int32")), /has dtype int32; the model declares float32, fed as float32/);
    throwsImport(() => imported.forward(), /forward takes 1 input \(x\), got 0/);
    imported.dispose();
  });
});

/** 2.5·tanh(x) with the scale as an attribute; backward counts its calls, to prove it ran. */
const scaleSeenInBackward: number[] = [];
const ScaledTanh = defineFunction<[tf.Tensor, number]>({
  name: "SCALEDTANH",
  inputNames: ["x", "scale"],
  forward(ctx, x, scale) {
    const t = tf.tanh(x);
    ctx.saveForBackward(t);
    return tf.mul(t, scale);
  },
  backward(ctx, dy) {
    const [t] = ctx.saved;
    const scale = ctx.attrs[1] as number;
    scaleSeenInBackward.push(scale);
    return [tf.mul(dy, tf.mul(scale, tf.sub(1, tf.square(t!)))), null];
  },
});

describeEachBackend("importOnnx: several outputs, run by name, a user's ops, functions with attributes", () => {
  const rows = [[0.5, -1], [2, 0.25], [-0.75, 1.5]];
  const w = [[0.3, -0.2], [0.1, 0.4], [-0.5, 0.6]];
  const b = [0.05, -0.1, 0.2];
  /** x [N, 2] → Gemm → h [N, 3]; then `tail` nodes from h. */
  const withTail = (tail: OnnxTypes.INodeProto[], outputs: OnnxTypes.IValueInfoProto[], extra: Partial<OnnxTypes.IModelProto> = {}) =>
    encodeModel(
      {
        name: "tail",
        node: [node("Gemm", ["x", "W", "b"], ["h"], { attribute: [intAttr("transB", 1)] }), ...tail],
        initializer: [floatInit("W", [3, 2], w.flat()), floatInit("b", [3], b)],
        input: [tensorInfo("x", ["N", 2])],
        output: outputs,
      },
      extra,
    );
  const h = hostLinear(rows, w, b);

  it("run({ x }) returns every output by name (Split gives two), forward the first", () => {
    const model = importOnnx(
      withTail([node("Split", ["h"], ["left", "right"], { attribute: [intAttr("axis", 1), { name: "split", type: 7, ints: [1, 2] }] })], [tensorInfo("left", ["N", 1]), tensorInfo("right", ["N", 2])], { opsetImport: [{ domain: "", version: 11 }] }),
    );
    assert.deepEqual(model.outputNames, ["left", "right"]);
    const x = tf.tensor2d(rows);
    const { left, right } = model.run({ x });
    assertClose(left!.arraySync() as number[][], h.map((r) => [r[0]!]), { rtol: F32_RTOL, atol: 1e-7 }, "left");
    assertClose(right!.arraySync() as number[][], h.map((r) => r.slice(1)), { rtol: F32_RTOL, atol: 1e-7 }, "right");
    const first = model.forward(x);
    assert.deepEqual(first.arraySync(), left!.arraySync());
    assert.deepEqual(Object.keys(model.run({ x }, ["right"])), ["right"]);
    throwsImport(() => model.run({}), /run's inputs do not match the model \(missing "x"\); it takes "x"/);
    throwsImport(() => model.run({ x, z: x }), /unknown "z"/);
    throwsImport(() => model.run({ x }, ["nope"]), /there is no value "nope" to return; the outputs are "left", "right"/);
    tf.dispose([x, left!, right!, first]);
    model.dispose();
  });

  it("a user's defineFunction op runs a custom node: the attribute is its non-tensor argument, and its own backward computes the gradients", () => {
    const bytes = withTail([node("SCALEDTANH", ["h"], ["y"], { domain: "com.example", attribute: [floatAttr("scale", 2.5)] })], [tensorInfo("y", ["N", 3])], {
      opsetImport: [{ domain: "", version: 17 }, { domain: "com.example", version: 1 }],
    });
    throwsImport(() => importOnnx(bytes), /op com\.example\.SCALEDTANH is not supported/);
    throwsImport(() => importOnnx(bytes, { ops: { SCALEDTANH: (() => 1) as never } }), /options\.ops\.SCALEDTANH must be an op made by defineFunction/);
    const model = importOnnx(bytes, { ops: { SCALEDTANH: ScaledTanh } });
    const x = tf.tensor2d(rows);
    assertClose(tf.tidy(() => model.forward(x).arraySync() as number[][]), h.map((r) => r.map((v) => 2.5 * Math.tanh(v))), { rtol: 1e-6, atol: 1e-7 }, "y");
    scaleSeenInBackward.length = 0;
    backward(() => tf.sum(model.forward(x)), model.parameters()).dispose();
    assert.deepEqual(scaleSeenInBackward, [2.5], "the op's own backward ran, with the file's attribute");
    // d sum(y) / dW[j][k] = Σ_i 2.5 (1 − tanh² h_ij) x_ik
    const dW = w.map((row, j) => row.map((_, k) => rows.reduce((s, xr, i) => s + 2.5 * (1 - Math.tanh(h[i]![j]!) ** 2) * xr[k]!, 0)));
    assertClose(model.parameters()[0]!.grad!.arraySync() as number[][], dW, { rtol: 1e-5, atol: 1e-7 }, "dW");
    x.dispose();
    model.dispose();
  });

  it("gradlab reads back its own export of a user's op (opaque custom node with an attribute) when given the op", async () => {
    const Scaled = defineFunction<[tf.Tensor, number]>({
      ...ScaledTanh.definition,
      symbolic: (g, x, scale) => g.op("SCALEDTANH", x, { scale_f: scale }),
    });
    class Net extends Module {
      forward(x: tf.Tensor): tf.Tensor {
        return Scaled.apply(x, 2.5);
      }
    }
    const net = new Net();
    const bytes = await exportOnnx(net, undefined, { customOps: "opaque", example: tf.zeros([1, 3]), dynamicAxes: { x: { 0: "batch" }, y: { 0: "batch" } } });
    throwsImport(() => importOnnx(bytes), /op gradlab\.SCALEDTANH is not supported/);
    const model = importOnnx(bytes, { ops: { SCALEDTANH: Scaled } });
    const x = tf.tensor2d(rows[0]!.concat([0.3]), [1, 3]);
    assert.deepEqual(tf.tidy(() => Array.from(model.forward(x).dataSync())), tf.tidy(() => Array.from(net.forward(x).dataSync())));
    x.dispose();
    model.dispose();
  });

  it("a registered op runs in place of the function body the file gives; without it, the body is inlined", () => {
    // The body computes plain tanh (no scale), so the two paths give different numbers.
    const fn = { domain: "com.example", name: "SCALEDTANH", input: ["a"], output: ["o"], attribute: ["scale"], node: [node("Tanh", ["a"], ["o"])] };
    const bytes = withTail([node("SCALEDTANH", ["h"], ["y"], { domain: "com.example", attribute: [floatAttr("scale", 2.5)] })], [tensorInfo("y", ["N", 3])], {
      opsetImport: [{ domain: "", version: 17 }, { domain: "com.example", version: 1 }],
      functions: [fn],
    });
    const x = tf.tensor2d(rows);
    for (const [model, scale] of [[importOnnx(bytes), 1], [importOnnx(bytes, { ops: { SCALEDTANH: ScaledTanh } }), 2.5]] as const) {
      assertClose(tf.tidy(() => model.forward(x).arraySync() as number[][]), h.map((r) => r.map((v) => scale * Math.tanh(v))), { rtol: 1e-6, atol: 1e-7 }, `scale ${scale}`);
      model.dispose();
    }
    x.dispose();
  });

  it("model-local functions with attributes (ref_attr_name): each call gets its own value, functions calling functions", () => {
    const leaky = { domain: "local", name: "Leaky", input: ["a"], output: ["o"], attribute: ["slope"], node: [node("LeakyRelu", ["a"], ["o"], { attribute: [{ name: "alpha", type: 1, refAttrName: "slope" }] })] };
    const twice = {
      domain: "local", name: "Twice", input: ["a"], output: ["o"], attribute: ["slope"],
      node: [node("Leaky", ["a"], ["m"], { domain: "local", attribute: [{ name: "slope", type: 1, refAttrName: "slope" }] }), node("Add", ["m", "m"], ["o"])],
    };
    const bytes = withTail(
      [node("Leaky", ["h"], ["y1"], { domain: "local", attribute: [floatAttr("slope", 0.1)] }), node("Twice", ["h"], ["y2"], { domain: "local", attribute: [floatAttr("slope", 0.5)] })],
      [tensorInfo("y1", ["N", 3]), tensorInfo("y2", ["N", 3])],
      { opsetImport: [{ domain: "", version: 17 }, { domain: "local", version: 1 }], functions: [leaky, twice] },
    );
    const model = importOnnx(bytes);
    const x = tf.tensor2d(rows);
    const { y1, y2 } = model.run({ x });
    const leakyHost = (v: number, s: number) => (v >= 0 ? v : s * v);
    assertClose(y1!.arraySync() as number[][], h.map((r) => r.map((v) => leakyHost(v, 0.1))), { rtol: 1e-6, atol: 1e-7 }, "slope 0.1");
    assertClose(y2!.arraySync() as number[][], h.map((r) => r.map((v) => 2 * leakyHost(v, 0.5))), { rtol: 1e-6, atol: 1e-7 }, "slope 0.5, twice");
    tf.dispose([x, y1!, y2!]);
    model.dispose();
  });

  it("positions from the input's shape on the host: Shape → Gather → Range → Unsqueeze → Expand → Cast, added to x", () => {
    const scalar = (name: string, v: number) => ({ name, dims: [], dataType: 7, int64Data: [v] });
    const bytes = encodeModel(
      {
        name: "positions",
        node: [
          node("Shape", ["x"], ["s"]),
          node("Gather", ["s", "one"], ["t"], { attribute: [intAttr("axis", 0)] }),
          node("Range", ["zero", "t", "one"], ["r"]),
          node("Unsqueeze", ["r", "axes"], ["r2"]),
          node("Expand", ["r2", "s"], ["grid"]),
          node("Cast", ["grid"], ["pos"], { attribute: [intAttr("to", 1)] }),
          node("Add", ["x", "pos"], ["y"]),
        ],
        initializer: [scalar("zero", 0), scalar("one", 1), { name: "axes", dims: [1], dataType: 7, int64Data: [0] }],
        input: [tensorInfo("x", ["batch", "T"])],
        output: [tensorInfo("y", ["batch", "T"])],
      },
      { opsetImport: [{ domain: "", version: 13 }] },
    );
    const model = importOnnx(bytes);
    const x = tf.tensor2d([[0.5, 0.5, 0.5], [-1, -1, -1]]);
    const y = model.forward(x);
    assert.deepEqual(y.arraySync(), [[0.5, 1.5, 2.5], [-1, 0, 1]]);
    tf.dispose([x, y]);
    model.dispose();
  });

  it("float64, int64 shape arithmetic and a dynamic batch: Shape → Gather → Unsqueeze → Concat → Reshape, as PyTorch writes a flatten", () => {
    const bytes = encodeModel(
      {
        name: "flatten",
        node: [
          node("Shape", ["x"], ["s"]),
          node("Gather", ["s", "zero"], ["n"], { attribute: [intAttr("axis", 0)] }),
          node("Unsqueeze", ["n", "axes"], ["n1"]),
          node("Concat", ["n1", "minus1"], ["target"], { attribute: [intAttr("axis", 0)] }),
          node("Reshape", ["x", "target"], ["flat"]),
          node("Mul", ["flat", "two"], ["y"]),
        ],
        initializer: [
          { name: "zero", dims: [], dataType: 7, int64Data: [0] },
          { name: "axes", dims: [1], dataType: 7, int64Data: [0] },
          { name: "minus1", dims: [1], dataType: 7, int64Data: [-1] },
          { name: "two", dims: [], dataType: DOUBLE, doubleData: [2] },
        ],
        input: [tensorInfo("x", ["batch", 2, 3], DOUBLE)],
        output: [tensorInfo("y", ["batch", 6], DOUBLE)],
      },
      { opsetImport: [{ domain: "", version: 13 }] },
    );
    const model = importOnnx(bytes);
    assert.equal(String(model), "OnnxModel(x [batch, 2, 3]) → y [batch, 6]", "the batch stays symbolic through the shape arithmetic");
    assert.deepEqual(model.namedParameters().map(([n]) => n), ["two"], "int64 initializers are constants, float ones parameters");
    for (const batch of [1, 4]) {
      const values = Array.from({ length: batch * 6 }, (_, i) => i - 3.5);
      const x = tf.tensor3d(values, [batch, 2, 3]);
      const y = model.forward(x);
      assert.deepEqual(y.shape, [batch, 6]);
      assert.deepEqual(Array.from(y.dataSync()), values.map((v) => 2 * v));
      tf.dispose([x, y]);
    }
    model.dispose();
  });
});
