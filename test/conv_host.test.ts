/**
 * conv2d's host path (lib/host/conv_host.ts: im2col + products in NCHW) against the tfjs-kernel
 * path it replaces on cpu and wasm (setHostKernels(false)): on the WebAssembly engine (the batch in
 * one module call, in runs of one image, and with im2col and products where its direct kernels
 * would run) and the JavaScript fallback (forward's columns kept
 * for backward, and recomputed there); output and the three gradients over stride, padding
 * (symmetric, "same", arbitrary asymmetric), dilation with stride, groups, 1×1 kernels, batch 1
 * and non-square shapes. Also: backward falls back to the tfjs path when host kernels are turned off
 * after forward, dX is skipped for data, an engine without WebAssembly SIMD runs the JavaScript
 * loops on cpu and tfjs's kernels on wasm, runs of images give the one-call results bit for bit,
 * and both engines sum the bias gradient alike.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { backward } from "../lib/autograd/backward";
import { useJsConvEngine } from "../lib/host/conv_engine";
import { SAVED_COLUMNS_MAX_FLOATS, setSavedColumnsMax } from "../lib/host/conv_host";
import { DIRECT_MAX_TAPS, RUN_FLOATS, setDirectMaxTaps, setRunFloats } from "../lib/host/gemm/conv_module";
import { gemmAvailable } from "../lib/host/gemm/sgemm";
import { setHostKernels } from "../lib/host/host_tensors";
import { jsColumns } from "../lib/host/im2col/im2col_js";
import { Parameter } from "../lib/nn/parameter";
import { Conv2dF, conv2dPads, type Conv2dOptions } from "../lib/ops/conv2d";
import type { Pads, Pair } from "../lib/ops/window";
import { Generator } from "../lib/random";
import { describeEachBackend } from "./support/backends";
import { closeTo } from "./support/conv_pool_reference";

after(() => {
  setHostKernels(true);
  useJsConvEngine(false);
});

interface Config {
  label: string;
  input: number[];
  weight: number[];
  bias: boolean;
  /** conv2d's options, or explicit [top, left, bottom, right] pads as ONNX import passes them. */
  options: Conv2dOptions & { pads?: Pads };
}

