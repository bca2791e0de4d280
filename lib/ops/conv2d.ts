/**
 * conv2d as torch.nn.functional.conv2d: input [N, C, H, W], weight [O, C/groups, KH, KW], bias
 * [O] or none; stride, padding (integers, pairs, "same", "valid"), dilation and groups.
 *
 * On cpu and wasm (host kernels on, float32, non-empty) forward and backward run in NCHW on the
 * tensors' own storage (lib/host/conv_host.ts): im2col and WebAssembly SIMD products, no
 * transposes, dilation and groups in the index arithmetic, dX skipped for data. Forward then
 * saves x and weight as given (and the columns). Everywhere else (webgpu, tfjs-node, host kernels
 * off, wasm on an engine without WebAssembly SIMD: lib/host/conv_engine.ts's hostConvPays) it
 * runs on tfjs's kernels as follows, which the host path is tested against.
 *
 * tfjs computes it channels last (wasm's Conv2D accepts NHWC only), so forward transposes the
 * input to NHWC and the weight to [KH, KW, C/groups, O], and the output back to NCHW: three
 * extra copies in forward, two more (dy in, dX out) and the weight's back in backward. The NHWC
 * input and HWIO kernel are what forward saves, so backward does not transpose them again.
 *
 * Backward is the two transposed products: dX = conv2dTranspose(dy, W) and dW the correlation of
 * the input with dy. tfjs-backend-wasm has no Conv2DBackpropFilter kernel, so where it is missing
 * dW is computed as a forward conv with the roles swapped (batch ↔ channels, dy as the kernel,
 * stride as its dilation), which every backend has.
 *
 * Dilation: tfjs refuses dilation with stride > 1 and has no dilated backprop kernels, so a
 * dilated kernel is built explicitly (zeros between taps) and everything runs at dilation 1.
 * That costs ((K−1)·d+1)²/K² times the multiply-adds of the kernel proper (25/9 for 3×3, d = 2).
 * Groups: tfjs has no grouped conv, so the channels are split into `groups` convs and the
 * results concatenated (one kernel call per group).
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import { hostConvPays } from "../host/conv_engine";
import { convGeometry } from "../host/conv_geometry";
import { convBackwardHost, convForwardHost } from "../host/conv_host";
import { hostBackend } from "../host/host_tensors";
import { formatShape } from "../shape";
import { checkInput4d, checkWindowFits, explicitPadding, intOf, outputLength, pairOf, show, toNCHW, toNHWC, type Pads, type Pair } from "./window";

const OP = "conv2d";
/** ctx.attributes key: the host backend forward ran on, when it took the host path. */
const HOST_FORWARD = "hostForward";

export const Conv2dF = defineFunction<[tf.Tensor4D, tf.Tensor4D, tf.Tensor1D | false, Pair, Pads, Pair, number]>({
  name: OP,
  inputNames: ["input", "weight", "bias", "stride", "padding", "dilation", "groups"],
  forward(ctx, x, weight, bias, stride, pads, dilation, groups) {
    checkConv2d(OP, x, weight, bias, stride, pads, dilation, groups);
    const host = hostBackend();
    if (host !== null && hostConvPays(host.name) && hostTakes(x, weight, bias)) {
      const { y, cols } = convForwardHost(host, convGeometry(x.shape, weight.shape, stride, pads, dilation, groups), x, weight, bias || null);
      ctx.saveForBackward(x, weight, ...(cols === null ? [] : [cols]));
      ctx.attributes.set(HOST_FORWARD, host.name);
      return y;
    }
    const xh = toNHWC(x);
    const kernel = dilateKernel(tf.transpose(weight, [2, 3, 1, 0]), dilation);
    ctx.saveForBackward(xh, kernel);
    const padding = explicitPadding(pads);
    let y = byGroups(groups, [xh, kernel], ([xg, kg]) => tf.conv2d(xg as tf.Tensor4D, kg as tf.Tensor4D, stride, padding));
    if (bias !== false) y = tf.add(y, bias);
    return toNCHW(y);
  },
  backward(ctx, dy) {
    const [stride, pads, dilation, groups] = ctx.attrs.slice(3) as [Pair, Pads, Pair, number];
    const [needX, needW, needB] = ctx.needsInputGrad;
    const hostName = ctx.attributes.get(HOST_FORWARD);
    let [xh, kernel] = ctx.saved as [tf.Tensor4D, tf.Tensor4D];
    if (hostName !== undefined) {
      // Forward ran on the host and saved x and weight as given (NCHW, OIHW), and maybe x's columns.
      const [x, weight, cols] = ctx.saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor?];
      const host = hostBackend();
      if (host !== null && host.name === hostName && dy.dtype === "float32") {
        const geometry = convGeometry(x.shape, weight.shape, stride, pads, dilation, groups);
        return convBackwardHost(host, geometry, dy, x, weight, cols ?? null, ctx.needsInputGrad);
      }
      // Host loops turned off (or the backend changed) between forward and backward: the tfjs path, in its layouts.
      [xh, kernel] = [toNHWC(x), dilateKernel(tf.transpose(weight, [2, 3, 1, 0]), dilation)];
    }
    const padding = explicitPadding(pads);
    const dyh = needX || needW ? toNHWC(dy as tf.Tensor4D) : null;
    let dX: tf.Tensor | null = null;
    if (needX) {
      const [n, h, w, c] = xh.shape;
      const groupShape: [number, number, number, number] = [n, h, w, c / groups];
      dX = toNCHW(byGroups(groups, [dyh!, kernel], ([d, k]) => tf.conv2dTranspose(d as tf.Tensor4D, k as tf.Tensor4D, groupShape, stride, padding)));
    }
    let dW: tf.Tensor | null = null;
    if (needW) {
      const [kh, kw, cg, og] = [kernel.shape[0], kernel.shape[1], kernel.shape[2], kernel.shape[3] / groups];
      const dK = byGroups(groups, [xh, dyh!], ([xg, dg]) => kernelGradient(xg as tf.Tensor4D, dg as tf.Tensor4D, [kh, kw, cg, og], stride, pads));
      dW = tf.transpose(undilateKernel(dK, dilation), [3, 2, 0, 1]);
    }
    const dB = needB ? tf.sum(dy, [0, 2, 3]) : null;
    return [dX, dW, dB];
  },
  symbolic(g, x, weight, bias, stride, pads, dilation, groups) {
    return this.lower!(g, x, weight, bias, stride, pads, dilation, groups);
  },
  lower(g, x, weight, bias, stride, pads, dilation, groups) {
    const attributes = { strides_i: [...stride], pads_i: [...pads], dilations_i: [...dilation], group_i: groups };
    const inputs = bias === false ? [x!, weight!] : [x!, weight!, bias as unknown as typeof x];
    return g.op("Conv", ...inputs, attributes);
  },
});

