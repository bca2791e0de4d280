/**
 * Benchmark of conv2d, max_pool2d, avg_pool2d, flatten and a LeNet-5-size net, forward + backward
 * (gradients of the parameters, as a training step needs), on cpu and wasm, against tfjs's
 * autodiff of the same expression:
 *   gradlab         the ops and modules (NCHW), gradients by gradlab's backward()
 *   autodiff NCHW   tf.grads/variableGrads through tfjs ops with the same NCHW ⇄ NHWC transposes
 *                   (what a user writing it in tfjs would run to get PyTorch's layout)
 *   autodiff NHWC   the same in tfjs's native layout, no transposes: a floor, not the same expression
 * LeNet-5 size: [B, 1, 28, 28] → Conv2d(1, 6, 5, padding 2) → ReLU → MaxPool2d(2) → Conv2d(6, 16, 5)
 * → ReLU → MaxPool2d(2) → Flatten → Linear(400, 120) → ReLU → Linear(120, 84) → ReLU → Linear(84, 10),
 * loss Σ output². tfjs-backend-wasm has no Conv2DBackpropFilter kernel, so its autodiff of conv2d
 * fails: those cells say so.
 *
 *   npx tsx test/bench/conv.ts [--backends cpu,wasm] [--batch 32] [--steps 10] [--warmup 2] [--only max_pool2d,avg_pool2d]
 *
 * --only keeps the rows whose name starts with one of its comma-separated words (cpu's conv2d
 * rows take minutes).
 *
 * Each cell: warm-up steps, then timed steps (cpu and wasm compute synchronously; the gradients
 * are read back with dataSync so the step is finished); the table shows the median ms per step.
 */
import process from "node:process";
import * as tf from "@tensorflow/tfjs";
import { backward } from "../../lib/autograd/backward";
import { setBackend, type BackendChoice } from "../../lib/backend";
import { Conv2d } from "../../lib/nn/conv";
import { Flatten } from "../../lib/nn/flatten";
import { Linear } from "../../lib/nn/linear";
import { Module } from "../../lib/nn/module";
import { MaxPool2d } from "../../lib/nn/pooling";
import { avgPool2d } from "../../lib/ops/avg_pool2d";
import { conv2d } from "../../lib/ops/conv2d";
import { flatten } from "../../lib/ops/flatten";
import { maxPool2d } from "../../lib/ops/max_pool2d";
import { Generator } from "../../lib/random";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
};
const BACKENDS = arg("backends", "cpu,wasm").split(",") as BackendChoice[];
const BATCH = Number(arg("batch", "32"));
const STEPS = Number(arg("steps", "10"));
const WARMUP = Number(arg("warmup", "2"));
const ONLY = arg("only", "").split(",").filter((w) => w !== "");

class LeNet extends Module {
  readonly conv1 = new Conv2d(1, 6, 5, { padding: 2, generator: new Generator(1) });
  readonly pool1 = new MaxPool2d(2);
  readonly conv2 = new Conv2d(6, 16, 5, { generator: new Generator(2) });
  readonly pool2 = new MaxPool2d(2);
  readonly flatten = new Flatten();
  readonly fc1 = new Linear(400, 120, { generator: new Generator(3) });
  readonly fc2 = new Linear(120, 84, { generator: new Generator(4) });
  readonly fc3 = new Linear(84, 10, { generator: new Generator(5) });
  forward(x: tf.Tensor): tf.Tensor {
    let h = this.pool1.forward(tf.relu(this.conv1.forward(x)));
    h = this.pool2.forward(tf.relu(this.conv2.forward(h)));
    const f = this.flatten.forward(h) as tf.Tensor2D;
    return this.fc3.forward(tf.relu(this.fc2.forward(tf.relu(this.fc1.forward(f)))));
  }
}

/**
 * The same net in tfjs ops: NCHW at the boundary (transposes, the weights as stored) on the net's
 * own variables, or NHWC throughout on kernel variables kept in tfjs's HWIO layout.
 */