const CONFIGS: Config[] = [
  { label: "LeNet's first conv, 5×5 padding 2", input: [2, 1, 28, 28], weight: [6, 1, 5, 5], bias: true, options: { padding: 2 } },
  { label: "LeNet's second conv, 5×5", input: [3, 6, 14, 14], weight: [16, 6, 5, 5], bias: true, options: {} },
  { label: "3×3 padding 1, non-square", input: [2, 3, 7, 6], weight: [4, 3, 3, 3], bias: true, options: { padding: 1 } },
  { label: "stride 2, padding 1", input: [2, 3, 9, 8], weight: [5, 3, 3, 3], bias: true, options: { stride: 2, padding: 1 } },
  { label: "stride (2, 3), padding (1, 0), kernel 3×2", input: [1, 2, 8, 11], weight: [3, 2, 3, 2], bias: false, options: { stride: [2, 3], padding: [1, 0] } },
  { label: '"same", even kernel 2×4 (asymmetric pads)', input: [2, 2, 6, 5], weight: [3, 2, 2, 4], bias: true, options: { padding: "same" } },
  { label: '"same", dilation 2, kernel 3×2', input: [1, 3, 7, 7], weight: [2, 3, 3, 2], bias: true, options: { padding: "same", dilation: 2 } },
  { label: "explicit pads [0, 2, 1, 0]", input: [2, 2, 5, 6], weight: [3, 2, 3, 3], bias: true, options: { pads: [0, 2, 1, 0] } },
  { label: "explicit pads [3, 0, 0, 1], stride 2", input: [1, 2, 6, 7], weight: [2, 2, 2, 3], bias: false, options: { pads: [3, 0, 0, 1], stride: 2 } },
  { label: "dilation 2, padding 2", input: [1, 2, 9, 9], weight: [2, 2, 3, 3], bias: true, options: { dilation: 2, padding: 2 } },
  { label: "dilation (2, 3) with stride 2, padding (2, 1)", input: [2, 2, 11, 12], weight: [3, 2, 3, 2], bias: true, options: { dilation: [2, 3], stride: 2, padding: [2, 1] } },
  { label: "groups 2, padding 1", input: [2, 4, 6, 6], weight: [6, 2, 3, 3], bias: true, options: { groups: 2, padding: 1 } },
  { label: "depthwise (groups = channels) ×2, stride 2", input: [1, 4, 7, 7], weight: [8, 1, 3, 3], bias: true, options: { groups: 4, stride: 2 } },
  { label: "groups 3, stride 2, dilation 2, padding 2, no bias", input: [2, 6, 9, 8], weight: [3, 2, 3, 3], bias: false, options: { groups: 3, stride: 2, dilation: 2, padding: 2 } },
  { label: "1×1 (the image is its own column matrix)", input: [2, 5, 4, 6], weight: [3, 5, 1, 1], bias: true, options: {} },
  { label: "1×1, groups 2", input: [1, 4, 3, 3], weight: [6, 2, 1, 1], bias: true, options: { groups: 2 } },
  { label: "1×1, stride 2", input: [2, 3, 5, 5], weight: [2, 3, 1, 1], bias: true, options: { stride: 2 } },
  { label: "1×1, padding 1", input: [1, 2, 3, 3], weight: [2, 2, 1, 1], bias: false, options: { padding: 1 } },
  { label: "batch 1, kernel = input", input: [1, 3, 5, 4], weight: [2, 3, 5, 4], bias: true, options: {} },
  { label: "stride 4 > kernel 2", input: [1, 1, 9, 9], weight: [2, 1, 2, 2], bias: true, options: { stride: 4 } },
  { label: "padding 3 > kernel 2 (rows of pure padding)", input: [1, 1, 4, 4], weight: [1, 1, 2, 2], bias: true, options: { padding: 3 } },
  { label: "16 channels, 3×3, stride (1, 2)", input: [2, 16, 8, 9], weight: [8, 16, 3, 3], bias: true, options: { stride: [1, 2], padding: 1 } },
  // Rows of a multiple of 4 output pixels, where dW's direct kernel runs too; partial blocks of 4 output channels, odd tap counts.
  { label: "rows of 8: stride (2, 1), padding 1, dilation (1, 2)", input: [2, 3, 9, 8], weight: [4, 3, 3, 2], bias: true, options: { stride: [2, 1], padding: 1, dilation: [1, 2] } },
  { label: "rows of 8: groups 2 of 3 output channels", input: [2, 4, 6, 10], weight: [6, 2, 3, 3], bias: true, options: { groups: 2 } },
  { label: "rows of 8: 5 output channels, 9 taps, padding 1", input: [3, 1, 6, 8], weight: [5, 1, 3, 3], bias: false, options: { padding: 1 } },
  { label: "rows of 4: explicit pads [1, 0, 0, 2], 7 output channels", input: [2, 2, 5, 4], weight: [7, 2, 2, 3], bias: true, options: { pads: [1, 0, 0, 2] } },
  { label: "rows of 3 (under one chunk), padding 1", input: [2, 2, 5, 3], weight: [3, 2, 3, 3], bias: true, options: { padding: 1 } },
];

/** The op's arguments for a config: conv2d's reading of the options, or the explicit pads. */
function opArgs(c: Config): [Pair, Pads, Pair, number] {
  const pair = (v: number | Pair | undefined): Pair => (v === undefined ? [1, 1] : typeof v === "number" ? [v, v] : v);
  const stride = pair(c.options.stride);
  const dilation = pair(c.options.dilation);
  const pads = c.options.pads ?? conv2dPads("conv2d", c.options.padding ?? 0, [c.weight[2]!, c.weight[3]!], stride, dilation);
  return [stride, pads, dilation, c.options.groups ?? 1];
}

function seeded(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(new Generator(seed).uniformArray(shape.reduce((a, b) => a * b, 1), -1, 1), shape);
}

/** Output and the gradients of input, weight (and bias) for sum(output · dy), on the current path. */
function run(c: Config): number[][] {
  return tf.tidy(() => {
    const inputs = [seeded(c.input, 1), seeded(c.weight, 2), ...(c.bias ? [seeded([c.weight[0]!], 3)] : [])];
    const op = (x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor) => Conv2dF.apply(x as tf.Tensor4D, w as tf.Tensor4D, (b as tf.Tensor1D) ?? false, ...opArgs(c));
    const y = op(...(inputs as [tf.Tensor, tf.Tensor, tf.Tensor?]));
    const dy = seeded(y.shape, 4);
    const grads = tf.grads((...xs: tf.Tensor[]) => op(...(xs as [tf.Tensor, tf.Tensor, tf.Tensor?])))(inputs, dy);
    return [y, ...grads].map((t) => Array.from(t.dataSync()));
  });
}

/**
 * The host path's variants: which engine; whether the JavaScript one keeps forward's columns for
 * backward; the WebAssembly one's batch in runs of one image, and with its direct kernels off.
 */
