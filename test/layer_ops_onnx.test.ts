/**
 * Each layer op's `lower` (its standard-ONNX form) run by ONNX Runtime, against the op's own
 * forward. The graph is built straight from `lower` with the exporter's GraphBuilder, with the
 * op's non-tensor arguments in place, so this checks the ONNX each op writes whatever the
 * exporter around it does.
 */
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import type { Arg, CustomFunction, Outputs } from "../lib/function";
import { GraphBuilder, NameTable } from "../lib/onnx/graph_builder";
import { onnx } from "../lib/onnx/proto";
import type { SymbolicGraph, SymbolicValue } from "../lib/onnx/symbolic";
import { DropoutF } from "../lib/ops/dropout";
import { GeluF } from "../lib/ops/gelu";
import { LayerNormF } from "../lib/ops/layer_norm";
import { LeakyReluF } from "../lib/ops/leaky_relu";
import { LogSoftmaxF } from "../lib/ops/log_softmax";
import { BceWithLogitsF } from "../lib/ops/losses/bce_with_logits";
import { CrossEntropyF } from "../lib/ops/losses/cross_entropy";
import { NllLossF } from "../lib/ops/losses/nll_loss";
import { ReluF } from "../lib/ops/relu";
import { SigmoidF } from "../lib/ops/sigmoid";
import { SoftmaxF } from "../lib/ops/softmax";
import { TanhF } from "../lib/ops/tanh";
import { Generator } from "../lib/random";
import { ReLU, Sigmoid } from "../lib/nn/activation";
import { Linear } from "../lib/nn/linear";
import { Module } from "../lib/nn/module";
import { exportOnnx } from "../lib/onnx/export";
import { assertClose } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";

type Ort = typeof import("onnxruntime-node");
const ort: Ort | null = await import("onnxruntime-node").then((m) => ((m as { default?: Ort }).default ?? m) as Ort).catch(() => null);
const SKIP = ort === null ? "onnxruntime-node cannot be loaded here" : false;

type AnyOp = CustomFunction<Arg[], Outputs>;

/** A one-op model: graph inputs for the tensor arguments, the op's lower, one output "y". */
function modelOf(op: AnyOp, args: readonly Arg[]): Uint8Array {
  const names = new NameTable();
  const g = new GraphBuilder(names, { context: `${op.name}.lower`, customOpName: null, allowOtherDomains: false });
  const inputs: { name: string; tensor: tf.Tensor }[] = [];
  const symbolic = args.map((a, i) => {
    if (!(a instanceof tf.Tensor)) return a;
    const name = names.fresh(`in${i}`);
    inputs.push({ name, tensor: a });
    return g.value(name);
  });
  const lower = op.definition.lower as (g: SymbolicGraph, ...args: (SymbolicValue | Arg)[]) => SymbolicValue;
  const out = lower(g, ...symbolic);
  for (const node of g.nodes) node.output = (node.output ?? []).map((n) => (n === out.name ? "y" : n));
  const elemType = (t: tf.Tensor) => (t.dtype === "int32" ? 6 : 1);
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: op.name,
      node: g.nodes,
      input: inputs.map(({ name, tensor }) => ({ name, type: { tensorType: { elemType: elemType(tensor), shape: { dim: tensor.shape.map((d) => ({ dimValue: d })) } } } })),
      output: [{ name: "y", type: { tensorType: { elemType: 1 } } }],
    },
  });
  return new Uint8Array(onnx.ModelProto.encode(model).finish());
}

async function runOrt(op: AnyOp, args: readonly Arg[]): Promise<Float32Array> {
  const session = await ort!.InferenceSession.create(modelOf(op, args));
  try {
    const feeds: Record<string, InstanceType<Ort["Tensor"]>> = {};
    args.forEach((a, i) => {
      if (a instanceof tf.Tensor) feeds[`in${i}`] = a.dtype === "int32" ? new ort!.Tensor("int32", a.dataSync() as Int32Array, a.shape) : new ort!.Tensor("float32", a.dataSync() as Float32Array, a.shape);
    });
    const out = await session.run(feeds);
    return out.y!.data as Float32Array;
  } finally {
    await session.release();
  }
}

