/**
 * Convolutions and pooling over 1, 2 or 3 spatial axes: Conv (groups, dilations, every auto_pad),
 * ConvTranspose, MaxPool and AveragePool (explicit pads, ceil_mode, count_include_pad),
 * GlobalAveragePool and GlobalMaxPool. ONNX lays tensors out NCHW; tfjs convolves NHWC, so inputs
 * are transposed in and out (tfjs differentiates through both), and padding is applied explicitly
 * before a "valid" tfjs call, which covers every ONNX padding with one code path.
 */
import * as tf from "@tensorflow/tfjs";
import type { Attrs } from "./attributes";
import type { ImportOp } from "./op";
import { formatDims, isFloat, OpError, Refusal, same, type Dim, type ValueInfo } from "./values";

interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Padding before and after each spatial axis. */
  begin: number[];
  end: number[];
}

const ATTRS = { auto_pad: "string", dilations: "ints", kernel_shape: "ints", pads: "ints", strides: "ints" } as const;

function spatialOf(x: ValueInfo, what = "X"): readonly Dim[] {
  if (!isFloat(x.dtype)) throw new Refusal(`element type ${x.dtype}: gradlab convolves and pools floats only`);
  const rank = x.shape!.length;
  if (rank < 3 || rank > 5) throw new Refusal(`${what} ${formatDims(x.shape)}: gradlab runs 1, 2 or 3 spatial axes (rank 3 to 5)`);
  return x.shape!.slice(2);
}

