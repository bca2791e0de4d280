/**
 * Models built from plain tfjs ops (with gradlab's Linear among them) that together run every
 * tfjs kernel the exporter writes: an MLP of every activation, an erf GELU with comparisons and
 * casts, a small attention block (batched matMul, heads by reshape and transpose, layer norm by
 * moments), channels-last and channels-first CNNs with batch norm and pooling, fused and
 * depthwise convolutions, an embedding lookup with int32 ids, running sums, remainders, one-hot
 * rows and reflect padding, transposed convolutions and image resizes. Each says its input shape (the
 * batch first) and dtype; weights come from a fixed seed.
 */
import * as tf from "@tensorflow/tfjs";
import { Linear } from "../../lib/nn/linear";
import { Module } from "../../lib/nn/module";
import { Parameter } from "../../lib/nn/parameter";
import { Generator } from "../../lib/random";

export interface KernelModel {
  /**
   * Builds the model. Called inside a test, after its backend is set: parameters made while the
   * test file is collected would live on whichever backend tfjs picked first (wasm's data moved
   * later gave all-zero outputs now and then in cpu suites).
   */
  make: () => Module;
  /** Input shape without the batch. */
  features: number[];
  dtype: "float32" | "int32";
  /** The tfjs kernels its forward is meant to exercise (checked against the trace in the test). */
  kernels: string[];
  /** Why it cannot run on some backend, by backend name (tfjs's wasm Conv2D is NHWC only). */
  unsupported?: Record<string, string>;
  /** Why ONNX Runtime cannot run its export in some dtype (a valid model, an op ORT lacks for it). */
  ortLacks?: Partial<Record<"float32" | "float64", string>>;
}

const weights = (g: Generator, shape: number[], scale = 0.5) => new Parameter(tf.tensor(Array.from(g.uniformArray(shape.reduce((a, b) => a * b, 1), -scale, scale)), shape));

/** Linear → relu → Linear, then every activation side by side, and arithmetic with constants. */
export class ActivationsMlp extends Module {
  readonly first: Linear;
  readonly second: Linear;
  constructor(g = new Generator(11)) {
    super();
    this.first = new Linear(4, 6, { generator: g });
    this.second = new Linear(6, 5, { generator: g });
  }
  forward(x: tf.Tensor): tf.Tensor {
    const h = this.second.forward(tf.relu(this.first.forward(tf.mul(x, 2))));
    const acts = [tf.sigmoid(h), tf.tanh(h), tf.elu(h), tf.leakyRelu(h, 0.2), tf.softplus(h), tf.relu6(tf.mul(h, 4)), tf.selu(h), tf.prelu(h, tf.fill([5], 0.3) as tf.Tensor)];
    const mixed = tf.concat(acts, 1);
    const arithmetic = tf.add(tf.div(tf.sub(mixed, 0.25), tf.add(tf.abs(mixed), 1)), tf.pow(tf.neg(mixed), 2));
    const unary = tf.add(tf.exp(tf.mul(mixed, -1)), tf.add(tf.log(tf.add(tf.square(mixed), 1)), tf.add(tf.sqrt(tf.add(tf.abs(mixed), 1)), tf.rsqrt(tf.add(tf.abs(mixed), 1)))));
    return tf.softmax(tf.add(tf.maximum(arithmetic, tf.minimum(unary, 3)), tf.squaredDifference(mixed, 0.5)));
  }
}

/** A model whose forward starts with one Linear, its weights from a seeded generator. */
abstract class AfterLinear extends Module {
  readonly fc: Linear;
  constructor(inFeatures: number, outFeatures: number, g: Generator) {
    super();
    this.fc = new Linear(inFeatures, outFeatures, { generator: g });
  }
}

