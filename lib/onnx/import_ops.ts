/**
 * The ONNX ops gradlab imports, one table from op type to importer, read top to bottom; each
 * family lives in its own file under import_ops/. A user's ops (importOnnx's `ops` option) are
 * looked up first, in any domain; MYLINEAR (the seed's op) in any domain; the rest in the default
 * ONNX domain ("" or "ai.onnx").
 */
import { CONV_OPS } from "./import_ops/conv";
import { BINARY_OPS, PREDICATE_OPS, UNARY_OPS } from "./import_ops/elementwise";
import { INDEXING_OPS } from "./import_ops/indexing";
import { LINALG_OPS, MYLINEAR } from "./import_ops/linalg";
import { LOSS_OPS } from "./import_ops/losses";
import { NORMALIZATION_OPS } from "./import_ops/normalization";
import type { ImportOp } from "./import_ops/op";
import { REDUCE_OPS } from "./import_ops/reduce";
import { RESIZE_OPS } from "./import_ops/resize";
import { SCATTER_GATHER_OPS } from "./import_ops/scatter_gather";
import { WINDOW_OPS } from "./import_ops/windows";
import { SHAPE_OPS } from "./import_ops/shape";
import { LAYOUT_OPS } from "./import_ops/layout";
import { CAST_OPS } from "./import_ops/cast";

export type { ImportOp } from "./import_ops/op";
export { formatDims, type Dim, type DimShape } from "./import_ops/values";

export const STANDARD_OPS: Readonly<Record<string, ImportOp>> = {
  // Activations and math of one tensor: Relu, Sigmoid, Tanh, Erf, Elu, LeakyRelu, Softplus, …
  ...UNARY_OPS,
  ...PREDICATE_OPS,
  // Arithmetic, comparisons and logic with broadcasting; Where, Clip, Max/Min/Sum/Mean.
  ...BINARY_OPS,
  // MatMul (batched, broadcast), Gemm.
  ...LINALG_OPS,
  // Shape arithmetic: Shape, Size, Reshape, Flatten, (Un)Squeeze, Concat, Expand, Constant(OfShape), Range.
  ...SHAPE_OPS,
  // Layout: Transpose, Split, Slice, Gather, Tile, Pad, Identity, Dropout.
  ...LAYOUT_OPS,
  // Cast, CastLike.
  ...CAST_OPS,
  // Conv, ConvTranspose, MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.
  ...CONV_OPS,
  // Resize (nearest, linear, cubic; every coordinate transformation), Upsample.
  ...RESIZE_OPS,
  // ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare, ArgMax, ArgMin.
  ...REDUCE_OPS,
  // Softmax, LogSoftmax, Hardmax, BatchNormalization, LayerNormalization, InstanceNormalization.
  ...NORMALIZATION_OPS,
  // GatherElements, Trilu, OneHot, TopK, CumSum, EyeLike, DepthToSpace, SpaceToDepth.
  ...INDEXING_OPS,
  // GatherND, ScatterND, ScatterElements (Scatter), Compress, NonZero.
  ...SCATTER_GATHER_OPS,
  // NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss.
  ...LOSS_OPS,
  // HannWindow, HammingWindow, BlackmanWindow.
  ...WINDOW_OPS,
};

export const SUPPORTED_OPS = `${Object.keys(STANDARD_OPS).length} standard ONNX ops (${Object.keys(STANDARD_OPS).sort().join(", ")}), MYLINEAR (any domain) and the ops given in importOnnx's \`ops\` option`;

/** The op for a node, or null when gradlab has none. */
export function lookupOp(opType: string, domain: string, userOps: ReadonlyMap<string, ImportOp> = new Map()): ImportOp | null {
  const user = userOps.get(opType);
  if (user) return user;
  if (opType === "MYLINEAR") return MYLINEAR;
  if (domain !== "" && domain !== "ai.onnx") return null;
  return Object.hasOwn(STANDARD_OPS, opType) ? STANDARD_OPS[opType]! : null;
}
