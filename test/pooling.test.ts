/**
 * max_pool2d and avg_pool2d against torch.nn.functional (test/fixtures/conv_pool_reference.json:
 * values and input gradients, ties included), gradcheck on 13 and 11 configurations at three
 * scales, their ONNX lowers in ONNX Runtime, bad arguments, and memory.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { gradcheck } from "../lib/gradcheck/gradcheck";
import { formatGradcheckReport } from "../lib/gradcheck/report";
import { avgPool2d, AvgPool2dF, type AvgPool2dOptions } from "../lib/ops/avg_pool2d";
import { maxPool2d, MaxPool2dF, type MaxPool2dOptions } from "../lib/ops/max_pool2d";
import type { Pads, Pair } from "../lib/ops/window";
import { Generator } from "../lib/random";
import { flatten } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";
import { assertRejects } from "./support/layer_checks";
import { camelOptions, closeTo, REFERENCE } from "./support/conv_pool_reference";
import { assertPathsAgree, onBothPaths } from "./support/host_paths";
import { ORT_SKIP, runLowered } from "./support/onnx_lower";

type Pool = "max" | "avg";
const pool = (kind: Pool, x: tf.Tensor, k: number | Pair, options: Record<string, unknown>) =>
  kind === "max" ? maxPool2d(x, k, options as MaxPool2dOptions) : avgPool2d(x, k, options as AvgPool2dOptions);

/** What the functionals pass to apply(): [kernel, stride, pads, …]. */
function applyArgs(kind: Pool, k: number | Pair, o: Record<string, unknown>): unknown[] {
  const pair = (v: unknown, d: Pair): Pair => (v === undefined || v === null ? d : typeof v === "number" ? [v, v] : (v as Pair));
  const kernel = pair(k, [1, 1]);
  const [ph, pw] = pair(o.padding, [0, 0]);
  const pads: Pads = [ph, pw, ph, pw];
  const stride = pair(o.stride, kernel);
  return kind === "max"
    ? [kernel, stride, pads, pair(o.dilation, [1, 1]), (o.ceilMode as boolean) ?? false]
    : [kernel, stride, pads, (o.ceilMode as boolean) ?? false, (o.countIncludePad as boolean) ?? true, (o.divisorOverride as number) ?? 0];
}
const applyOp = (kind: Pool, x: tf.Tensor, args: unknown[]) =>
  kind === "max" ? MaxPool2dF.apply(x as tf.Tensor4D, ...(args as [Pair, Pair, Pads, Pair, boolean])) : AvgPool2dF.apply(x as tf.Tensor4D, ...(args as [Pair, Pair, Pads, boolean, boolean, number]));

const MAX_GRADCHECK: [number[], number | Pair, MaxPool2dOptions][] = [
  [[1, 2, 4, 4], 2, {}],
  [[1, 2, 5, 5], 3, { stride: 2, padding: 1 }],
  [[1, 1, 6, 6], 3, { stride: 2, ceilMode: true }],
  [[1, 2, 5, 5], 3, { stride: 2, padding: 1, ceilMode: true }],
  [[1, 2, 4, 5], [2, 3], { stride: [1, 2] }],
  [[1, 1, 5, 5], 2, { stride: 1, dilation: [2, 1] }],
  [[1, 1, 7, 7], 3, { stride: 2, padding: 1, dilation: 2 }],
  [[1, 2, 4, 4], 2, { stride: 1 }],
  [[2, 1, 5, 5], 5, {}],
  [[1, 2, 6, 3], [3, 1], { stride: [2, 1], padding: [1, 0] }],
  [[1, 1, 7, 7], 2, { stride: 3 }],
  [[1, 1, 5, 5], 1, { stride: 2 }],
  [[1, 2, 3, 3], 1, {}],
];

const AVG_GRADCHECK: [number[], number | Pair, AvgPool2dOptions][] = [
  [[1, 2, 4, 4], 2, {}],
  [[1, 2, 5, 5], 3, { stride: 2, padding: 1 }],
  [[1, 2, 5, 5], 3, { stride: 2, padding: 1, countIncludePad: false }],
  [[1, 1, 6, 6], 3, { stride: 2, ceilMode: true }],
  [[1, 1, 6, 6], 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }],
  [[1, 2, 4, 5], [2, 3], { stride: [1, 2] }],
  [[1, 2, 6, 4], [3, 2], { stride: [2, 1], padding: [1, 0] }],
  [[2, 1, 5, 5], 5, {}],
  [[1, 2, 7, 7], 2, { stride: 3 }],
  [[1, 1, 5, 5], 3, { padding: 1, divisorOverride: 4 }],
  [[1, 1, 9, 9], 4, { stride: 3, padding: 2, ceilMode: true }],
];