describeEachBackend("layer ops in ONNX Runtime (lower)", () => {
  it("every op's standard-ONNX form gives its forward's values", { skip: SKIP }, async () => {
    const g = new Generator(17);
    const x = tf.tensor(g.uniformArray(24, -3, 3), [4, 6]);
    const x3 = tf.tensor(g.uniformArray(24, -3, 3), [2, 3, 4]);
    const t = tf.tensor([0, 5, 2, 3], [4], "int32");
    const tIgnore = tf.tensor([0, -100, 2, 3], [4], "int32");
    const t3 = tf.tensor([0, 2, 1, 1, 0, 2, 2, 1], [2, 4], "int32");
    const w6 = tf.tensor(g.uniformArray(6, 0.5, 2));
    const w3 = tf.tensor(g.uniformArray(3, 0.5, 2));
    const b6 = tf.tensor(g.uniformArray(6, -1, 1));
    const pw6 = tf.tensor(g.uniformArray(6, 0.5, 3));
    const y = tf.tensor(g.uniformArray(24, 0, 1), [4, 6]);
    const logp = tf.logSoftmax(x);
    const cases: [string, AnyOp, Arg[]][] = [
      ["Relu", ReluF as AnyOp, [x]],
      ["LeakyRelu(0.2)", LeakyReluF as AnyOp, [x, 0.2]],
      ["Sigmoid", SigmoidF as AnyOp, [x]],
      ["Tanh", TanhF as AnyOp, [x]],
      ["Gelu(none)", GeluF as AnyOp, [x, "none"]],
      ["Gelu(tanh)", GeluF as AnyOp, [x, "tanh"]],
      ["Softmax(0)", SoftmaxF as AnyOp, [x3, 0]],
      ["Softmax(2)", SoftmaxF as AnyOp, [x3, 2]],
      ["LogSoftmax(1)", LogSoftmaxF as AnyOp, [x3, 1]],
      ["LayerNorm affine", LayerNormF as AnyOp, [x, [6], 1e-5, true, true, w6, b6]],
      ["LayerNorm bias only", LayerNormF as AnyOp, [x, [6], 1e-3, false, true, b6]],
      ["LayerNorm over 2 dims", LayerNormF as AnyOp, [x3, [3, 4], 1e-5, false, false]],
      ["Dropout (eval)", DropoutF as AnyOp, [x, 0.5, false, 0]],
      ["CrossEntropy mean", CrossEntropyF as AnyOp, [x, t, "mean", -100, 0]],
      ["CrossEntropy weight, ignored row, none", CrossEntropyF as AnyOp, [x, tIgnore, "none", -100, 0, w6]],
      ["CrossEntropy [N, C, d] sum", CrossEntropyF as AnyOp, [x3, t3, "sum", -100, 0]],
      ["NllLoss weight mean", NllLossF as AnyOp, [logp, tIgnore, "mean", -100, w6]],
      ["NllLoss [N, C, d] ignoreIndex 2, none", NllLossF as AnyOp, [x3, t3, "none", 2, w3]],
      ["BceWithLogits mean", BceWithLogitsF as AnyOp, [x, y, "mean", false, false]],
      ["BceWithLogits weight posWeight none", BceWithLogitsF as AnyOp, [x, y, "none", true, true, w6, pw6]],
    ];
    for (const [name, op, args] of cases) {
      const ours = tf.tidy(() => (op.apply(...args) as tf.Tensor).dataSync());
      const theirs = await runOrt(op, args);
      assertClose(theirs, ours, { rtol: 1e-5, atol: 1e-6 }, `${name}: ONNX Runtime vs gradlab`);
    }
    tf.dispose([x, x3, t, tIgnore, t3, w6, w3, b6, pw6, y, logp]);
  });

  it("a model of Linear and activation modules exports through exportOnnx (standard ops) and runs in ONNX Runtime", { skip: SKIP }, async () => {
    class Mlp extends Module {
      readonly inFeatures = 3;
      fc1 = new Linear(3, 5, { generator: new Generator(1) });
      act = new ReLU();
      fc2 = new Linear(5, 2, { generator: new Generator(2) });
      out = new Sigmoid();
      forward(x: tf.Tensor): tf.Tensor {
        return this.out.forward(this.fc2.forward(this.act.forward(this.fc1.forward(x))));
      }
    }
    const model = new Mlp();
    const x = tf.tensor(new Generator(3).uniformArray(12, -2, 2), [4, 3]);
    const bytes = await exportOnnx(model, undefined, { customOps: "standard", example: x });
    const session = await ort!.InferenceSession.create(bytes);
    const feeds = { [session.inputNames[0]!]: new ort!.Tensor("float32", x.dataSync() as Float32Array, x.shape) };
    const theirs = (await session.run(feeds))[session.outputNames[0]!]!.data as Float32Array;
    await session.release();
    const ours = tf.tidy(() => model.forward(x).dataSync());
    assertClose(theirs, ours, { rtol: 1e-5, atol: 1e-6 }, "Linear → ReLU → Linear → Sigmoid");
    x.dispose();
    model.dispose();
  });
});