export interface Conv2dOptions {
  /** An integer or [height, width] (default 1). */
  stride?: number | Pair;
  /** An integer or [height, width] added on both sides, or "same" (stride 1 only) or "valid" (default 0). */
  padding?: number | Pair | "same" | "valid";
  dilation?: number | Pair;
  groups?: number;
}

/** torch.nn.functional.conv2d(input, weight, bias, stride, padding, dilation, groups). */
export function conv2d(input: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null = null, options: Conv2dOptions = {}): tf.Tensor4D {
  const x = checkInput4d(OP, "input", input);
  const w = checkInput4d(OP, "weight", weight);
  const stride = pairOf(OP, "stride", options.stride ?? 1, 1);
  const dilation = pairOf(OP, "dilation", options.dilation ?? 1, 1);
  const groups = intOf(OP, "groups", options.groups ?? 1, 1);
  const pads = conv2dPads(OP, options.padding ?? 0, [w.shape[2], w.shape[3]], stride, dilation);
  const b = bias === null ? false : (bias as tf.Tensor1D);
  checkConv2d(OP, x, w, b, stride, pads, dilation, groups);
  return Conv2dF.apply(x, w, b, stride, pads, dilation, groups) as tf.Tensor4D;
}

/** PyTorch's padding argument as explicit [top, left, bottom, right]; "same" puts the odd pixel at the end, as torch does. */
export function conv2dPads(op: string, padding: unknown, kernel: Pair, stride: Pair, dilation: Pair): Pads {
  if (padding === "valid") return [0, 0, 0, 0];
  if (padding === "same") {
    if (stride[0] !== 1 || stride[1] !== 1) throw new RangeError(`${op}: padding "same" needs stride 1 (as in PyTorch), got stride ${show(stride)}`);
    const total = [0, 1].map((i) => dilation[i]! * (kernel[i]! - 1));
    return [Math.floor(total[0]! / 2), Math.floor(total[1]! / 2), Math.ceil(total[0]! / 2), Math.ceil(total[1]! / 2)];
  }
  if (typeof padding === "string") throw new RangeError(`${op}: padding must be "same", "valid", an integer ≥ 0 or a pair of them, got ${show(padding)}`);
  const [ph, pw] = pairOf(op, "padding", padding, 0);
  return [ph, pw, ph, pw];
}

