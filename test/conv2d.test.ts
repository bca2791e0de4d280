/**
 * conv2d against torch.nn.functional.conv2d (test/fixtures/conv_pool_reference.json: values and
 * the gradients of every input) on each of its paths (host loops on both engines, tfjs kernels),
 * gradcheck on 12 configurations at three scales, its ONNX lower in ONNX Runtime, bad arguments,
 * and memory. test/conv_host.test.ts compares the host path with the tfjs kernels directly.
 */
import assert from "node:assert/strict";
import { after, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { gradcheck } from "../lib/gradcheck/gradcheck";
import { useJsConvEngine } from "../lib/host/conv_engine";
import { setHostKernels } from "../lib/host/host_tensors";
import { formatGradcheckReport } from "../lib/gradcheck/report";
import { conv2d, conv2dPads, Conv2dF, type Conv2dOptions } from "../lib/ops/conv2d";
import type { Pair } from "../lib/ops/window";
import { Generator } from "../lib/random";
import { assertClose, flatten } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";
import { assertRejects } from "./support/layer_checks";
import { ORT_SKIP, runLowered } from "./support/onnx_lower";
import { closeTo, REFERENCE, type ConvCase } from "./support/conv_pool_reference";

const CASES = REFERENCE.conv2d as ConvCase<Conv2dOptions>[];

after(() => {
  setHostKernels(true);
  useJsConvEngine(false);
});

/** The gradcheck configurations: shapes × stride, padding, dilation, groups, with and without bias. */
const GRADCHECK: [string, number[], number[], boolean, Conv2dOptions][] = [
  ["3×3", [1, 2, 5, 5], [3, 2, 3, 3], true, {}],
  ["stride 2, padding 1", [2, 1, 6, 5], [2, 1, 3, 2], true, { stride: 2, padding: 1 }],
  ["stride (1, 2), padding (0, 1), no bias", [1, 2, 6, 6], [2, 2, 2, 2], false, { stride: [1, 2], padding: [0, 1] }],
  ["dilation 2", [1, 1, 7, 7], [2, 1, 3, 3], true, { dilation: 2, padding: 1 }],
  ["dilation (2, 1) with stride 2", [1, 2, 8, 7], [2, 2, 2, 3], true, { dilation: [2, 1], stride: 2, padding: [1, 2] }],
  ["groups 2", [1, 4, 4, 4], [4, 2, 3, 3], true, { groups: 2, padding: 1 }],
  ["depthwise ×2, stride 2", [1, 3, 5, 5], [6, 1, 3, 3], true, { groups: 3, stride: 2 }],
  ['"same", even kernel', [1, 2, 5, 6], [2, 2, 2, 3], true, { padding: "same" }],
  ["kernel = input", [1, 1, 4, 4], [1, 1, 4, 4], true, { padding: "valid" }],
  ["1×1, stride 2", [2, 2, 4, 4], [3, 2, 1, 1], true, { stride: 2 }],
  ["groups 2, stride 3, dilation 2, no bias", [1, 4, 7, 7], [2, 2, 3, 3], false, { groups: 2, stride: 3, dilation: 2, padding: 2 }],
  ["stride 3 > kernel 2", [1, 1, 7, 7], [1, 1, 2, 2], true, { stride: 3 }],
];

function random(g: Generator, shape: number[], scale: number): tf.Tensor {
  return tf.tensor(g.uniformArray(shape.reduce((a, b) => a * b, 1), -scale, scale), shape);
}

/**
 * The three ways conv2d runs on cpu and wasm: the host path (im2col + products in NCHW) on its
 * WebAssembly engine and on its JavaScript fallback, and tfjs's kernels (host kernels off).
 */
const PATHS: [string, () => () => void][] = [
  ["host path", () => () => {}],
  ["host path, JavaScript engine", () => {
    useJsConvEngine(true);
    return () => useJsConvEngine(false);
  }],
  ["tfjs kernels", () => {
    setHostKernels(false);
    return () => setHostKernels(true);
  }],
];

describeEachBackend("conv2d", () => {
  for (const [path, enter] of PATHS) for (const c of CASES) {
    it(`matches torch (${path}): input ${JSON.stringify(c.inputShape)}, weight ${JSON.stringify(c.weightShape)}${c.bias ? "" : ", no bias"}, ${JSON.stringify(c.options)}`, () => {
      const leave = enter();
      try {
        const x = tf.tensor(flatten(c.input), c.inputShape);
        const w = tf.tensor(flatten(c.weight), c.weightShape);
        const b = c.bias ? tf.tensor(flatten(c.biasValue!)) : null;
        const dy = tf.tensor(flatten(c.dy), c.outputShape);
        const y = conv2d(x, w, b, c.options);
        assert.deepEqual(y.shape, c.outputShape);
        closeTo(y.dataSync(), c.output, "output");
        const inputs = b ? [x, w, b] : [x, w];
        const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(conv2d(a[0]!, a[1]!, a[2] ?? null, c.options), dy)))(inputs);
        ["input", "weight", "bias"].slice(0, inputs.length).forEach((name, i) => {
          assert.deepEqual(grads[i]!.shape, inputs[i]!.shape, `gradient of ${name}`);
          closeTo(grads[i]!.dataSync(), c.grads[i]!, `gradient of ${name}`);
        });
        tf.dispose([x, w, dy, y, ...grads, ...(b ? [b] : [])]);
      } finally {
        leave();
      }
    });
  }

  for (const [label, xs, ws, bias, options] of GRADCHECK) {
    it(`passes gradcheck: ${label}, at scales 0.01, 1 and 100`, () => {
      const g = new Generator(7);
      const pads = conv2dPads("conv2d", options.padding ?? 0, [ws[2]!, ws[3]!], pairOf(options.stride), pairOf(options.dilation));
      const args = [pairOf(options.stride), pads, pairOf(options.dilation), options.groups ?? 1] as const;
      for (const scale of [0.01, 1, 100]) {
        const inputs = [random(g, xs, scale), random(g, ws, scale), ...(bias ? [random(g, [ws[0]!], scale)] : [])];
        const op = (x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor) => Conv2dF.apply(x as tf.Tensor4D, w as tf.Tensor4D, (b as tf.Tensor1D) ?? false, ...args);
        const report = gradcheck(op, inputs, { name: `conv2d ${label} ×${scale}` });
        assert.ok(report.passed, formatGradcheckReport(report));
        tf.dispose(inputs);
      }
    });
  }

  it("ONNX: lower's Conv in ONNX Runtime gives gradlab's output for every reference case", { skip: ORT_SKIP }, async () => {
    for (const c of CASES) {
      const x = tf.tensor4d(flatten(c.input), c.inputShape as [number, number, number, number]);
      const w = tf.tensor4d(flatten(c.weight), c.weightShape as [number, number, number, number]);
      const b = c.bias ? (tf.tensor(flatten(c.biasValue!)) as tf.Tensor1D) : false;
      const pads = conv2dPads("conv2d", c.options.padding ?? 0, [c.weightShape[2]!, c.weightShape[3]!], pairOf(c.options.stride), pairOf(c.options.dilation));
      const args = [x, w, b, pairOf(c.options.stride), pads, pairOf(c.options.dilation), c.options.groups ?? 1] as const;
      const ours = Conv2dF.apply(...args);
      const ort = await runLowered(Conv2dF as never, args, ours.shape);
      assert.deepEqual(ort.shape, ours.shape, JSON.stringify(c.options));
      closeTo(ort.values, flatten(Array.from(ours.dataSync())), `ONNX Runtime vs gradlab, ${JSON.stringify(c.options)}`);
      tf.dispose([x, w, ours, ...(b ? [b] : [])]);
    }
  });

  it("rejects bad arguments with one error naming conv2d, the argument, what was given and what was expected", () => {
    const x = tf.zeros([1, 4, 5, 5]);
    const w = tf.zeros([2, 4, 3, 3]);
    const b = tf.zeros([2]);
    const cases: [() => unknown, RegExp][] = [
      [() => conv2d(tf.zeros([4, 5, 5]), w), /^conv2d: input must be 4-D \[batch, channels, height, width\], got shape \[4, 5, 5\]$/],
      [() => conv2d(x, tf.zeros([2, 4, 3])), /^conv2d: weight must be 4-D \[batch, channels, height, width\], got shape \[2, 4, 3\]$/],
      [() => conv2d(x, tf.zeros([2, 3, 3, 3])), /^conv2d: input \[1, 4, 5, 5\] has 4 channels, but weight \[2, 3, 3, 3\] with groups 1 expects 3 \(weight.shape\[1\] × groups\)$/],
      [() => conv2d(tf.zeros([1, 5, 5, 5]), tf.zeros([2, 2, 3, 3]), null, { groups: 2 }), /^conv2d: input \[1, 5, 5, 5\] has 5 channels, but weight \[2, 2, 3, 3\] with groups 2 expects 4/],
      [() => conv2d(x, tf.zeros([3, 2, 3, 3]), null, { groups: 2 }), /^conv2d: weight \[3, 2, 3, 3\] has 3 output channels, not divisible by groups 2; expected a multiple of 2$/],
      [() => conv2d(x, w, tf.zeros([3])), /^conv2d: bias must have shape \[2\] \(weight.shape\[0\]\), got \[3\]$/],
      [() => conv2d(x, tf.zeros([2, 4, 6, 3])), /^conv2d: kernel_size 6×3 \(dilation 1×1, so 6×3\) is larger than the padded input 5×5 \(input 5×5, padding \[top, left, bottom, right\] \[0, 0, 0, 0\]\); expected a window no larger than the padded input$/],
      [() => conv2d(x, w, b, { dilation: 3 }), /^conv2d: kernel_size 3×3 \(dilation 3×3, so 7×7\) is larger than the padded input 5×5/],
      [() => conv2d(x, w, b, { stride: 0 }), /^conv2d: stride must be an integer ≥ 1 or a pair of them, got 0$/],
      [() => conv2d(x, w, b, { stride: 1.5 }), /^conv2d: stride must be an integer ≥ 1 or a pair of them, got 1.5$/],
      [() => conv2d(x, w, b, { padding: -1 }), /^conv2d: padding must be an integer ≥ 0 or a pair of them, got -1$/],
      [() => conv2d(x, w, b, { padding: [1, 2, 3] as unknown as Pair }), /^conv2d: padding must be an integer ≥ 0 or a pair of them, got \[1, 2, 3\]$/],
      [() => conv2d(x, w, b, { padding: "full" as "same" }), /^conv2d: padding must be "same", "valid", an integer ≥ 0 or a pair of them, got "full"$/],
      [() => conv2d(x, w, b, { padding: "same", stride: 2 }), /^conv2d: padding "same" needs stride 1 \(as in PyTorch\), got stride \[2, 2\]$/],
      [() => conv2d(x, w, b, { dilation: [1, 0] }), /^conv2d: dilation must be an integer ≥ 1 or a pair of them, got \[1, 0\]$/],
      [() => conv2d(x, w, b, { groups: 0 }), /^conv2d: groups must be an integer ≥ 1, got 0$/],
      [() => conv2d(tf.zeros([1, 4, 5, 5], "int32"), w), /^conv2d: input must be float32, got int32$/],
    ];
    // tidy frees the literal arguments built inside each call; a rejected call leaves nothing else behind.
    for (const [call, message] of cases) assertRejects(() => tf.tidy(() => void call()), Error, message);
    tf.dispose([x, w, b]);
  });

  it("skips dX when the input needs no gradient (ctx.needsInputGrad), and dW/dB still match the full backward", () => {
    const g = new Generator(3);
    const x = random(g, [2, 2, 6, 6], 1);
    const w = tf.variable(random(g, [3, 2, 3, 3], 1));
    const b = tf.variable(random(g, [3], 1));
    const f = () => tf.sum(tf.square(conv2d(x, w, b, { padding: 1, stride: 2 }))) as tf.Scalar;
    const { grads } = tf.variableGrads(f, [w, b]);
    const full = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.square(conv2d(xx, ww, bb, { padding: 1, stride: 2 }))))([x, w, b]);
    assertClose(grads[w.name]!.dataSync(), full[1]!.dataSync(), { atol: 1e-5 }, "dW");
    assertClose(grads[b.name]!.dataSync(), full[2]!.dataSync(), { atol: 1e-5 }, "dB");
    tf.dispose([x, w, b, ...Object.values(grads), ...full]);
  });

  for (const [path, enter] of PATHS) {
    it(`keeps the tensor count and bytes flat across 50 forward+backward calls (${path})`, () => {
      const leave = enter();
      const g = new Generator(4);
      const x = random(g, [2, 4, 8, 8], 1);
      const w = random(g, [6, 2, 3, 3], 1);
      const b = random(g, [6], 1);
      try {
        const step = () => tf.tidy(() => tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(conv2d(xx, ww, bb, { groups: 2, stride: 2, dilation: 2, padding: 1 })))([x, w, b]));
        tf.dispose(step());
        const before = tf.memory();
        for (let i = 0; i < 50; i++) tf.dispose(step());
        assert.equal(tf.memory().numTensors, before.numTensors);
        assert.equal(tf.memory().numBytes, before.numBytes);
      } finally {
        tf.dispose([x, w, b]);
        leave();
      }
    });
  }
});

function pairOf(value: number | Pair | undefined): Pair {
  return value === undefined ? [1, 1] : typeof value === "number" ? [value, value] : value;
}