/** The erf GELU, logSoftmax, clip, comparisons with where, casts and boolean logic. */
export class GeluHead extends AfterLinear {
  constructor(g = new Generator(12)) {
    super(6, 4, g);
  }
  forward(x: tf.Tensor): tf.Tensor {
    const h = this.fc.forward(x);
    const gelu = tf.mul(tf.mul(h, 0.5), tf.add(1, tf.erf(tf.div(h, Math.SQRT2))));
    const positive = tf.logicalAnd(tf.greater(gelu, 0), tf.lessEqual(gelu, 10));
    const picked = tf.where(positive, gelu, tf.mul(gelu, 0.1));
    const other = tf.where(tf.logicalOr(tf.less(h, -0.2), tf.equal(h, 0)), tf.zerosLike(h), tf.onesLike(h));
    const counted = tf.cast(tf.cast(tf.greaterEqual(h, tf.mean(h, 1, true)), "int32"), "float32");
    const notEq = tf.cast(tf.logicalNot(tf.notEqual(h, h)), "float32");
    return tf.logSoftmax(tf.add(tf.clipByValue(tf.add(picked, other), -2, 2), tf.add(counted, notEq)));
  }
}

/** One attention head pair over [batch, 5, 8]: batched matMul (transposeB; tf.broadcastTo runs Tile), softmax, layer norm by moments, reductions. */
export class AttentionBlock extends Module {
  readonly qkv: Parameter;
  readonly out: Parameter;
  readonly heads = 2;
  constructor(g = new Generator(13)) {
    super();
    this.qkv = weights(g, [8, 24]);
    this.out = weights(g, [8, 8]);
  }
  forward(x: tf.Tensor): tf.Tensor {
    const [, t, d] = x.shape as [number, number, number];
    const { mean, variance } = tf.moments(x, -1, true);
    const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
    const qkv = tf.matMul(normed, tf.broadcastTo(this.qkv.value, [x.shape[0]!, d, 3 * d]));
    const split = (i: number) => tf.transpose(tf.reshape(tf.slice(qkv, [0, 0, i * d], [-1, -1, d]), [-1, t, this.heads, d / this.heads]), [0, 2, 1, 3]);
    const [q, k, v] = [split(0), split(1), split(2)];
    const scores = tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(d / this.heads)));
    const attended = tf.reshape(tf.transpose(tf.matMul(scores, v), [0, 2, 1, 3]), [-1, t, d]);
    const y = tf.add(x, tf.matMul(tf.reshape(attended, [-1, d]), this.out.value).reshape([-1, t, d]));
    const pooled = tf.stack([tf.mean(y, 1), tf.sum(y, 1), tf.max(y, 1), tf.min(y, 1)], 1);
    const picked = tf.gather(pooled, [3, 0], 1);
    const squeezed = tf.squeeze(tf.expandDims(tf.sum(picked, [1, 2]), 1), [1]);
    return tf.concat([tf.reshape(picked, [-1, 2 * d]), tf.expandDims(squeezed, 1), tf.tile(tf.prod(tf.slice(y, [0, 0, 0], [-1, 1, 2]), 2), [1, 2])], 1);
  }
}

/** NCHW input, convolved channels-last (tfjs's default): conv same/valid, strides, dilation, batch norm, pools. */
export class ChannelsLastCnn extends Module {
  readonly conv1: Parameter;
  readonly conv2: Parameter;
  readonly gamma: Parameter;
  readonly beta: Parameter;
  readonly runningMean: tf.Tensor;
  readonly runningVar: tf.Tensor;
  readonly fc: Linear;
  constructor(g = new Generator(14)) {
    super();
    this.conv1 = weights(g, [3, 3, 2, 4]);
    this.conv2 = weights(g, [2, 2, 4, 4]);
    this.gamma = weights(g, [4]);
    this.beta = weights(g, [4]);
    this.runningMean = tf.tensor1d([0.1, -0.2, 0.05, 0]);
    this.runningVar = tf.tensor1d([1.5, 0.5, 1, 2]);
    this.fc = new Linear(4 * 2 * 2, 3, { generator: g });
  }
  forward(x: tf.Tensor): tf.Tensor {
    let h: tf.Tensor = tf.conv2d(tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D, this.conv1.value as tf.Tensor4D, 1, "same");
    h = tf.relu(tf.batchNorm(h, this.runningMean, this.runningVar, this.beta.value, this.gamma.value, 1e-3));
    h = tf.maxPool(h as tf.Tensor4D, 3, 2, "same");
    h = tf.conv2d(h as tf.Tensor4D, this.conv2.value as tf.Tensor4D, 1, "valid", "NHWC", 2);
    h = tf.avgPool(tf.pad(h, [[0, 0], [1, 0], [0, 1], [0, 0]]) as tf.Tensor4D, 2, 1, "valid");
    return this.fc.forward(tf.reshape(h, [h.shape[0]!, -1]));
  }
}

