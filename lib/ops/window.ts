/**
 * What conv2d, max_pool2d and avg_pool2d share: their integer-or-pair arguments read as PyTorch
 * reads them, the 4-D NCHW input check, output sizes, and the NCHW ⇄ NHWC transposes around
 * tfjs's kernels (the cpu and wasm kernels gradlab uses take channels last; wasm takes nothing else).
 * Every error names the op, the argument, what was given and what was expected.
 */
import * as tf from "@tensorflow/tfjs";
import { formatShape } from "../shape";

/** [height, width]. */
export type Pair = [number, number];
/** Padding in ONNX's `pads` order: [top, left, bottom, right]. */
export type Pads = [number, number, number, number];

export function show(value: unknown): string {
  if (value instanceof tf.Tensor) return `a tensor of shape ${formatShape(value.shape)}`;
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(show).join(", ")}]`;
  return String(value);
}

/** An integer ≥ min, or a pair of them (PyTorch's `_pair`). */
export function pairOf(op: string, arg: string, value: unknown, min: number): Pair {
  const ok = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= min;
  if (ok(value)) return [value, value];
  if (Array.isArray(value) && value.length === 2 && value.every(ok)) return [value[0] as number, value[1] as number];
  throw new RangeError(`${op}: ${arg} must be an integer ≥ ${min} or a pair of them, got ${show(value)}`);
}

/** An integer ≥ min. */
export function intOf(op: string, arg: string, value: unknown, min: number): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= min) return value;
  throw new RangeError(`${op}: ${arg} must be an integer ≥ ${min}, got ${show(value)}`);
}

export function booleanOf(op: string, arg: string, value: unknown): boolean {
  if (typeof value === "boolean") return value;
  throw new TypeError(`${op}: ${arg} must be a boolean, got ${show(value)}`);
}

/** A float32 tensor [batch, channels, height, width] (PyTorch's unbatched 3-D input is not taken). */
export function checkInput4d(op: string, arg: string, x: unknown): tf.Tensor4D {
  if (!(x instanceof tf.Tensor)) throw new TypeError(`${op}: ${arg} must be a tf.Tensor, got ${show(x)}`);
  if (x.rank !== 4) throw new RangeError(`${op}: ${arg} must be 4-D [batch, channels, height, width], got shape ${formatShape(x.shape)}`);
  if (x.dtype !== "float32") throw new TypeError(`${op}: ${arg} must be float32, got ${x.dtype}`);
  return x as tf.Tensor4D;
}

/**
 * Output length along one axis, as PyTorch computes it: floor, or with ceil_mode ceil, minus
 * the last window when it would start in the end padding (pooling_output_shape).
 */
export function outputLength(input: number, padBegin: number, padEnd: number, kernel: number, stride: number, dilation: number, ceilMode = false): number {
  const span = input + padBegin + padEnd - dilation * (kernel - 1) - 1;
  let out = Math.floor((span + (ceilMode ? stride - 1 : 0)) / stride) + 1;
  if (ceilMode && (out - 1) * stride >= input + padBegin) out -= 1;
  return out;
}

/** The window (kernel × dilation) must fit in the padded input: else PyTorch refuses, and so do we. */
export function checkWindowFits(op: string, x: tf.Tensor4D, kernel: Pair, dilation: Pair, pads: Pads): void {
  const [, , h, w] = x.shape;
  const padded: Pair = [h + pads[0] + pads[2], w + pads[1] + pads[3]];
  const extent: Pair = [dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1];
  if (extent[0] > padded[0] || extent[1] > padded[1]) {
    throw new RangeError(
      `${op}: kernel_size ${kernel[0]}×${kernel[1]} (dilation ${dilation[0]}×${dilation[1]}, so ${extent[0]}×${extent[1]}) is larger than the padded input ` +
        `${padded[0]}×${padded[1]} (input ${h}×${w}, padding [top, left, bottom, right] ${show(pads)}); expected a window no larger than the padded input`,
    );
  }
}

/** NCHW → NHWC and back: one full copy of the tensor each (what the user's NCHW costs on tfjs). */
export const toNHWC = (x: tf.Tensor4D): tf.Tensor4D => tf.transpose(x, [0, 2, 3, 1]);
export const toNCHW = (x: tf.Tensor4D): tf.Tensor4D => tf.transpose(x, [0, 3, 1, 2]);

/** tfjs's explicit padding for an NHWC tensor. */
export function explicitPadding(pads: Pads): tf.backend_util.ExplicitPadding {
  return [
    [0, 0],
    [pads[0], pads[2]],
    [pads[1], pads[3]],
    [0, 0],
  ];
}

/** An options object with only the keys a layer or op knows: a misspelt key is an error, not a silent default. */
export function checkOptionKeys(op: string, options: unknown, known: readonly string[]): void {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`${op}: options must be an object, got ${show(options)}`);
  }
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new TypeError(`${op}: unknown option${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")}; expected any of ${known.join(", ")}`);
}

/** PyTorch's repr of a pair: (3, 3). */
export const tuple = (p: readonly number[]): string => `(${p.join(", ")})`;
