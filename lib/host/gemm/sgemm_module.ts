/**
 * The sgemm WebAssembly module (sgemm.c, embedded by build.sh as base64 in sgemm_wasm.ts) and the
 * scratch area in its memory where sgemm.ts places each call's operands: instantiated
 * synchronously on first use, grown when a call needs more room, reused across calls.
 */
import { align4, EmbeddedWasm } from "../embedded_wasm";
import { SGEMM_WASM_BASE64 } from "./sgemm_wasm";

/** The module's export, addresses in bytes (see sgemm.c). */
export type SgemmExport = (m: number, n: number, k: number, alpha: number, a: number, lda: number, transA: number,
  b: number, ldb: number, transB: number, c: number, ldc: number, accumulate: number, bias: number) => void;

/** optim.c's adam_step: addresses in bytes (vmax 0 without amsgrad), then the step's float32 constants. */
export type AdamStepExport = (n: number, p: number, g: number, m: number, v: number, vmax: number, beta1: number, oneMinusBeta1: number,
  beta2: number, oneMinusBeta2: number, stepSize: number, bc2Sqrt: number, eps: number, weightDecay: number, decay: number,
  decayMode: number, maximize: number) => void;

/** optim.c's sgd_step: addresses in bytes (buf 0 without momentum), then the hyper-parameters and flags. */
export type SgdStepExport = (n: number, p: number, g: number, buf: number, lr: number, momentum: number, dampen: number,
  weightDecay: number, dampened: number, nesterov: number, maximize: number, first: number) => void;

/** pool.c's max_pool2d: NCHW planes, the window geometry, then addresses in bytes of x, y and the int32 argmax. */
export type MaxPool2dExport = (planes: number, h: number, w: number, oh: number, ow: number, kh: number, kw: number, sh: number, sw: number,
  dh: number, dw: number, top: number, left: number, x: number, y: number, argmax: number) => void;

/** conv.c's conv2d_forward: addresses in bytes of the geometry (17 int32s), x, w, the bias (0: none), y and the column area. */
export type Conv2dForwardExport = (geometry: number, x: number, w: number, bias: number, y: number, cols: number) => void;

/** conv.c's conv2d_backward: addresses in bytes of the geometry, x, w, dy, dx, dw, the float64 bias sums (0: not wanted) and the column area. */
export type Conv2dBackwardExport = (geometry: number, x: number, w: number, dy: number, dx: number, dw: number, biasSums: number, cols: number) => void;

/** conv.c's conv2d_scratch_floats: the address in bytes of the geometry; floats of scratch beyond the column area. */
export type Conv2dScratchExport = (geometry: number) => number;

/** pool.c's max_pool2d_backward: the input's and the output's sizes, then addresses in bytes of dy, the int32 argmax and dx. */
export type MaxPool2dBackwardExport = (nIn: number, nOut: number, dy: number, argmax: number, dx: number) => void;

/** activations.c's relu_forward(n, x, y) and relu_backward(n, y, dy, dx): addresses in bytes, in place allowed. */
export type ReluForwardExport = (n: number, x: number, y: number) => void;
export type ReluBackwardExport = (n: number, y: number, dy: number, dx: number) => void;

/** activations.c's sigmoid_backward and tanh_backward(n, y, dy, dx): addresses in bytes, in place allowed. */
export type SavedOutputBackwardExport = (n: number, y: number, dy: number, dx: number) => void;

/** activations.c's softmax_backward(rows, size, y, dy, dx): rows of `size` contiguous elements; addresses in bytes, dx may be dy. */
export type SoftmaxBackwardExport = (rows: number, size: number, y: number, dy: number, dx: number) => void;

