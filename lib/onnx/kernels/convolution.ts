/**
 * Convolution and pooling. ONNX's Conv and pools are channels-first (NCHW); tfjs runs NHWC unless
 * told otherwise. An NHWC kernel is written as Transpose to NCHW, the ONNX op, and Transpose back
 * (ONNX Runtime's transpose optimiser cancels the pairs between consecutive layers), and the
 * filter [kh, kw, in, out] is transposed to ONNX's [out, in, kh, kw]. tfjs's "same" padding is
 * TensorFlow's: the odd pixel goes after, which is ONNX's SAME_UPPER, written as explicit pads
 * when the spatial sizes are fixed.
 */
import * as tf from "@tensorflow/tfjs";
import type { SymbolicValue } from "../symbolic";
import { ElementType, tensorProto, type KernelContext, type KernelWriter } from "./context";
import { fusedActivation } from "./matmul";

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

const pair = (v: number | number[] | undefined, fallback: number): [number, number] =>
  v === undefined ? [fallback, fallback] : Array.isArray(v) ? [v[0]!, v[1] ?? v[0]!] : [v, v];

interface Window {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  channelsLast: boolean;
}

/** ONNX padding attributes for tfjs's pad ("same", "valid", a number, or explicit per-axis pairs). */
function padding(k: KernelContext, w: Window): Record<string, number[] | string> {
  if (k.attr<string>("dimRoundingMode") != null) k.fail(`dimRoundingMode "${k.attr<string>("dimRoundingMode")}" is not written; pad explicitly instead`);
  const pad = k.attr<unknown>("pad");
  if (pad === "valid") return { pads_i: [0, 0, 0, 0] };
  if (typeof pad === "number") return { pads_i: [pad, pad, pad, pad] };
  if (Array.isArray(pad)) {
    const [top, bottom] = (w.channelsLast ? pad[1] : pad[2]) as [number, number];
    const [left, right] = (w.channelsLast ? pad[2] : pad[3]) as [number, number];
    return { pads_i: [top, left, bottom, right] };
  }
  if (pad !== "same") k.fail(`its pad ${JSON.stringify(pad)} is not one of "same", "valid", a number or explicit pairs`);
  const x = k.step.inputs[0]![1];
  const spatial = w.channelsLast ? [x.dims[1], x.dims[2]] : [x.dims[2], x.dims[3]];
  if (spatial.some((d) => d === null)) return { auto_pad_s: "SAME_UPPER" };
  const before: number[] = [];
  const after: number[] = [];
  spatial.forEach((size, i) => {
    const out = Math.ceil(size! / w.strides[i]!);
    const total = Math.max((out - 1) * w.strides[i]! + (w.kernel[i]! - 1) * w.dilations[i]! + 1 - size!, 0);
    before.push(Math.floor(total / 2));
    after.push(total - Math.floor(total / 2));
  });
  return { pads_i: [...before, ...after] };
}

/** Runs `body` on x in NCHW and returns its result in tfjs's layout. */
function channelsFirst(k: KernelContext, x: SymbolicValue, channelsLast: boolean, body: (nchw: SymbolicValue) => SymbolicValue): SymbolicValue {
  if (!channelsLast) return body(x);
  return k.g.op("Transpose", body(k.g.op("Transpose", x, { perm_i: TO_NCHW })), { perm_i: TO_NHWC });
}

function convolution(k: KernelContext, depthwise: boolean, after: (k: KernelContext, y: SymbolicValue) => SymbolicValue): SymbolicValue {
  const format = k.attr<string>("dataFormat") ?? "NHWC";
  const channelsLast = format === "NHWC";
  if (format !== "NHWC" && format !== "NCHW") k.fail(`its dataFormat "${format}" is neither NHWC nor NCHW`);
  const [kh, kw, inChannels, outOrMultiplier] = k.info("filter").shape as [number, number, number, number];
  const w: Window = { kernel: [kh, kw], strides: pair(k.attr("strides"), 1), dilations: pair(k.attr("dilations"), 1), channelsLast };
  // [kh, kw, in, out] → [out, in, kh, kw]; depthwise [kh, kw, in, m] → [in·m, 1, kh, kw], in groups of one channel.
  const filter = depthwise
    ? k.g.op("Reshape", k.g.op("Transpose", k.in("filter"), { perm_i: [2, 3, 0, 1] }), k.ints([inChannels * outOrMultiplier, 1, kh, kw]))
    : k.g.op("Transpose", k.in("filter"), { perm_i: [3, 2, 0, 1] });
  const attributes = { kernel_shape_i: w.kernel, strides_i: w.strides, dilations_i: w.dilations, group_i: depthwise ? inChannels : 1, ...padding(k, w) };
  const bias = k.has("bias") ? [k.in("bias")] : [];
  const y = channelsFirst(k, k.in("x"), channelsLast, (x) => k.g.op("Conv", x, filter, ...bias, attributes));
  return after(k, y);
}

export const conv2d: KernelWriter = (k) => convolution(k, false, (_, y) => y);
export const depthwiseConv2d: KernelWriter = (k) => convolution(k, true, (_, y) => y);
/** tf.fused.conv2d: the bias goes into Conv; the activation follows, in tfjs's layout (PRelu's weights are in it). */
export const fusedConv2d: KernelWriter = (k) => convolution(k, false, fusedActivation);
export const fusedDepthwiseConv2d: KernelWriter = (k) => convolution(k, true, fusedActivation);