function lenetAutodiff(net: LeNet, layout: "NCHW" | "NHWC") {
  const hwio = (w: tf.Tensor) => tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D;
  const k1 = layout === "NHWC" ? tf.variable(hwio(net.conv1.weight.value), true, `hwio1_${Math.random()}`) : null;
  const k2 = layout === "NHWC" ? tf.variable(hwio(net.conv2.weight.value), true, `hwio2_${Math.random()}`) : null;
  const linear = (x: tf.Tensor2D, l: Linear) => tf.add(tf.matMul(x, l.weight.value, false, true), l.bias.value) as tf.Tensor2D;
  const f = (x: tf.Tensor4D) => {
    let h = layout === "NCHW" ? (tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D) : x;
    h = tf.maxPool(tf.relu(tf.add(tf.conv2d(h, k1 ?? hwio(net.conv1.weight.value), 1, 2), net.conv1.bias!.value)) as tf.Tensor4D, 2, 2, "valid");
    h = tf.maxPool(tf.relu(tf.add(tf.conv2d(h, k2 ?? hwio(net.conv2.weight.value), 1, "valid"), net.conv2.bias!.value)) as tf.Tensor4D, 2, 2, "valid");
    if (layout === "NCHW") h = tf.transpose(h, [0, 3, 1, 2]);
    const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
    return linear(tf.relu(linear(tf.relu(linear(flat, net.fc1)), net.fc2)) as tf.Tensor2D, net.fc3);
  };
  const variables = net.parameters().map((p) => p.value);
  // conv1.weight and conv2.weight are parameters 0 and 2.
  if (k1 && k2) [variables[0], variables[2]] = [k1, k2];
  return { f, variables };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Median ms of each step function, run in turn within each round (so a busy machine slows all
 * alike); a step that throws is reported with its error and not run again.
 */
function timeAll(steps: (() => tf.Tensor[])[]): (number | string)[] {
  const ms: number[][] = steps.map(() => []);
  const failed: (string | null)[] = steps.map(() => null);
  for (let round = 0; round < WARMUP + STEPS; round++) {
    steps.forEach((step, i) => {
      if (failed[i] !== null) return;
      try {
        const t0 = performance.now();
        const out = step();
        for (const t of out) t.dataSync();
        const dt = performance.now() - t0;
        tf.dispose(out);
        if (round >= WARMUP) ms[i]!.push(dt);
      } catch (error) {
        failed[i] = `fails: ${(error as Error).message.split("\n")[0]!.slice(0, 70)}`;
      }
    });
  }
  return ms.map((m, i) => failed[i] ?? median(m));
}

type Cell = number | string;
const rows: { backend: string; what: string; gradlab: Cell; nchw: Cell; nhwc: Cell }[] = [];
const row = (backend: string, what: string, gradlab: () => tf.Tensor[], nchw: () => tf.Tensor[], nhwc: (() => tf.Tensor[]) | null) => {
  if (ONLY.length > 0 && !ONLY.some((w) => what.startsWith(w))) return;
  const [a, b, c] = timeAll(nhwc ? [gradlab, nchw, nhwc] : [gradlab, nchw]);
  rows.push({ backend, what, gradlab: a!, nchw: b!, nhwc: c ?? "-" });
};

for (const backend of BACKENDS) {
  await setBackend(backend);
  const g = new Generator(7);
  const rand = (shape: number[]) => tf.tensor(g.uniformArray(shape.reduce((a, b) => a * b, 1), -1, 1), shape);
  const toNHWC = (t: tf.Tensor) => tf.transpose(t, [0, 2, 3, 1]) as tf.Tensor4D;
  const toNCHW = (t: tf.Tensor) => tf.transpose(t, [0, 3, 1, 2]) as tf.Tensor4D;

  // One op at a time, LeNet's second conv and first pool: gradients of x (and w, b).
  const x2 = rand([BATCH, 6, 14, 14]);
  const w2 = rand([16, 6, 5, 5]);
  const b2 = rand([16]);
  const x2h = toNHWC(x2);
  const w2h = tf.transpose(w2, [2, 3, 1, 0]) as tf.Tensor4D;
  const loss = (y: tf.Tensor) => tf.sum(tf.square(y)) as tf.Scalar;
  row(
    backend,
    `conv2d [${BATCH},6,14,14] * [16,6,5,5]`,
    () => tf.grads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => loss(conv2d(x, w, b)))([x2, w2, b2]),
    () => tf.grads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => loss(toNCHW(tf.add(tf.conv2d(toNHWC(x), tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D, 1, "valid"), b))))([x2, w2, b2]),
    () => tf.grads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => loss(tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "valid"), b)))([x2h, w2h, b2]),
  );
  const x1 = rand([BATCH, 6, 28, 28]);
  const x1h = toNHWC(x1);
  const pad1: tf.backend_util.ExplicitPadding = [[0, 0], [1, 1], [1, 1], [0, 0]];
  row(
    backend,
    `max_pool2d 2 [${BATCH},6,28,28]`,
    () => tf.grads((x: tf.Tensor) => loss(maxPool2d(x, 2)))([x1]),
    () => tf.grads((x: tf.Tensor) => loss(toNCHW(tf.maxPool(toNHWC(x), 2, 2, "valid"))))([x1]),
    () => tf.grads((x: tf.Tensor) => loss(tf.maxPool(x as tf.Tensor4D, 2, 2, "valid")))([x1h]),
  );
  row(
    backend,
    `max_pool2d 3/2 pad 1 [${BATCH},6,28,28]`,
    () => tf.grads((x: tf.Tensor) => loss(maxPool2d(x, 3, { stride: 2, padding: 1 })))([x1]),
    () => tf.grads((x: tf.Tensor) => loss(toNCHW(tf.maxPool(toNHWC(x), 3, 2, pad1))))([x1]),
    () => tf.grads((x: tf.Tensor) => loss(tf.maxPool(x as tf.Tensor4D, 3, 2, pad1)))([x1h]),
  );
  row(
    backend,
    `avg_pool2d 2 [${BATCH},6,28,28]`,
    () => tf.grads((x: tf.Tensor) => loss(avgPool2d(x, 2)))([x1]),
    () => tf.grads((x: tf.Tensor) => loss(toNCHW(tf.avgPool(toNHWC(x), 2, 2, "valid"))))([x1]),
    () => tf.grads((x: tf.Tensor) => loss(tf.avgPool(x as tf.Tensor4D, 2, 2, "valid")))([x1h]),
  );
  // tfjs's AvgPoolGrad divides by the whole kernel where its forward divided by the in-input count: its autodiff is timed, not trusted.
  row(
    backend,
    `avg_pool2d 3/2 pad 1 [${BATCH},6,28,28]`,
    () => tf.grads((x: tf.Tensor) => loss(avgPool2d(x, 3, { stride: 2, padding: 1 })))([x1]),
    () => tf.grads((x: tf.Tensor) => loss(toNCHW(tf.avgPool(toNHWC(x), 3, 2, pad1))))([x1]),
    () => tf.grads((x: tf.Tensor) => loss(tf.avgPool(x as tf.Tensor4D, 3, 2, pad1)))([x1h]),
  );
  row(
    backend,
    `flatten [${BATCH},6,28,28]`,
    () => tf.grads((x: tf.Tensor) => loss(flatten(x, 1)))([x1]),
    () => tf.grads((x: tf.Tensor) => loss(tf.reshape(x, [BATCH, -1])))([x1]),
    null,
  );
  tf.dispose([x2, w2, b2, x2h, w2h, x1, x1h]);

  // The whole net: gradients of the ten parameters (NHWC: its own HWIO kernel variables).
  const net = new LeNet();
  const x = rand([BATCH, 1, 28, 28]);
  const xh = toNHWC(x);
  const nchw = lenetAutodiff(net, "NCHW");
  const nhwc = lenetAutodiff(net, "NHWC");
  const stepAutodiff = (model: ReturnType<typeof lenetAutodiff>, input: tf.Tensor) => () => {
    const { value, grads } = tf.variableGrads(() => loss(model.f(input as tf.Tensor4D)), model.variables);
    return [value, ...Object.values(grads)];
  };
  row(
    backend,
    `LeNet-5, batch ${BATCH}`,
    () => {
      backward(() => loss(net.forward(x)), net.parameters()).dispose();
      const grads = net.parameters().map((p) => p.grad!);
      for (const p of net.parameters()) p.grad = null;
      return grads;
    },
    stepAutodiff(nchw, x),
    stepAutodiff(nhwc, xh),
  );
  tf.dispose([...nhwc.variables.filter((v) => v.name.startsWith("hwio"))]);
  tf.dispose([x, xh]);
  net.dispose();
}

const show = (c: Cell) => (typeof c === "number" ? c.toFixed(2) : c);
const ratio = (a: Cell, b: Cell) => (typeof a === "number" && typeof b === "number" ? `${(a / b).toFixed(2)}×` : "-");
console.log(`median ms per forward+backward step (${STEPS} timed after ${WARMUP} warm-up), tfjs ${tf.version_core}`);
console.log("| backend | what | gradlab | autodiff NCHW | autodiff NHWC | gradlab / autodiff NCHW |");
console.log("|---|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.backend} | ${r.what} | ${show(r.gradlab)} | ${show(r.nchw)} | ${show(r.nhwc)} | ${ratio(r.gradlab, r.nchw)} |`);
