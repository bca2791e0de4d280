/**
 * What test/bench/layer_ops.ts and layer_ops_before_after.ts share: each layer op (given a
 * functional module F, this checkout's or another's) beside tfjs autodiff of the same expression,
 * the data they run on, and the timer. A step is tf.grad(x ↦ Σ op(x)·u) over a [batch, features]
 * input (the pooling ops: the same numbers as [N, 8, 16, 16] images, loss Σ y²), read back.
 * Steps are timed as this process's CPU time (process.cpuUsage), not wall time: on a shared
 * machine the cores others' processes take are not counted. Each variant runs in blocks of about
 * 20 ms, the variants' blocks interleaved in rotating order, and a variant's time is the median
 * over its blocks of the block's time per step (one step alone sits near the timer's noise).
 */
import * as tf from "@tensorflow/tfjs";
import type * as Functional from "../../lib/nn/functional";

export type Op = (x: tf.Tensor) => tf.Tensor;
type F = typeof Functional;

export interface LayerOpData {
  batch: number;
  features: number;
  x: tf.Tensor;
  u: tf.Tensor;
  target: tf.Tensor;
  probs: tf.Tensor;
  y: tf.Tensor;
  w: tf.Tensor;
  b: tf.Tensor;
}

export function layerOpData(batch: number, features: number): LayerOpData {
  return {
    batch,
    features,
    x: tf.randomNormal([batch, features]),
    u: tf.randomNormal([batch, features]),
    target: tf.randomUniform([batch], 0, features, "int32"),
    probs: tf.softmax(tf.randomNormal([batch, features])),
    y: tf.randomUniform([batch, features]),
    w: tf.randomNormal([features]),
    b: tf.randomNormal([features]),
  };
}

export function disposeData(d: LayerOpData): void {
  tf.dispose([d.x, d.u, d.target, d.probs, d.y, d.w, d.b]);
}

/** [name, the op through F, tfjs autodiff of the same expression]. */
export function layerOpCases(F: F, d: LayerOpData): [string, Op, Op][] {
  const { target, probs, y, w, b, features } = d;
  // The one-hot is built inside the expression, as crossEntropy and nllLoss build their mask each call.
  const onehot = () => tf.oneHot(target as tf.Tensor1D, features);
  return [
    ["relu", F.relu, tf.relu],
    ["leakyRelu(0.1)", (x) => F.leakyRelu(x, 0.1), (x) => tf.leakyRelu(x, 0.1)],
    ["sigmoid", F.sigmoid, tf.sigmoid],
    ["tanh", F.tanh, tf.tanh],
    ["gelu", (x) => F.gelu(x), (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))))],
    ["gelu(tanh)", (x) => F.gelu(x, { approximate: "tanh" }), (x) => tf.mul(x, tf.sigmoid(tf.mul(2 * Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))))))],
    ["softmax(-1)", (x) => F.softmax(x, -1), (x) => tf.softmax(x)],
    ["logSoftmax(-1)", (x) => F.logSoftmax(x, -1), (x) => tf.logSoftmax(x)],
    ["softmax(0)", (x) => F.softmax(x, 0), (x) => { const e = tf.exp(tf.sub(x, tf.max(x, 0, true))); return tf.div(e, tf.sum(e, 0, true)); }],
    ["layerNorm", (x) => F.layerNorm(x, [features], { weight: w, bias: b }), (x) => {
      const c = tf.sub(x, tf.mean(x, -1, true));
      return tf.add(tf.mul(tf.mul(c, tf.rsqrt(tf.add(tf.mean(tf.square(c), -1, true), 1e-5))), w), b);
    }],
    ["dropout(0.3)", (x) => F.dropout(x, 0.3), (x) => tf.mul(x, tf.mul(tf.cast(tf.greaterEqual(tf.randomUniform(x.shape), 0.3), "float32"), 1 / 0.7))],
    ["crossEntropy", (x) => F.crossEntropy(x, target), (x) => tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(x), onehot()), 1)))],
    ["crossEntropy(probs)", (x) => F.crossEntropy(x, probs), (x) => tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(x), probs), 1)))],
    ["nllLoss", (x) => F.nllLoss(x, target), (x) => tf.neg(tf.mean(tf.sum(tf.mul(x, onehot()), 1)))],
    ["bceWithLogits", (x) => F.binaryCrossEntropyWithLogits(x, y), (x) => tf.mean(tf.add(tf.sub(tf.relu(x), tf.mul(x, y)), tf.log1p(tf.exp(tf.neg(tf.abs(x))))))],
    ...((d.batch * features) % 2048 === 0 ? poolingCases(F) : []),
  ];
}

/** NCHW pooling, against tfjs's NHWC pooling between the transposes a user of NCHW needs. */
function poolingCases(F: F): [string, Op, Op][] {
  const image = (x: tf.Tensor) => tf.reshape(x, [-1, 8, 16, 16]);
  const nhwc = (f: (t: tf.Tensor4D) => tf.Tensor4D) => (x: tf.Tensor) => tf.transpose(f(tf.transpose(image(x), [0, 2, 3, 1]) as tf.Tensor4D), [0, 3, 1, 2]);
  const loss = (f: Op): Op => (x) => tf.sum(tf.square(f(x)));
  const pad1: tf.backend_util.ExplicitPadding = [[0, 0], [1, 1], [1, 1], [0, 0]];
  return [
    ["maxPool2d(2)", loss((x) => F.maxPool2d(image(x), 2)), loss(nhwc((t) => tf.maxPool(t, 2, 2, "valid")))],
    ["maxPool2d(3, 2, pad 1)", loss((x) => F.maxPool2d(image(x), 3, { stride: 2, padding: 1 })), loss(nhwc((t) => tf.maxPool(t, 3, 2, pad1)))],
    ["avgPool2d(2)", loss((x) => F.avgPool2d(image(x), 2)), loss(nhwc((t) => tf.avgPool(t, 2, 2, "valid")))],
    // tfjs's AvgPoolGrad divides by the whole kernel where its forward divided by the in-input count: timed, not trusted.
    ["avgPool2d(3, 2, pad 1)", loss((x) => F.avgPool2d(image(x), 3, { stride: 2, padding: 1 })), loss(nhwc((t) => tf.avgPool(t, 3, 2, pad1)))],
  ];
}

/** Each op's step time in ms (CPU time, median over `blocks` blocks of ≈20 ms), the ops' blocks interleaved. */
export function timeInterleaved(ops: Op[], d: LayerOpData, blocks: number): number[] {
  const steps = ops.map((op) => () => tf.tidy(() => {
    const g = tf.grad((a: tf.Tensor) => { const out = op(a); return out.rank === 0 ? out : tf.sum(tf.mul(out, d.u)); })(d.x);
    g.dataSync();
  }));
  for (let i = 0; i < 3; i++) steps.forEach((step) => step());
  const sizes = steps.map((step) => {
    const start = process.cpuUsage();
    step();
    const used = process.cpuUsage(start);
    return Math.max(1, Math.round(20_000 / Math.max(1, used.user + used.system)));
  });
  const times: number[][] = ops.map(() => []);
  for (let r = 0; r < blocks; r++) {
    for (let k = 0; k < steps.length; k++) {
      const j = (r + k) % steps.length;
      const start = process.cpuUsage();
      for (let i = 0; i < sizes[j]!; i++) steps[j]!();
      const used = process.cpuUsage(start);
      times[j]!.push((used.user + used.system) / 1000 / sizes[j]!);
    }
  }
  return times.map((t) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
}