/** tfjs's conv2d with dataFormat NCHW: no transposes around the Conv. */
export class ChannelsFirstCnn extends Module {
  readonly conv: Parameter;
  constructor(g = new Generator(17)) {
    super();
    this.conv = weights(g, [3, 3, 2, 3]);
  }
  forward(x: tf.Tensor): tf.Tensor {
    const h: tf.Tensor = tf.conv2d(x as tf.Tensor4D, this.conv.value as tf.Tensor4D, [2, 1], [[0, 0], [0, 0], [1, 0], [0, 2]], "NCHW");
    return tf.transpose(tf.sigmoid(h), [0, 2, 3, 1]);
  }
}

/** tf.fused.conv2d with bias and activation, a dilated depthwise conv, tf.fused.matMul. */
export class FusedCnn extends Module {
  readonly conv: Parameter;
  readonly bias: Parameter;
  readonly depthwise: Parameter;
  readonly dense: Parameter;
  readonly denseBias: Parameter;
  constructor(g = new Generator(15)) {
    super();
    this.conv = weights(g, [3, 3, 3, 4]);
    this.bias = weights(g, [4]);
    this.depthwise = weights(g, [3, 3, 4, 2]);
    this.dense = weights(g, [8, 3]);
    this.denseBias = weights(g, [3]);
  }
  forward(x: tf.Tensor): tf.Tensor {
    let h: tf.Tensor4D = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: this.conv.value as tf.Tensor4D, strides: 2, pad: "same", bias: this.bias.value, activation: "relu" });
    h = tf.depthwiseConv2d(h, this.depthwise.value as tf.Tensor4D, 1, "same", "NHWC", 2);
    const pooled = tf.mean(h, [1, 2]);
    return tf.fused.matMul({ a: pooled as tf.Tensor2D, b: this.dense.value as tf.Tensor2D, bias: this.denseBias.value, activation: "elu" });
  }
}

/** The rest of the elementwise maths, argMax/argMin, all/any, isNaN, addN, floorDiv. */
export class MoreMaths extends Module {
  readonly fc: Linear;
  constructor(g = new Generator(18)) {
    super();
    this.fc = new Linear(5, 6, { generator: g });
  }
  forward(x: tf.Tensor): tf.Tensor {
    const h = this.fc.forward(x);
    const sum = tf.addN([tf.sin(h), tf.cos(h), tf.floor(tf.mul(h, 3)), tf.ceil(h), tf.round(tf.mul(h, 2.5)), tf.sign(h), tf.reciprocal(tf.add(tf.abs(h), 1)), tf.log1p(tf.abs(h)), tf.expm1(h), tf.cast(tf.floorDiv(tf.mul(h, 7), 2), "float32")]);
    const picks = [tf.argMax(h, 1), tf.argMin(h, 1), tf.all(tf.greater(h, -0.5), 1), tf.any(tf.greater(h, 0.8), 1)].map((t) => tf.cast(t, "float32"));
    return tf.concat([sum, tf.stack(picks, 1), tf.cast(tf.isNaN(tf.div(h, tf.abs(h))), "float32")], 1);
  }
}

/** tf.split (equal parts on the batch axis too, and sizes), tf.unstack, tf.stridedSlice, fused ops' other activations. */
export class SplitsAndFused extends Module {
  readonly depthwise: Parameter;
  readonly depthwiseBias: Parameter;
  readonly dense: Parameter;
  readonly alpha: Parameter;
  constructor(g = new Generator(19)) {
    super();
    this.depthwise = weights(g, [3, 3, 2, 1]);
    this.depthwiseBias = weights(g, [2]);
    this.dense = weights(g, [8, 4]);
    this.alpha = weights(g, [4]);
  }
  forward(x: tf.Tensor): tf.Tensor {
    // x [batch, 4, 4, 2]
    const conv = tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter: this.depthwise.value as tf.Tensor4D, strides: 1, pad: "valid", bias: this.depthwiseBias.value, activation: "relu6" });
    const flat = tf.reshape(conv, [-1, 8]);
    const [a, b] = tf.split(flat, [3, 5], 1);
    const [c, d] = tf.split(flat, 2, 1);
    const rows = tf.unstack(tf.reshape(flat, [-1, 2, 4]), 1);
    const strided = tf.stridedSlice(flat, [0, 1], [0, 8], [1, 2], 1, 1);
    const dense = (activation: "leakyrelu" | "sigmoid" | "prelu") =>
      tf.fused.matMul({ a: flat as tf.Tensor2D, b: this.dense.value as tf.Tensor2D, activation, leakyreluAlpha: 0.3, preluActivationWeights: this.alpha.value });
    return tf.concat([a!, tf.mul(b!, 2), tf.sub(c!, d!), tf.add(rows[0]!, rows[1]!), strided, dense("leakyrelu"), dense("sigmoid"), dense("prelu")], 1);
  }
}