export interface SgemmModule {
  readonly sgemm: SgemmExport;
  readonly adamStep: AdamStepExport;
  readonly sgdStep: SgdStepExport;
  readonly maxPool2d: MaxPool2dExport;
  readonly conv2dForward: Conv2dForwardExport;
  readonly conv2dBackward: Conv2dBackwardExport;
  readonly conv2dScratchFloats: Conv2dScratchExport;
  readonly maxPool2dBackward: MaxPool2dBackwardExport;
  readonly reluForward: ReluForwardExport;
  readonly reluBackward: ReluBackwardExport;
  readonly softmaxBackward: SoftmaxBackwardExport;
  readonly sigmoidBackward: SavedOutputBackwardExport;
  readonly tanhBackward: SavedOutputBackwardExport;
  /** Float32 view of the whole memory; replaced when the memory grows, so read it after reserve(). */
  heap: Float32Array;
  /** The first float index free for operands, 16-byte aligned (above the stack and the packing buffers). */
  readonly base: number;
}

/** Views of the output region kept for reuse (one per output length): enough for a training step's products. */
const MAX_OUTPUT_VIEWS = 32;

const embedded = new EmbeddedWasm("sgemm", SGEMM_WASM_BASE64);
let state: { module: SgemmModule; memory: WebAssembly.Memory; outputViews: Map<number, Float32Array> } | undefined;

/**
 * Whether this engine runs the module (WebAssembly SIMD, synchronous compilation: EmbeddedWasm).
 * Where it does not, callers take their own fallback path; sgemm() would throw.
 */
export function gemmAvailable(): boolean {
  return embedded.available();
}

/** The instantiated module, on first use. */
export function sgemmModule(): SgemmModule {
  if (state !== undefined) return state.module;
  // Synchronous compile and instantiation: the module is small (≈16 KB), and its callers are synchronous kernels.
  const exports = embedded.exports("check gemmAvailable() and take another path");
  const memory = exports.memory as WebAssembly.Memory;
  const module: SgemmModule = {
    sgemm: exports.sgemm as SgemmExport,
    adamStep: exports.adam_step as AdamStepExport,
    sgdStep: exports.sgd_step as SgdStepExport,
    maxPool2d: exports.max_pool2d as MaxPool2dExport,
    conv2dForward: exports.conv2d_forward as Conv2dForwardExport,
    conv2dBackward: exports.conv2d_backward as Conv2dBackwardExport,
    conv2dScratchFloats: exports.conv2d_scratch_floats as Conv2dScratchExport,
    maxPool2dBackward: exports.max_pool2d_backward as MaxPool2dBackwardExport,
    reluForward: exports.relu_forward as ReluForwardExport,
    reluBackward: exports.relu_backward as ReluBackwardExport,
    softmaxBackward: exports.softmax_backward as SoftmaxBackwardExport,
    sigmoidBackward: exports.sigmoid_backward as SavedOutputBackwardExport,
    tanhBackward: exports.tanh_backward as SavedOutputBackwardExport,
    heap: new Float32Array(memory.buffer),
    base: EmbeddedWasm.heapBase(exports),
  };
  state = { module, memory, outputViews: new Map() };
  return module;
}

export { align4 };

/** Grows the memory, when needed, to hold `floats` float32s from address 0; module.heap is then the new view. */
export function reserve(module: SgemmModule, floats: number): void {
  if (floats <= module.heap.length) return;
  const { memory, outputViews } = state!;
  const heap = EmbeddedWasm.reserve("sgemm", memory, floats, "the operands");
  if (heap === null) return;
  module.heap = heap;
  // Views of the old buffer are detached now.
  outputViews.clear();
}

/**
 * A view of `length` floats of the heap from module.base, where sgemm.ts places C: kept and reused,
 * since copying out through set() needs a view and a new subarray per call costs more than the
 * copy for small outputs.
 */
export function outputView(module: SgemmModule, length: number): Float32Array {
  const views = state!.outputViews;
  let view = views.get(length);
  if (view === undefined) {
    if (views.size >= MAX_OUTPUT_VIEWS) views.clear();
    view = module.heap.subarray(module.base, module.base + length);
    views.set(length, view);
  }
  return view;
}