/** The window and the padding ONNX asks for (auto_pad resolved where the sizes are known). */
function windowOf(a: Attrs, spatial: readonly Dim[], kernel: number[]): Window {
  const n = spatial.length;
  if (kernel.length !== n) throw new OpError(`kernel_shape [${kernel.join(", ")}] does not match ${n} spatial axes`);
  const strides = a.ints("strides") ?? new Array(n).fill(1);
  const dilations = a.ints("dilations") ?? new Array(n).fill(1);
  if (strides.length !== n || dilations.length !== n) throw new OpError(`strides or dilations do not have ${n} entries`);
  if ([...strides, ...dilations, ...kernel].some((v) => !(v >= 1))) throw new OpError("kernel sizes, strides and dilations must be ≥ 1");
  const autoPad = a.string("auto_pad", "NOTSET");
  let begin: number[], end: number[];
  if (autoPad === "NOTSET") {
    const pads = a.ints("pads") ?? new Array(2 * n).fill(0);
    if (pads.length !== 2 * n || pads.some((p) => p < 0)) throw new OpError(`pads [${pads.join(", ")}] must be ${2 * n} non-negative entries`);
    begin = pads.slice(0, n);
    end = pads.slice(n);
  } else if (autoPad === "VALID") {
    begin = new Array(n).fill(0);
    end = new Array(n).fill(0);
  } else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    begin = [];
    end = [];
    spatial.forEach((d, i) => {
      if (typeof d !== "number") throw new UnknownSize();
      const out = Math.ceil(d / strides[i]!);
      const total = Math.max((out - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - d, 0);
      const small = Math.floor(total / 2);
      begin.push(autoPad === "SAME_UPPER" ? small : total - small);
      end.push(autoPad === "SAME_UPPER" ? total - small : small);
    });
  } else throw new OpError(`auto_pad "${autoPad}" is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
  return { kernel, strides, dilations, begin, end };
}

class UnknownSize extends Error {}

/** Output sizes of a window sliding over `spatial` (ceil_mode drops a last window that starts in the padding). */
function outSizes(spatial: readonly Dim[], w: Window, ceil: boolean): Dim[] {
  return spatial.map((d, i) => {
    if (typeof d !== "number") return null;
    const span = (w.kernel[i]! - 1) * w.dilations[i]! + 1;
    const room = d + w.begin[i]! + w.end[i]! - span;
    if (room < 0) throw new OpError(`the window (${span}) is larger than the padded input (${d + w.begin[i]! + w.end[i]!}) on spatial axis ${i}`);
    let out = (ceil ? Math.ceil(room / w.strides[i]!) : Math.floor(room / w.strides[i]!)) + 1;
    if (ceil && (out - 1) * w.strides[i]! >= d + w.begin[i]!) out--;
    return out;
  });
}

/** Every stride-th position of a channels-last [N, H, W, C] tensor (a differentiable gather per axis). */
function subsample(y: tf.Tensor, strides: number[]): tf.Tensor {
  let out = y;
  strides.forEach((s, i) => {
    if (s === 1) return;
    const size = out.shape[i + 1]!;
    out = tf.gather(out, tf.tensor1d(Array.from({ length: Math.ceil(size / s) }, (_, k) => k * s), "int32"), i + 1);
  });
  return out;
}

/** NC… → N…C, with a 1-D input given a second spatial axis of size 1 (tfjs has no 1-D pooling). */
function channelsLast(x: tf.Tensor): tf.Tensor {
  const r = x.rank;
  const y = tf.transpose(x, [0, ...[...Array(r - 2).keys()].map((i) => i + 2), 1]);
  return r === 3 ? tf.expandDims(y, 1) : y;
}

function channelsFirst(y: tf.Tensor, spatialRank: number): tf.Tensor {
  const z = spatialRank === 1 ? tf.squeeze(y, [1]) : y;
  const r = z.rank;
  return tf.transpose(z, [0, r - 1, ...[...Array(r - 2).keys()].map((i) => i + 1)]);
}

/** Padding as tf.pad wants it for a channels-last tensor (1-D inputs carry an extra axis). */
function padSpec(w: Window, extraEnd: number[] = []): [number, number][] {
  const spatial = w.begin.map((b, i) => [b, w.end[i]! + (extraEnd[i] ?? 0)] as [number, number]);
  return [[0, 0], ...(w.begin.length === 1 ? [[0, 0] as [number, number]] : []), ...spatial, [0, 0]];
}

const two = (v: number[]) => (v.length === 1 ? [1, v[0]!] : v);

function kernelOf(a: Attrs, w: ValueInfo | null, from: number): number[] {
  const k = a.ints("kernel_shape");
  if (k) return k;
  if (!w || !w.shape!.slice(from).every((d) => typeof d === "number")) throw new OpError("kernel_shape is missing and the weights' shape is not known");
  return w.shape!.slice(from) as number[];
}

function convInfer(ins: readonly (ValueInfo | null)[], a: Attrs): ValueInfo[] {
  const [x, wt, b] = ins;
  const spatial = spatialOf(x!);
  const group = a.int("group", 1);
  if (wt!.shape!.length !== x!.shape!.length) throw new OpError(`W ${formatDims(wt!.shape)} must have the rank of X ${formatDims(x!.shape)}`);
  const c = x!.shape![1]!, m = wt!.shape![0]!;
  if (typeof c === "number" && typeof wt!.shape![1] === "number") {
    same(c, (wt!.shape![1] as number) * group, () => `X has ${c} channels, but W ${formatDims(wt!.shape)} with group ${group} takes ${(wt!.shape![1] as number) * group}`);
  }
  if (typeof m === "number" && m % group !== 0) throw new OpError(`W's ${m} output channels do not divide into ${group} groups`);
  if (b) same(b.shape![0]!, m, () => `B ${formatDims(b.shape)} does not match W's ${m} output channels`);
  try {
    const w = windowOf(a, spatial, kernelOf(a, wt ?? null, 2));
    return [{ dtype: x!.dtype, shape: [x!.shape![0]!, m, ...outSizes(spatial, w, false)] }];
  } catch (error) {
    if (error instanceof UnknownSize) return [{ dtype: x!.dtype, shape: [x!.shape![0]!, m, ...spatial.map(() => null)] }];
    throw error;
  }
}

function convRun(x: tf.Tensor, wt: tf.Tensor, b: tf.Tensor | null, a: Attrs): tf.Tensor {
  const n = x.rank - 2;
  const w = windowOf(a, x.shape.slice(2), kernelOf(a, { dtype: 1, shape: wt.shape }, 2));
  const group = a.int("group", 1);
  const xs = tf.pad(channelsLast(x), padSpec(w));
  // W [M, C/g, k…] → [k…, C/g, M]
  const r = wt.rank;
  let filter = tf.transpose(wt, [...[...Array(r - 2).keys()].map((i) => i + 2), 1, 0]);
  if (n === 1) filter = tf.expandDims(filter, 0);
  const dilations = two(w.dilations);
  // tfjs takes strides or dilations, not both: dilate at stride 1, then keep every stride-th output.
  const both = dilations.some((d) => d !== 1) && w.strides.some((s) => s !== 1);
  const strides = both ? two(w.strides.map(() => 1)) : two(w.strides);
  const conv = (input: tf.Tensor, f: tf.Tensor): tf.Tensor => {
    if (n === 3) {
      if (dilations.some((d) => d !== 1)) throw new Refusal("3-D convolution with dilations is not supported (tfjs's conv3d has none)");
      return tf.conv3d(input as tf.Tensor5D, f as tf.Tensor5D, strides as [number, number, number], "valid");
    }
    const y = tf.conv2d(input as tf.Tensor4D, f as tf.Tensor4D, strides as [number, number], "valid", "NHWC", dilations as [number, number]);
    return both ? subsample(y, two(w.strides)) : y;
  };
  let y: tf.Tensor;
  const c = x.shape[1]!, m = wt.shape[0]!;
  if (group === 1) y = conv(xs, filter);
  else if (group === c && n <= 2 && strides[0] === strides[1] && !both) {
    // Depthwise: W [C·k, 1, …] as tfjs's [kh, kw, C, k]; output channel c·k + j in both.
    const f = tf.reshape(filter, [...filter.shape.slice(0, 2), c, m / c]);
    y = tf.depthwiseConv2d(xs as tf.Tensor4D, f as tf.Tensor4D, strides as [number, number], "valid", "NHWC", dilations as [number, number]);
  } else {
    const inputs = tf.split(xs, group, xs.rank - 1);
    const filters = tf.split(filter, group, filter.rank - 1);
    y = tf.concat(inputs.map((input, g) => conv(input, filters[g]!)), xs.rank - 1);
  }
  if (b) y = tf.add(y, b);
  return channelsFirst(y, n);
}

function convTransposeInfer(ins: readonly (ValueInfo | null)[], a: Attrs): ValueInfo[] {
  const [x, wt, b] = ins;
  const spatial = spatialOf(x!);
  const group = a.int("group", 1);
  const m = typeof wt!.shape![1] === "number" ? (wt!.shape![1] as number) * group : null;
  same(x!.shape![1]!, wt!.shape![0]!, () => `X has ${x!.shape![1]} channels, W ${formatDims(wt!.shape)} takes ${wt!.shape![0]}`);
  if (b) same(b.shape![0]!, m, () => `B ${formatDims(b.shape)} does not match the ${m} output channels`);
  const t = transposeWindow(a, spatial, kernelOf(a, wt ?? null, 2));
  return [{ dtype: x!.dtype, shape: [x!.shape![0]!, m, ...(t ? t.out : spatial.map(() => null))] }];
}

/** ConvTranspose's output sizes and the crop of the full ("valid") transposed convolution. */
function transposeWindow(a: Attrs, spatial: readonly Dim[], kernel: number[]): { out: number[]; begin: number[]; strides: number[] } | null {
  const n = spatial.length;
  if (!spatial.every((d) => typeof d === "number")) return null;
  const ins = spatial as number[];
  const strides = a.ints("strides") ?? new Array(n).fill(1);
  const dilations = a.ints("dilations") ?? new Array(n).fill(1);
  if (dilations.some((d) => d !== 1)) throw new Refusal("ConvTranspose with dilations is not supported");
  const outputPadding = a.ints("output_padding") ?? new Array(n).fill(0);
  const autoPad = a.string("auto_pad", "NOTSET");
  const full = ins.map((d, i) => strides[i]! * (d - 1) + outputPadding[i]! + kernel[i]!);
  const outputShape = a.ints("output_shape");
  let begin: number[], out: number[];
  if (outputShape) {
    out = outputShape.slice(-n);
    const total = full.map((f, i) => f - out[i]!);
    begin = total.map((t) => (autoPad === "SAME_UPPER" ? Math.floor(t / 2) : t - Math.floor(t / 2)));
  } else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    out = ins.map((d, i) => d * strides[i]!);
    const total = full.map((f, i) => f - out[i]!);
    begin = total.map((t) => (autoPad === "SAME_UPPER" ? Math.floor(t / 2) : t - Math.floor(t / 2)));
  } else {
    const pads = autoPad === "VALID" ? new Array(2 * n).fill(0) : (a.ints("pads") ?? new Array(2 * n).fill(0));
    begin = pads.slice(0, n);
    out = full.map((f, i) => f - pads[i]! - pads[i + n]!);
  }
  // An output_shape past the full result is zero-padded at the end (positions no input reaches).
  if (out.some((o, i) => o <= 0 || begin[i]! < 0)) throw new Refusal(`ConvTranspose's padding or output_shape ([${out.join(", ")}]) starts outside the full output [${full.join(", ")}]`);
  return { out, begin, strides };
}