/** Distinct values, a random permutation of an even grid over [−scale, scale]: no window has two maxima within gradcheck's step. */
function distinct(g: Generator, shape: number[], scale: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const keys = Array.from(g.uniformArray(n, 0, 1));
  const order = keys.map((_, i) => i).sort((a, b) => keys[a]! - keys[b]!);
  const values = new Float32Array(n);
  order.forEach((slot, rank) => (values[slot] = scale * (2 * rank / Math.max(1, n - 1) - 1)));
  return tf.tensor(values, shape);
}

for (const kind of ["max", "avg"] as const) {
  const name = kind === "max" ? "max_pool2d" : "avg_pool2d";
  const cases = kind === "max" ? REFERENCE.maxPool2d : REFERENCE.avgPool2d;
  const checks = kind === "max" ? MAX_GRADCHECK : AVG_GRADCHECK;
  describeEachBackend(name, () => {
    for (const c of cases) {
      it(`matches torch on the host and the tfjs path: input ${JSON.stringify(c.inputShape)}, kernel ${JSON.stringify(c.kernelSize)}, ${JSON.stringify(c.options)}${c.kind && c.kind !== "normal" ? ` (${c.kind})` : ""}`, () => {
        onBothPaths(() => {
          const x = tf.tensor(flatten(c.input), c.inputShape);
          const dy = tf.tensor(flatten(c.dy), c.outputShape);
          const options = camelOptions(c.options);
          const y = pool(kind, x, c.kernelSize, options);
          assert.deepEqual(y.shape, c.outputShape);
          closeTo(y.dataSync(), c.output, "output");
          const [dx] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(pool(kind, a, c.kernelSize, options), dy)))([x]);
          // Ties: the gradient lands on torch's element, the first maximum of each window, exactly.
          closeTo(dx!.dataSync(), c.grads[0]!, "gradient of input");
          tf.dispose([x, dy, y, dx!]);
        });
      });
    }

    for (const [shape, k, options] of checks) {
      it(`passes gradcheck: input ${JSON.stringify(shape)}, kernel ${JSON.stringify(k)}, ${JSON.stringify(options)}, at scales 0.1, 1 and 10`, () => {
        const g = new Generator(9);
        const args = applyArgs(kind, k, options as Record<string, unknown>);
        for (const scale of [0.1, 1, 10]) {
          const x = kind === "max" ? distinct(g, shape, scale) : tf.tensor(g.uniformArray(shape.reduce((a, b) => a * b, 1), -scale, scale), shape);
          // Max is piecewise linear: a step below the gap between values keeps every difference on one piece.
          const report = gradcheck((t: tf.Tensor) => applyOp(kind, t, args), [x], { name: `${name} ×${scale}`, ...(kind === "max" ? { eps: 5e-4 } : {}) });
          assert.ok(report.passed, formatGradcheckReport(report));
          x.dispose();
        }
      });
    }

    it("ties and zeros, on the host and the tfjs path: the gradient goes to the first of equal maxima, and a lone 0 in a window keeps its gradient", () => onBothPaths(() => {
      // All equal: every window's gradient goes to its first element (torch), not its last (tfjs-backend-wasm's MaxPoolGrad).
      const ties = tf.ones([1, 1, 4, 4]);
      const [dt] = tf.grads((a: tf.Tensor) => tf.sum(pool(kind, a, 3, { stride: 1, padding: 1 })))([ties]);
      const firstOfWindow = kind === "max" ? [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] : null;
      if (firstOfWindow) {
        // Window (i, j) spans rows i−1…i+1, cols j−1…j+1, clipped: its first element is (max(i−1, 0), max(j−1, 0)).
        const expected = new Array(16).fill(0);
        for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) expected[Math.max(i - 1, 0) * 4 + Math.max(j - 1, 0)] += 1;
        assert.deepEqual(Array.from(dt!.dataSync()), expected);
      }
      // 1×1 windows at stride 2 with a 0 in the input's last position (tfjs-backend-wasm's MaxPoolGrad drops it).
      const x = tf.tensor4d(Array.from({ length: 25 }, (_, i) => (24 - i) * 7 % 25), [1, 1, 5, 5]);
      const [dx] = tf.grads((a: tf.Tensor) => tf.sum(pool(kind, a, 1, { stride: 2 })))([x]);
      const picked = Array.from({ length: 25 }, (_, i) => (Math.floor(i / 5) % 2 === 0 && (i % 5) % 2 === 0 ? 1 : 0));
      assert.deepEqual(Array.from(dx!.dataSync()), picked);
      tf.dispose([ties, dt!, x, dx!]);
    }));

    if (kind === "max") {
      it("±∞ as torch, on the host and the tfjs path: an all −∞ window gives −∞ and its gradient to its first element; +∞ wins (torch 1.13's numbers)", () => onBothPaths(() => {
        const x = tf.tensor4d([-Infinity, -Infinity, 1, -Infinity, -Infinity, 2, Infinity, 0, 3], [1, 1, 3, 3]);
        const cases: [MaxPool2dOptions, number[], number[]][] = [
          [{ stride: 1 }, [-Infinity, 2, Infinity, 3], [1, 0, 0, 0, 0, 1, 1, 0, 1]],
          [{ stride: 1, dilation: 2 }, [Infinity], [0, 0, 0, 0, 0, 0, 1, 0, 0]],
          [{ stride: 1, padding: 1 }, [-Infinity, -Infinity, 1, 1, -Infinity, -Infinity, 2, 2, Infinity, Infinity, 3, 3, Infinity, Infinity, 3, 3], [4, 0, 2, 0, 0, 2, 4, 0, 4]],
        ];
        for (const [options, output, grad] of cases) {
          const y = maxPool2d(x, 2, options);
          assert.deepEqual(Array.from(y.dataSync()), output, JSON.stringify(options));
          const [dx] = tf.grads((a: tf.Tensor) => tf.sum(maxPool2d(a, 2, options)))([x]);
          assert.deepEqual(Array.from(dx!.dataSync()), grad, JSON.stringify(options));
          tf.dispose([y, dx!]);
        }
        x.dispose();
      }));

      // The tfjs path on wasm loses a NaN (its kernels skip it); torch's kernel, which the host path follows, takes it.
      it("a NaN is its windows' maximum and takes their gradient (torch's rule), on the host path", () => {
        const x = tf.tensor4d([1, Number.NaN, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
        const y = maxPool2d(x, 2, { stride: 1 });
        assert.deepEqual(Array.from(y.dataSync()), [Number.NaN, Number.NaN, 8, 9]);
        const dx = tf.grad((a: tf.Tensor) => tf.sum(maxPool2d(a, 2, { stride: 1 })))(x);
        assert.deepEqual(Array.from(dx.dataSync()), [0, 2, 0, 0, 0, 0, 0, 1, 1]);
        tf.dispose([x, y, dx]);
      });
    }

    it(`ONNX: lower's ${kind === "max" ? "MaxPool" : "AveragePool"} in ONNX Runtime gives gradlab's output for every reference case`, { skip: ORT_SKIP }, async () => {
      for (const c of cases) {
        const x = tf.tensor(flatten(c.input), c.inputShape);
        const args = applyArgs(kind, c.kernelSize, camelOptions(c.options));
        const ours = applyOp(kind, x, args);
        const ort = await runLowered((kind === "max" ? MaxPool2dF : AvgPool2dF) as never, [x, ...(args as never[])], ours.shape);
        assert.deepEqual(ort.shape, ours.shape, JSON.stringify(c.options));
        closeTo(ort.values, Array.from(ours.dataSync()), `ONNX Runtime vs gradlab, ${JSON.stringify(c.options)}`);
        tf.dispose([x, ours]);
      }
    });

    it("host and tfjs paths agree: values and gradients on every gradcheck configuration, with ties, and on an empty batch", () => {
      const g = new Generator(21);
      const configs = [...checks, [[0, 2, 5, 5], 3, { stride: 2, padding: 1, ceilMode: true }]] as [number[], number | Pair, Record<string, unknown>][];
      for (const [shape, k, options] of configs) {
        const n = shape.reduce((a, b) => a * b, 1);
        // Few distinct values: most windows hold ties.
        const values = Float32Array.from(g.uniformArray(n, 0, 3), Math.floor);
        for (const x of [tf.tensor(values, shape), tf.tensor(g.uniformArray(n, -1, 1), shape)]) {
          const y = tf.tidy(() => pool(kind, x, k, options));
          const dy = tf.tensor(g.uniformArray(y.size, -1, 1), y.shape);
          const run = () => [pool(kind, x, k, options), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(pool(kind, a, k, options), dy)))(x)];
          assertPathsAgree(run, { rtol: 1e-6, atol: 1e-7 }, `${name} ${JSON.stringify(shape)} kernel ${JSON.stringify(k)} ${JSON.stringify(options)}`);
          tf.dispose([x, y, dy]);
        }
      }
    });

    it("keeps the tensor count flat across 50 forward+backward calls, on each of its paths", () => onBothPaths(() => {
      const g = new Generator(4);
      const x = tf.tensor(g.uniformArray(2 * 3 * 8 * 8, -1, 1), [2, 3, 8, 8]);
      for (const options of [{}, { stride: 2, padding: 1, ceilMode: true }]) {
        const step = () => tf.tidy(() => tf.grads((a: tf.Tensor) => tf.sum(tf.square(pool(kind, a, 3, options))))([x]));
        tf.dispose(step());
        const before = tf.memory().numTensors;
        for (let i = 0; i < 50; i++) tf.dispose(step());
        assert.equal(tf.memory().numTensors, before, JSON.stringify(options));
      }
      x.dispose();
    }));

    it(`rejects bad arguments with one error naming ${name}, the argument, what was given and what was expected`, () => {
      const x = tf.zeros([1, 2, 5, 5]);
      const cases: [() => unknown, RegExp][] = [
        [() => pool(kind, tf.zeros([2, 5, 5]), 2, {}), new RegExp(`^${name}: input must be 4-D \\[batch, channels, height, width\\], got shape \\[2, 5, 5\\]$`)],
        [() => pool(kind, x, 0, {}), new RegExp(`^${name}: kernel_size must be an integer ≥ 1 or a pair of them, got 0$`)],
        [() => pool(kind, x, [2, 2.5] as Pair, {}), new RegExp(`^${name}: kernel_size must be an integer ≥ 1 or a pair of them, got \\[2, 2.5\\]$`)],
        [() => pool(kind, x, 2, { stride: -1 }), new RegExp(`^${name}: stride must be an integer ≥ 1 or a pair of them, got -1$`)],
        [() => pool(kind, x, 2, { padding: 2 }), new RegExp(`^${name}: padding \\[2, 2\\] is more than half of kernel_size \\[2, 2\\]; expected padding ≤ kernel_size / 2 \\(as PyTorch\\)$`)],
        [() => pool(kind, x, 2, { padding: -1 }), new RegExp(`^${name}: padding must be an integer ≥ 0 or a pair of them, got -1$`)],
        [() => pool(kind, x, 2, { ceilMode: 1 }), new RegExp(`^${name}: ceil_mode must be a boolean, got 1$`)],
        [() => pool(kind, x, 6, {}), new RegExp(`^${name}: input 5×5 with kernel_size \\[6, 6\\], dilation \\[1, 1\\] and padding \\[0, 0\\] gives an output of 0×0; expected at least 1×1`)],
        [() => pool(kind, tf.zeros([1, 2, 5, 5], "int32"), 2, {}), new RegExp(`^${name}: input must be float32, got int32$`)],
        ...(kind === "max"
          ? ([
              [() => pool(kind, x, 2, { dilation: 0 }), /^max_pool2d: dilation must be an integer ≥ 1 or a pair of them, got 0$/],
              [() => pool(kind, x, 3, { dilation: 3 }), /^max_pool2d: input 5×5 with kernel_size \[3, 3\], dilation \[3, 3\] and padding \[0, 0\] gives an output of 0×0; expected at least 1×1/],
            ] as [() => unknown, RegExp][])
          : ([[() => pool(kind, x, 2, { divisorOverride: 0 }), /^avg_pool2d: divisor_override must be an integer ≥ 1 or null, got 0$/]] as [() => unknown, RegExp][])),
      ];
      // tidy frees the literal arguments built inside each call; a rejected call leaves nothing else behind.
      for (const [call, message] of cases) assertRejects(() => tf.tidy(() => void call()), Error, message);
      x.dispose();
    });
  });
}