/** Every shape and argument the op relies on, checked before any kernel runs. */
export function checkConv2d(op: string, x: tf.Tensor4D, weight: tf.Tensor4D, bias: tf.Tensor | false, stride: Pair, pads: Pads, dilation: Pair, groups: number): void {
  checkInput4d(op, "input", x);
  checkInput4d(op, "weight", weight);
  pairOf(op, "stride", stride, 1);
  pairOf(op, "dilation", dilation, 1);
  intOf(op, "groups", groups, 1);
  if (!Array.isArray(pads) || pads.length !== 4 || !pads.every((p) => Number.isInteger(p) && p >= 0)) {
    throw new RangeError(`${op}: padding must be 4 integers ≥ 0 [top, left, bottom, right], got ${show(pads)}`);
  }
  const [outChannels, groupChannels, kh, kw] = weight.shape;
  const channels = x.shape[1];
  if (outChannels % groups !== 0) {
    throw new RangeError(`${op}: weight ${formatShape(weight.shape)} has ${outChannels} output channels, not divisible by groups ${groups}; expected a multiple of ${groups}`);
  }
  if (channels !== groupChannels * groups) {
    throw new RangeError(
      `${op}: input ${formatShape(x.shape)} has ${channels} channels, but weight ${formatShape(weight.shape)} with groups ${groups} expects ${groupChannels * groups} (weight.shape[1] × groups)`,
    );
  }
  if (bias !== false) {
    if (!(bias instanceof tf.Tensor)) throw new TypeError(`${op}: bias must be a tf.Tensor or null, got ${show(bias)}`);
    if (bias.rank !== 1 || bias.shape[0] !== outChannels) {
      throw new RangeError(`${op}: bias must have shape [${outChannels}] (weight.shape[0]), got ${formatShape(bias.shape)}`);
    }
  }
  checkWindowFits(op, x, [kh, kw], dilation, pads);
  const out = [0, 1].map((i) => outputLength(x.shape[2 + i]!, pads[i]!, pads[i + 2]!, [kh, kw][i]!, stride[i]!, dilation[i]!));
  if (out.some((o) => o < 1)) throw new RangeError(`${op}: output would be ${out.join("×")}; expected at least 1×1`);
}

/** The host loops take float32 tensors with something in them; the rest (an int32 bias, an empty batch) goes to tfjs's kernels as before. */
function hostTakes(x: tf.Tensor4D, weight: tf.Tensor4D, bias: tf.Tensor1D | false): boolean {
  return x.size > 0 && weight.size > 0 && (bias === false || bias.dtype === "float32");
}

/** Runs `conv` once per group on the channels-last slices of `tensors`, and concatenates the outputs' channels. */
function byGroups(groups: number, tensors: tf.Tensor4D[], conv: (parts: tf.Tensor4D[]) => tf.Tensor4D): tf.Tensor4D {
  if (groups === 1) return conv(tensors);
  const parts = tensors.map((t) => tf.split(t, groups, 3) as tf.Tensor4D[]);
  return tf.concat(
    parts[0]!.map((_, i) => conv(parts.map((p) => p[i]!))),
    3,
  );
}

/** dW in HWIO for one group: tfjs's Conv2DBackpropFilter where the backend has it, else a forward conv with roles swapped. */
function kernelGradient(xh: tf.Tensor4D, dyh: tf.Tensor4D, filterShape: [number, number, number, number], stride: Pair, pads: Pads): tf.Tensor4D {
  const padding = explicitPadding(pads);
  if (tf.getKernel("Conv2DBackpropFilter", tf.getBackend())) {
    return tf.engine().runKernel("Conv2DBackpropFilter", { x: xh, dy: dyh }, { strides: stride, pad: padding, dataFormat: "NHWC", filterShape } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  }
  // dW[kh, kw, c, o] = Σ_{n, i, j} x[n, i·s + kh, j·s + kw, c] · dy[n, i, j, o]: a conv of x seen as
  // [C, H, W, N] with dy seen as a [OH, OW, N, O] kernel dilated by the stride.
  const swapped = tf.conv2d(tf.transpose(xh, [3, 1, 2, 0]) as tf.Tensor4D, tf.transpose(dyh, [1, 2, 0, 3]) as tf.Tensor4D, 1, padding, "NHWC", stride);
  const [kh, kw] = filterShape;
  const cropped = swapped.shape[1] === kh && swapped.shape[2] === kw ? swapped : tf.slice(swapped, [0, 0, 0, 0], [-1, kh, kw, -1]);
  return tf.transpose(cropped, [1, 2, 0, 3]);
}

/** A [KH, KW, I, O] kernel with d−1 zero rows/columns between taps: [(KH−1)·dh+1, (KW−1)·dw+1, I, O]. */
function dilateKernel(kernel: tf.Tensor4D, [dh, dw]: Pair): tf.Tensor4D {
  if (dh === 1 && dw === 1) return kernel;
  const [kh, kw, i, o] = kernel.shape;
  const spread = tf.pad(tf.reshape(kernel, [kh, 1, kw, 1, i, o]), [[0, 0], [0, dh - 1], [0, 0], [0, dw - 1], [0, 0], [0, 0]]);
  return tf.slice(tf.reshape(spread, [kh * dh, kw * dw, i, o]) as tf.Tensor4D, [0, 0, 0, 0], [(kh - 1) * dh + 1, (kw - 1) * dw + 1, i, o]);
}

/** The taps of a dilated kernel's gradient: every d-th row and column. */
function undilateKernel(kernel: tf.Tensor4D, [dh, dw]: Pair): tf.Tensor4D {
  if (dh === 1 && dw === 1) return kernel;
  return tf.stridedSlice(kernel, [0, 0, 0, 0], kernel.shape, [dh, dw, 1, 1]) as tf.Tensor4D;
}