function convTransposeRun(x: tf.Tensor, wt: tf.Tensor, b: tf.Tensor | null, a: Attrs): tf.Tensor {
  const n = x.rank - 2;
  if (n === 3) throw new Refusal("3-D ConvTranspose is not supported");
  const kernel = kernelOf(a, { dtype: 1, shape: wt.shape }, 2);
  const t = transposeWindow(a, x.shape.slice(2), kernel)!;
  const group = a.int("group", 1);
  const xs = channelsLast(x);
  // W [C, M/g, k…] → [kh, kw, M/g, C]
  let filter = tf.transpose(wt, [...[...Array(wt.rank - 2).keys()].map((i) => i + 2), 1, 0]);
  if (n === 1) filter = tf.expandDims(filter, 0);
  const strides = two(t.strides) as [number, number];
  const valid = two(x.shape.slice(2).map((d, i) => t.strides[i]! * (d - 1) + kernel[i]!));
  const one = (input: tf.Tensor, f: tf.Tensor) => tf.conv2dTranspose(input as tf.Tensor4D, f as tf.Tensor4D, [input.shape[0]!, valid[0]!, valid[1]!, f.shape[2]!], strides, "valid");
  let y: tf.Tensor;
  if (group === 1) y = one(xs, filter);
  else {
    const inputs = tf.split(xs, group, 3);
    const filters = tf.split(filter, group, 3);
    y = tf.concat(inputs.map((input, g) => one(input, filters[g]!)), 3);
  }
  // Output padding and output_shape may reach past the full result: those positions get no input.
  const need = two(t.begin.map((s, i) => s + t.out[i]!));
  const extra = need.map((e, i) => Math.max(0, e - valid[i]!));
  if (extra.some((e) => e > 0)) y = tf.pad(y, [[0, 0], [0, extra[0]!], [0, extra[1]!], [0, 0]]);
  const begin = t.begin.length === 1 ? [0, t.begin[0]!] : t.begin, size = two(t.out);
  y = tf.slice(y, [0, begin[0]!, begin[1]!, 0], [y.shape[0]!, size[0]!, size[1]!, y.shape[3]!]);
  if (b) y = tf.add(y, b);
  return channelsFirst(y, n);
}

