/**
 * From tfjs kernel to ONNX: one line per kernel, read top to bottom. A kernel missing here cannot
 * be exported, and the exporter says which kernel and which module called it. The writers live in
 * kernels/, one file per family; trivial ones are one ONNX op of the same meaning.
 *
 * The names are tfjs's kernel names (tfjs-core's kernel_names.ts), which is what the trace sees:
 * tf.matMul runs BatchMatMul, tf.div RealDiv, tf.where Select, tf.squeeze a Reshape.
 */
import { leakyRelu, prelu, relu6, selu, softmax } from "./kernels/activations";
import type { KernelWriter } from "./kernels/context";
import { conv2d, conv2dBackpropInput, depthwiseConv2d, fusedConv2d, fusedDepthwiseConv2d, pool, resizeBilinear, resizeNearestNeighbor } from "./kernels/convolution";
import { addN, binary, cast, clipByValue, expm1, filledLike, floorDiv, identity, log1p, notEqual, orEqual, rsqrt, select, square, squaredDifference, unary } from "./kernels/elementwise";
import { cumsum, einsum, mirrorPad, mod, oneHot } from "./kernels/indexing";
import { batchMatMul, fusedMatMul } from "./kernels/matmul";
import { fusedBatchNorm } from "./kernels/normalization";
import { argReduce, reduce, reduceBool } from "./kernels/reductions";
import { concat, expandDims, fill, gather, pack, pad, reshape, slice, splitV, stridedSlice, tile, transpose, unpack } from "./kernels/shapes";

export const KERNEL_WRITERS: Readonly<Record<string, KernelWriter>> = {
  // arithmetic, broadcasting alike in both
  Add: binary("Add"),
  Sub: binary("Sub"),
  Multiply: binary("Mul"),
  RealDiv: binary("Div"),
  Pow: binary("Pow"),
  Maximum: binary("Max"),
  Minimum: binary("Min"),
  SquaredDifference: squaredDifference,
  FloorDiv: floorDiv,
  Mod: mod,
  AddN: addN,
  // comparisons and logic
  Greater: binary("Greater"),
  GreaterEqual: orEqual("Greater"),
  Less: binary("Less"),
  LessEqual: orEqual("Less"),
  Equal: binary("Equal"),
  NotEqual: notEqual,
  LogicalAnd: binary("And"),
  LogicalOr: binary("Or"),
  LogicalNot: unary("Not"),
  Select: select,
  // unary maths
  Neg: unary("Neg"),
  Abs: unary("Abs"),
  Exp: unary("Exp"),
  Log: unary("Log"),
  Sqrt: unary("Sqrt"),
  Rsqrt: rsqrt,
  Square: square,
  Reciprocal: unary("Reciprocal"),
  Floor: unary("Floor"),
  Ceil: unary("Ceil"),
  Round: unary("Round"),
  Sign: unary("Sign"),
  Sin: unary("Sin"),
  Cos: unary("Cos"),
  Erf: unary("Erf"),
  Log1p: log1p,
  Expm1: expm1,
  IsNan: unary("IsNaN"),
  // activations
  Relu: unary("Relu"),
  Relu6: relu6,
  Sigmoid: unary("Sigmoid"),
  Tanh: unary("Tanh"),
  Elu: unary("Elu", { alpha_f: 1 }),
  Selu: selu,
  LeakyRelu: leakyRelu,
  Prelu: prelu,
  Softplus: unary("Softplus"),
  Softmax: softmax,
  // types and copies
  Cast: cast,
  Identity: identity,
  ClipByValue: clipByValue,
  ZerosLike: filledLike(0),
  OnesLike: filledLike(1),
  // matrix products
  BatchMatMul: batchMatMul,
  _FusedMatMul: fusedMatMul,
  Einsum: einsum,
  // reductions
  Sum: reduce("ReduceSum"),
  Mean: reduce("ReduceMean"),
  Max: reduce("ReduceMax", "reductionIndices"),
  Min: reduce("ReduceMin"),
  Prod: reduce("ReduceProd"),
  All: reduceBool("ReduceMin"),
  Any: reduceBool("ReduceMax"),
  ArgMax: argReduce("ArgMax"),
  ArgMin: argReduce("ArgMin"),
  Cumsum: cumsum,
  // shapes and data movement
  Reshape: reshape,
  Transpose: transpose,
  Concat: concat,
  Slice: slice,
  StridedSlice: stridedSlice,
  SplitV: splitV,
  Unpack: unpack,
  GatherV2: gather,
  ExpandDims: expandDims,
  Pack: pack,
  Tile: tile,
  PadV2: pad,
  MirrorPad: mirrorPad,
  OneHot: oneHot,
  Fill: fill,
  // convolution and pooling (NCHW in ONNX)
  Conv2D: conv2d,
  FusedConv2D: fusedConv2d,
  DepthwiseConv2dNative: depthwiseConv2d,
  FusedDepthwiseConv2D: fusedDepthwiseConv2d,
  Conv2DBackpropInput: conv2dBackpropInput,
  ResizeBilinear: resizeBilinear,
  ResizeNearestNeighbor: resizeNearestNeighbor,
  MaxPool: pool("MaxPool"),
  AvgPool: pool("AveragePool"),
  // normalization
  FusedBatchNorm: fusedBatchNorm,
};