/** An embedding lookup (int32 ids → rows), mean over the sequence, then Linear. */
export class Embedding extends Module {
  readonly table: Parameter;
  readonly fc: Linear;
  constructor(g = new Generator(16)) {
    super();
    this.table = weights(g, [10, 4]);
    this.fc = new Linear(4, 2, { generator: g });
  }
  forward(ids: tf.Tensor): tf.Tensor {
    return this.fc.forward(tf.mean(tf.gather(this.table.value, ids), 1));
  }
}

/** Running sums both ways, floor remainders of both signs (float and int32), one-hot rows with negative and too-large ids, and reflect padding. */
export class IndexingOps extends AfterLinear {
  constructor(g = new Generator(13)) {
    super(6, 6, g);
  }
  forward(x: tf.Tensor): tf.Tensor {
    const h = this.fc.forward(x);
    const sums = [tf.cumsum(h, 1), tf.cumsum(h, 1, true, true)];
    const remainders = [tf.mod(tf.mul(h, 3), 0.7), tf.mod(tf.mul(h, 3), -1.3)];
    // Ids from -2 to 6 against a depth of 5: negative and too large give all-off rows.
    const ids = tf.sub(tf.cast(tf.floor(tf.mul(tf.add(h, 1), 4)), "int32"), tf.scalar(2, "int32"));
    const oneHot = tf.reshape(tf.oneHot(ids, 5, 2, -1, "float32"), [h.shape[0]!, 30]);
    const intRemainders = tf.cast(tf.add(tf.mod(ids, tf.scalar(3, "int32")), tf.mod(ids, tf.scalar(-4, "int32"))), "float32");
    const padded = tf.mirrorPad(h, [[0, 0], [2, 3]], "reflect");
    return tf.concat([...sums, ...remainders, oneHot, intRemainders, padded], 1);
  }
}

/** Transposed convolutions (NHWC, as tf.conv2dTranspose runs): stride 2 "same", stride 2 "valid" with a row left over, stride 1 "valid". */
export class TransposedConvs extends Module {
  readonly f1: Parameter;
  readonly f2: Parameter;
  constructor(g = new Generator(15)) {
    super();
    this.f1 = weights(g, [3, 3, 2, 3]);
    this.f2 = weights(g, [2, 2, 3, 2]);
  }
  forward(x: tf.Tensor): tf.Tensor {
    const batch = x.shape[0]!;
    const x4 = x as tf.Tensor4D;
    const same = tf.conv2dTranspose(x4, this.f1.value as tf.Tensor4D, [batch, 8, 8, 2], 2, "same");
    const leftover = tf.conv2dTranspose(x4, this.f1.value as tf.Tensor4D, [batch, 10, 10, 2], 2, "valid");
    const back = tf.conv2dTranspose(same, this.f2.value as tf.Tensor4D, [batch, 9, 9, 3], 1, "valid");
    return tf.concat([tf.reshape(same, [batch, -1]), tf.reshape(leftover, [batch, -1]), tf.reshape(back, [batch, -1])], 1);
  }
}

/** Bilinear and nearest resizes (NHWC) up and down, in each of tfjs's three coordinate mappings. */
export class Resizes extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    const image = x as tf.Tensor4D;
    const batch = x.shape[0]!;
    const outs: tf.Tensor[] = [];
    for (const [alignCorners, halfPixelCenters] of [[false, false], [true, false], [false, true]] as const) {
      outs.push(tf.image.resizeBilinear(image, [9, 4], alignCorners, halfPixelCenters), tf.image.resizeNearestNeighbor(image, [9, 4], alignCorners, halfPixelCenters));
      outs.push(tf.image.resizeBilinear(image, [3, 11], alignCorners, halfPixelCenters), tf.image.resizeNearestNeighbor(image, [3, 11], alignCorners, halfPixelCenters));
    }
    return tf.concat(outs.map((o) => tf.reshape(o, [batch, -1])), 1);
  }
}