const ENGINES = ["WebAssembly", "WebAssembly, one image per module call", "WebAssembly, im2col and products only", "JavaScript", "JavaScript, columns recomputed in backward"] as const;
type Engine = (typeof ENGINES)[number] | "tfjs kernels";

function onPath(engine: Engine, body: () => number[][]): number[][] {
  setHostKernels(engine !== "tfjs kernels");
  useJsConvEngine(engine.startsWith("JavaScript"));
  const limit = setSavedColumnsMax(engine.includes("recomputed") ? 0 : SAVED_COLUMNS_MAX_FLOATS);
  const runLimit = setRunFloats(engine.includes("one image") ? 1 : RUN_FLOATS);
  const taps = setDirectMaxTaps(engine.includes("products only") ? 0 : DIRECT_MAX_TAPS);
  try {
    return body();
  } finally {
    setHostKernels(true);
    useJsConvEngine(false);
    setSavedColumnsMax(limit);
    setRunFloats(runLimit);
    setDirectMaxTaps(taps);
  }
}

const NAMES = ["output", "gradient of input", "gradient of weight", "gradient of bias"];

describeEachBackend("conv2d host path against the tfjs kernels", () => {
  for (const engine of ENGINES) {
    for (const c of CONFIGS) {
      it(`${engine} engine: ${c.label}, input ${JSON.stringify(c.input)}, weight ${JSON.stringify(c.weight)}${c.bias ? "" : ", no bias"}`, () => {
        const host = onPath(engine, () => run(c));
        const kernels = onPath("tfjs kernels", () => run(c));
        assert.equal(host.length, kernels.length);
        kernels.forEach((expected, i) => closeTo(host[i]!, expected, NAMES[i]!));
      });
    }
  }

  it("backward takes the tfjs path when host kernels are turned off after a host forward, with the same gradients", () => {
    const c = CONFIGS.find((k) => k.label.startsWith("groups 3"))!;
    const expected = onPath("tfjs kernels", () => run(c));
    const got = tf.tidy(() => {
      const op = (x: tf.Tensor, w: tf.Tensor) => Conv2dF.apply(x as tf.Tensor4D, w as tf.Tensor4D, false, ...opArgs(c));
      const inputs = [seeded(c.input, 1), seeded(c.weight, 2)];
      const dy = seeded(op(inputs[0]!, inputs[1]!).shape, 4);
      const grads = tf.grads((x: tf.Tensor, w: tf.Tensor) => {
        const y = op(x, w);
        setHostKernels(false); // forward ran on the host; backward finds host kernels off
        return y;
      })(inputs, dy);
      setHostKernels(true);
      return grads.map((t) => Array.from(t.dataSync()));
    });
    closeTo(got[0]!, expected[1]!, "gradient of input");
    closeTo(got[1]!, expected[2]!, "gradient of weight");
  });

  it("skips dX (no col2im) when the input is data, under backward()", () => {
    const x = seeded([2, 3, 8, 8], 1);
    const w = Parameter.adopt(seeded([4, 3, 3, 3], 2));
    const b = Parameter.adopt(seeded([4], 3));
    const col2im = jsColumns.col2im;
    let calls = 0;
    jsColumns.col2im = (...args) => {
      calls++;
      col2im(...args);
    };
    useJsConvEngine(true);
    try {
      backward(() => tf.sum(tf.square(Conv2dF.apply(x as tf.Tensor4D, w.value as tf.Tensor4D, b.value as tf.Tensor1D, [1, 1], [1, 1, 1, 1], [1, 1], 1))), [w, b]).dispose();
      assert.equal(calls, 0, "col2im ran: dX was computed for data");
      assert.ok(w.grad !== null && b.grad !== null);
    } finally {
      jsColumns.col2im = col2im;
      useJsConvEngine(false);
      w.clearGrad();
      b.clearGrad();
      tf.dispose([x, w.value, b.value]);
    }
  });
});

