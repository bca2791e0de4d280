/**
 * Each layer op's forward + backward against tfjs autodiff of the same expression (issue 11,
 * item 7: "every op no slower than tfjs autodiff of the same expression"), on cpu and wasm.
 * Times tf.grad(x ↦ Σ op(x)·u) over a [batch, features] input (the pooling ops: the same numbers
 * as [N, 8, 16, 16] images, loss Σ y²); median of --reps runs after warm-up, the two sides' runs
 * interleaved in alternating order. Time is this process's CPU time (process.cpuUsage), not wall
 * time: on a shared machine the cores others' processes take are not counted.
 *
 *   node --import tsx test/bench/layer_ops.ts [--batch 256] [--features 128] [--reps 30] [--backends cpu,wasm] [--only relu,maxPool2d]
 *
 * --only keeps the ops whose name starts with one of its comma-separated words.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import * as F from "../../lib/nn/functional";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const batch = Number(arg("batch", "256"));
const features = Number(arg("features", "128"));
const reps = Number(arg("reps", "30"));
const backends = arg("backends", "cpu,wasm").split(",");
const only = arg("only", "").split(",").filter((w) => w !== "");

type Op = (x: tf.Tensor) => tf.Tensor;
const SQRT1_2 = Math.SQRT1_2;

function cases(target: tf.Tensor, probs: tf.Tensor, y: tf.Tensor, w: tf.Tensor, b: tf.Tensor): [string, Op, Op][] {
  // The one-hot is built inside the expression, as crossEntropy and nllLoss build their mask each call.
  const onehot = () => tf.oneHot(target as tf.Tensor1D, features);
  return [
    ["relu", F.relu, tf.relu],
    ["leakyRelu(0.1)", (x) => F.leakyRelu(x, 0.1), (x) => tf.leakyRelu(x, 0.1)],
    ["sigmoid", F.sigmoid, tf.sigmoid],
    ["tanh", F.tanh, tf.tanh],
    ["gelu", (x) => F.gelu(x), (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, SQRT1_2))))],
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
    ...(batch * features % 2048 === 0 ? poolingCases() : []),
  ];
}

/** NCHW pooling, against tfjs's NHWC pooling between the transposes a user of NCHW needs. */
function poolingCases(): [string, Op, Op][] {
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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median ms of each op's step, the steps run in turn within each round. */
function timeBoth(ops: [Op, Op], x: tf.Tensor, u: tf.Tensor): [number, number] {
  const steps = ops.map((op) => () => tf.tidy(() => {
    const g = tf.grad((a: tf.Tensor) => { const out = op(a); return out.rank === 0 ? out : tf.sum(tf.mul(out, u)); })(x);
    g.dataSync();
  }));
  for (let i = 0; i < 5; i++) steps.forEach((step) => step());
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < reps; i++) {
    for (const k of i % 2 === 0 ? [0, 1] : [1, 0]) {
      const start = process.cpuUsage();
      steps[k]!();
      const used = process.cpuUsage(start);
      times[k]!.push((used.user + used.system) / 1000);
    }
  }
  return [median(times[0]), median(times[1])];
}

for (const backend of backends) {
  await tf.setBackend(backend);
  await tf.ready();
  const x = tf.randomNormal([batch, features]);
  const u = tf.randomNormal([batch, features]);
  const target = tf.randomUniform([batch], 0, features, "int32");
  const probs = tf.softmax(tf.randomNormal([batch, features]));
  const y = tf.randomUniform([batch, features]);
  const [w, b] = [tf.randomNormal([features]), tf.randomNormal([features])];
  console.log(`\n${backend}, [${batch}, ${features}], forward + backward, median of ${reps} (ms of CPU time)`);
  console.log(`${"op".padEnd(22)}${"gradlab".padStart(10)}${"autodiff".padStart(10)}${"ratio".padStart(8)}`);
  for (const [name, ours, theirs] of cases(target, probs, y, w, b)) {
    if (only.length > 0 && !only.some((w) => name.startsWith(w))) continue;
    const [a, t] = timeBoth([ours, theirs], x, u);
    console.log(`${name.padEnd(22)}${a.toFixed(3).padStart(10)}${t.toFixed(3).padStart(10)}${(a / t).toFixed(2).padStart(8)}`);
  }
  tf.dispose([x, u, target, probs, y, w, b]);
}