export function kernelModels(): [string, KernelModel][] {
  return [
    ["activations MLP", { make: () => new ActivationsMlp(), features: [4], dtype: "float32", kernels: ["MYLINEAR", "Relu", "Sigmoid", "Tanh", "Elu", "LeakyRelu", "Softplus", "Relu6", "Selu", "Prelu", "Softmax", "Pow", "RealDiv"] }],
    ["GELU head", { make: () => new GeluHead(), features: [6], dtype: "float32", kernels: ["Erf", "Select", "Greater", "LessEqual", "Cast", "ClipByValue", "ZerosLike", "OnesLike", "LogicalAnd", "NotEqual"] }],
    ["attention block", { make: () => new AttentionBlock(), features: [5, 8], dtype: "float32", kernels: ["BatchMatMul", "Reshape", "Transpose", "Slice", "Softmax", "Mean", "Sum", "Max", "Min", "Pack", "GatherV2", "Tile", "Prod", "ExpandDims"] }],
    ["channels-last CNN", { make: () => new ChannelsLastCnn(), features: [2, 8, 8], dtype: "float32", kernels: ["Conv2D", "FusedBatchNorm", "MaxPool", "AvgPool", "PadV2"] }],
    ["channels-first CNN", { make: () => new ChannelsFirstCnn(), features: [2, 6, 6], dtype: "float32", kernels: ["Conv2D", "Transpose"], unsupported: { wasm: "tfjs's wasm Conv2D runs channels-last only" } }],
    ["fused and depthwise CNN", { make: () => new FusedCnn(), features: [6, 6, 3], dtype: "float32", kernels: ["FusedConv2D", "DepthwiseConv2dNative", "_FusedMatMul"] }],
    ["more maths", { make: () => new MoreMaths(), features: [5], dtype: "float32", kernels: ["Sin", "Cos", "Floor", "Ceil", "Round", "Sign", "Reciprocal", "Log1p", "Expm1", "FloorDiv", "AddN", "ArgMax", "ArgMin", "All", "Any", "IsNan"] }],
    ["splits and fused activations", { make: () => new SplitsAndFused(), features: [4, 4, 2], dtype: "float32", kernels: ["FusedDepthwiseConv2D", "SplitV", "Unpack", "StridedSlice", "_FusedMatMul"] }],
    ["embedding", { make: () => new Embedding(), features: [7], dtype: "int32", kernels: ["GatherV2", "Mean"] }],
    ["transposed convolutions", { make: () => new TransposedConvs(), features: [4, 4, 3], dtype: "float32", kernels: ["Conv2DBackpropInput"], ortLacks: { float64: "ONNX Runtime has no double ConvTranspose" } }],
    ["resizes", { make: () => new Resizes(), features: [5, 7, 3], dtype: "float32", kernels: ["ResizeBilinear", "ResizeNearestNeighbor"], ortLacks: { float64: "ONNX Runtime has no double Resize" } }],
    ["indexing ops", { make: () => new IndexingOps(), features: [6], dtype: "float32", kernels: ["Cumsum", "Mod", "OneHot", "MirrorPad"], unsupported: { wasm: "tfjs-wasm's OneHot writes out of bounds for negative ids, so the model's own forward goes wrong there" } }],
  ];
}

/** A batch of inputs from a fixed seed: values in [-1, 1), or ids in [0, 10). */
export function kernelModelInput(entry: KernelModel, batch: number, seed: number): tf.Tensor {
  const shape = [batch, ...entry.features];
  const size = shape.reduce((a, b) => a * b, 1);
  const g = new Generator(seed);
  if (entry.dtype === "int32") return tf.tensor(Array.from(g.uniformArray(size, 0, 10), Math.floor), shape, "int32");
  return tf.tensor(Array.from(g.uniformArray(size, -1, 1)), shape);
}