function poolInfer(ins: readonly (ValueInfo | null)[], a: Attrs): ValueInfo[] {
  const x = ins[0]!;
  const spatial = spatialOf(x);
  const k = a.ints("kernel_shape");
  if (!k) throw new OpError("kernel_shape is required");
  try {
    const w = windowOf(a, spatial, k);
    return [{ dtype: x.dtype, shape: [x.shape![0]!, x.shape![1]!, ...outSizes(spatial, w, a.int("ceil_mode", 0) !== 0)] }];
  } catch (error) {
    if (error instanceof UnknownSize) return [{ dtype: x.dtype, shape: [x.shape![0]!, x.shape![1]!, ...spatial.map(() => null)] }];
    throw error;
  }
}

/** The padding a ceil_mode output needs past the explicit pads, per spatial axis. */
function ceilExtra(spatial: number[], w: Window, out: number[]): number[] {
  return spatial.map((d, i) => Math.max(0, (out[i]! - 1) * w.strides[i]! + (w.kernel[i]! - 1) * w.dilations[i]! + 1 - (d + w.begin[i]! + w.end[i]!)));
}

function pool(x: tf.Tensor, a: Attrs, out: number[], kind: "max" | "avg"): tf.Tensor {
  const n = x.rank - 2;
  const w = windowOf(a, x.shape.slice(2), a.ints("kernel_shape")!);
  const extra = ceilExtra(x.shape.slice(2), w, out);
  const xs = channelsLast(x);
  const window = two(w.kernel), strides = two(w.strides), dilations = two(w.dilations);
  const run = (input: tf.Tensor, type: "max" | "avg") => {
    if (n === 3) {
      if (w.dilations.some((d) => d !== 1)) throw new Refusal("3-D pooling with dilations is not supported");
      const f = type === "max" ? tf.maxPool3d : tf.avgPool3d;
      return f(input as tf.Tensor5D, w.kernel as [number, number, number], w.strides as [number, number, number], "valid");
    }
    if (dilations.some((d) => d !== 1)) {
      // tfjs's pool takes dilations or strides: pool dilated at stride 1, then keep every stride-th.
      return subsample(tf.pool(input as tf.Tensor4D, window as [number, number], type, "valid", dilations as [number, number], [1, 1]), strides);
    }
    const f = type === "max" ? tf.maxPool : tf.avgPool;
    return f(input as tf.Tensor4D, window as [number, number], strides as [number, number], "valid");
  };
  if (kind === "max") return channelsFirst(run(tf.pad(xs, padSpec(w, extra), -Infinity), "max"), n);
  // Average: the windows' sums over the count of the positions that count (the input, plus the
  // explicit padding when count_include_pad is set; never the extra ceil_mode padding).
  const includePad = a.int("count_include_pad", 0) !== 0;
  const size = w.kernel.reduce((p, q) => p * q, 1);
  const sums = tf.mul(run(tf.pad(xs, padSpec(w, extra), 0), "avg"), size);
  const ones = tf.ones([1, ...xs.shape.slice(1, -1), 1]);
  const zeros = w.begin.map(() => 0);
  const mask = includePad ? tf.pad(tf.pad(ones, padSpec(w), 1), padSpec({ ...w, begin: zeros, end: zeros }, extra), 0) : tf.pad(ones, padSpec(w, extra), 0);
  const counts = tf.mul(run(mask, "avg"), size);
  return channelsFirst(tf.div(sums, counts), n);
}