describe("conv2d's engine where WebAssembly SIMD is missing", () => {
  it("runs on the JavaScript loops on cpu, and leaves wasm to tfjs's kernels, without SIMD or synchronous compilation", () => {
    // A fresh process per engine: the modules are instantiated once per process.
    const engines = {
      "no SIMD": "WebAssembly.validate = () => false;",
      "no synchronous compilation": "WebAssembly.Module = function () { throw new RangeError('WebAssembly.Compile is disallowed on the main thread'); };",
    };
    const lib = (path: string) => JSON.stringify(fileURLToPath(new URL(`../lib/${path}`, import.meta.url)));
    for (const [engine, setup] of Object.entries(engines)) {
      const script = `${setup}
        const tf = await import("@tensorflow/tfjs");
        const { convEngine, hostConvPays } = await import(${lib("host/conv_engine.ts")});
        const { setHostKernels } = await import(${lib("host/host_tensors.ts")});
        const { conv2d } = await import(${lib("ops/conv2d.ts")});
        await tf.setBackend("cpu");
        const x = tf.randomNormal([2, 3, 7, 6], 0, 1, "float32", 1), w = tf.randomNormal([4, 3, 3, 2], 0, 1, "float32", 2);
        const run = () => tf.grads((a, b) => conv2d(a, b, null, { padding: 1, stride: [2, 1] }))([x, w]).map((g) => Array.from(g.dataSync()));
        const host = run();
        setHostKernels(false);
        const kernels = run();
        const diff = Math.max(...host.flatMap((g, i) => g.map((v, j) => Math.abs(v - kernels[i][j]))));
        console.log(JSON.stringify({ engine: convEngine(), cpu: hostConvPays("cpu"), wasm: hostConvPays("wasm"), diff }));`;
      const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", cwd: fileURLToPath(new URL("..", import.meta.url)) });
      assert.equal(child.status, 0, `${engine}: ${child.stderr}`);
      const r = JSON.parse(child.stdout.trim().split("\n").pop()!) as { engine: string; cpu: boolean; wasm: boolean; diff: number };
      assert.deepEqual({ engine: r.engine, cpu: r.cpu, wasm: r.wasm }, { engine: "js", cpu: true, wasm: false }, engine);
      assert.ok(r.diff < 1e-4, `${engine}: the JavaScript loops' gradients differ from tfjs's kernels by ${r.diff}`);
    }
  });
});

describe("conv2d on the WebAssembly engine: a batch in runs of images", { skip: gemmAvailable() ? false : "no WebAssembly SIMD here" }, () => {
  it("gives the same output and gradients, bit for bit, one image per module call as in one call", () => {
    for (const c of CONFIGS.filter((k) => k.input[0]! > 1)) {
      const whole = onPath("WebAssembly", () => run(c));
      const runs = onPath("WebAssembly, one image per module call", () => run(c));
      whole.forEach((expected, i) => assert.deepEqual(runs[i], expected, `${NAMES[i]}, ${c.label}`));
    }
  });

  it("the direct kernels give ∞ and NaN where im2col and products do, for non-finite inputs", () => {
    for (const c of CONFIGS.filter((k) => k.label.startsWith("rows of") || k.label.startsWith("LeNet"))) {
      const results = ["WebAssembly", "WebAssembly, im2col and products only"].map((engine) => onPath(engine as Engine, () => tf.tidy(() => {
        const values = new Generator(1).uniformArray(c.input.reduce((a, b) => a * b, 1), -1, 1);
        values[3] = Number.POSITIVE_INFINITY;
        values[values.length - 2] = Number.NaN;
        values[values.length >> 1] = Number.NEGATIVE_INFINITY;
        const x = tf.tensor4d(values, c.input as [number, number, number, number]);
        const w = seeded(c.weight, 2) as tf.Tensor4D;
        const op = (a: tf.Tensor, b: tf.Tensor) => Conv2dF.apply(a as tf.Tensor4D, b as tf.Tensor4D, false, ...opArgs(c));
        const dy = seeded(op(x, w).shape, 4);
        return [op(x, w), ...tf.grads(op)([x, w], dy)].map((t) => Array.from(t.dataSync()));
      })));
      results[0]!.forEach((got, i) => {
        const expected = results[1]![i]!;
        const kinds = (xs: number[]) => xs.map((v) => (Number.isFinite(v) ? "finite" : String(v)));
        assert.deepEqual(kinds(got), kinds(expected), `${NAMES[i]}: ∞ and NaN positions, ${c.label}`);
        closeTo(got.map((v) => (Number.isFinite(v) ? v : 0)), expected.map((v) => (Number.isFinite(v) ? v : 0)), `${NAMES[i]}, ${c.label}`);
      });
    }
  });

  it("sums the bias gradient as the JavaScript engine does, bit for bit", () => {
    for (const c of CONFIGS.filter((k) => k.bias)) {
      const wasm = onPath("WebAssembly", () => run(c));
      const js = onPath("JavaScript", () => run(c));
      assert.deepEqual(wasm[3], js[3], `gradient of bias, ${c.label}`);
    }
  });
});