/** MaxPool and AvgPool (tfjs pools NHWC only). Both leave padding out, as ONNX's do by default. */
export const pool =
  (opType: "MaxPool" | "AveragePool"): KernelWriter =>
  (k) => {
    const w: Window = { kernel: pair(k.attr("filterSize"), 1), strides: pair(k.attr("strides"), 1), dilations: [1, 1], channelsLast: true };
    const attributes = { kernel_shape_i: w.kernel, strides_i: w.strides, ...padding(k, w) };
    return channelsFirst(k, k.in("x"), true, (x) => k.g.op(opType, x, attributes));
  };

/**
 * tf.conv2dTranspose runs Conv2DBackpropInput: dy is its input and inputShape the size it was
 * asked for. That is ONNX's ConvTranspose with the pads tfjs's forward conv of that size takes
 * (tfjs's own computeConv2DInfo, "same" and explicit pads alike), and output_padding making up the
 * rows and columns a stride leaves over; the filter [kh, kw, out, in] becomes ONNX's [in, out, kh, kw].
 */
export const conv2dBackpropInput: KernelWriter = (k) => {
  const format = k.attr<string>("dataFormat") ?? "NHWC";
  if (format !== "NHWC" && format !== "NCHW") k.fail(`its dataFormat "${format}" is neither NHWC nor NCHW`);
  const channelsLast = format === "NHWC";
  const filterShape = k.info("filter").shape as [number, number, number, number];
  const [kh, kw] = filterShape;
  const strides = pair(k.attr("strides"), 1);
  const inputShape = k.attr<[number, number, number, number]>("inputShape");
  const info = tf.backend_util.computeConv2DInfo(inputShape, filterShape, strides, 1, k.attr("pad"), k.attr("dimRoundingMode") ?? undefined,
    false, channelsLast ? "channelsLast" : "channelsFirst");
  const { top, bottom, left, right } = info.padInfo;
  const outputPadding = [info.inHeight - (strides[0] * (info.outHeight - 1) + kh - top - bottom), info.inWidth - (strides[1] * (info.outWidth - 1) + kw - left - right)];
  if (outputPadding.some((p, i) => p < 0 || p >= strides[i]!)) {
    k.fail(`its size [${info.inHeight}, ${info.inWidth}] is not one a ConvTranspose of its input [${info.outHeight}, ${info.outWidth}] makes (output padding ${outputPadding.join(", ")} outside [0, stride))`);
  }
  const filter = k.g.op("Transpose", k.in("filter"), { perm_i: [3, 2, 0, 1] });
  const attributes = { kernel_shape_i: [kh, kw], strides_i: strides, dilations_i: [1, 1], group_i: 1, pads_i: [top, left, bottom, right], output_padding_i: outputPadding };
  return channelsFirst(k, k.in("dy"), channelsLast, (dy) => k.g.op("ConvTranspose", dy, filter, attributes));
};

/**
 * tf.image.resizeBilinear and resizeNearestNeighbor (NHWC): ONNX Resize on the NCHW image, to
 * sizes [N, C, newH, newW] read from the input (so the batch stays dynamic), with the coordinate
 * mapping tfjs uses: alignCorners is align_corners (nearest rounds half up), halfPixelCenters is
 * half_pixel (nearest: tf_half_pixel_for_nn, tfjs's own mapping), neither is asymmetric (nearest
 * floors).
 */
function resize(k: KernelContext, mode: "linear" | "nearest"): SymbolicValue {
  const alignCorners = k.attr<boolean>("alignCorners") === true;
  const halfPixel = k.attr<boolean>("halfPixelCenters") === true;
  const [newH, newW] = k.attr<[number, number]>("size");
  if (alignCorners && (newH === 1 || newW === 1)) k.fail("alignCorners with an output side of 1 (tfjs maps it asymmetrically, ONNX's align_corners divides by 0); resize without alignCorners");
  const coordinates = alignCorners ? "align_corners" : halfPixel ? (mode === "linear" ? "half_pixel" : "tf_half_pixel_for_nn") : "asymmetric";
  const attributes: Record<string, string> = { mode_s: mode, coordinate_transformation_mode_s: coordinates };
  if (mode === "nearest") attributes.nearest_mode_s = alignCorners ? "round_prefer_ceil" : "floor";
  return channelsFirst(k, k.in("images"), true, (nchw) => {
    const batchAndChannels = k.g.op("Slice", k.g.op("Shape", nchw), k.ints([0]), k.ints([2]));
    const sizes = k.g.op("Concat", batchAndChannels, k.ints([newH, newW]), { axis_i: 0 });
    // roi and scales unused (sizes given): empty, and float whatever the export's type (scales is float only).
    const empty = k.g.constant(tensorProto([], [0], ElementType.FLOAT));
    return k.g.op("Resize", nchw, empty, empty, sizes, attributes);
  });
}

export const resizeBilinear: KernelWriter = (k) => resize(k, "linear");
export const resizeNearestNeighbor: KernelWriter = (k) => resize(k, "nearest");