const POOL_ATTRS = { ...ATTRS, ceil_mode: "int" } as const;

export const CONV_OPS: Record<string, ImportOp> = {
  Conv: {
    inputs: [2, 3],
    attributes: { ...ATTRS, group: "int" },
    infer: convInfer,
    run: ([x, w, b], a) => convRun(x!, w!, b ?? null, a),
  },
  ConvTranspose: {
    inputs: [2, 3],
    attributes: { ...ATTRS, group: "int", output_padding: "ints", output_shape: "ints" },
    infer: convTransposeInfer,
    run: ([x, w, b], a) => convTransposeRun(x!, w!, b ?? null, a),
  },
  MaxPool: {
    inputs: [1, 1],
    outputs: [1, 1],
    attributes: { ...POOL_ATTRS, storage_order: "int" },
    infer: poolInfer,
    run: ([x], a, { outs }) => pool(x!, a, outs[0]!.shape!.slice(2) as number[], "max"),
  },
  AveragePool: {
    inputs: [1, 1],
    attributes: { ...POOL_ATTRS, count_include_pad: "int" },
    infer: poolInfer,
    run: ([x], a, { outs }) => pool(x!, a, outs[0]!.shape!.slice(2) as number[], "avg"),
  },
  GlobalAveragePool: {
    inputs: [1, 1],
    infer: ([x]) => (spatialOf(x!), [{ dtype: x!.dtype, shape: x!.shape!.map((d, i) => (i < 2 ? d : 1)) }]),
    run: ([x]) => tf.mean(x!, [...Array(x!.rank).keys()].slice(2), true),
  },
  GlobalMaxPool: {
    inputs: [1, 1],
    infer: ([x]) => (spatialOf(x!), [{ dtype: x!.dtype, shape: x!.shape!.map((d, i) => (i < 2 ? d : 1)) }]),
    run: ([x]) => tf.max(x!, [...Array(x!.rank).keys()].slice(2), true),
  },
};
