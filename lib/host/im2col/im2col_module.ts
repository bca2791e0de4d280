/**
 * The column area in the im2col WebAssembly module's memory (im2col.c, embedded by build.sh as
 * base64 in im2col_wasm.ts): the image is copied in at the start of the free memory, its column
 * matrix made after it; the matrix product reads the columns (or writes their gradients) there
 * directly, and col2im's image is copied out. Instantiated synchronously on first use; the memory
 * grows to the largest conv seen and is reused.
 */
import { colCols, colRows, type ConvGeometry } from "../conv_geometry";
import type { ColumnArea } from "./columns";
import { align4, EmbeddedWasm } from "../embedded_wasm";
import { IM2COL_WASM_BASE64 } from "./im2col_wasm";

type Transform = (from: number, to: number, channels: number, height: number, width: number, kernelH: number, kernelW: number,
  outH: number, outW: number, strideH: number, strideW: number, padTop: number, padLeft: number, dilationH: number, dilationW: number) => void;

interface Im2colModule {
  im2col: Transform;
  col2im: Transform;
  memory: WebAssembly.Memory;
  /** Float32 view of the whole memory, replaced when it grows. */
  heap: Float32Array;
  /** The first float index free for the image, 16-byte aligned. */
  base: number;
}

const embedded = new EmbeddedWasm("conv2d's im2col module", IM2COL_WASM_BASE64);
let state: Im2colModule | undefined;

/**
 * Whether this engine runs the module (WebAssembly SIMD, synchronous compilation: EmbeddedWasm;
 * this one is ≈4.3 KB). Instantiates it, as first use would.
 */
export function im2colAvailable(): boolean {
  return embedded.available();
}

function instance(): Im2colModule {
  if (state !== undefined) return state;
  const exports = embedded.exports("check im2colAvailable() and take the JavaScript columns");
  const memory = exports.memory as WebAssembly.Memory;
  state = { im2col: exports.im2col as Transform, col2im: exports.col2im as Transform, memory, heap: new Float32Array(memory.buffer), base: EmbeddedWasm.heapBase(exports) };
  return state;
}

/** Float indices of the image and of its columns for a conv of geometry g. */
function layout(m: Im2colModule, g: ConvGeometry): { imageAt: number; imageSize: number; colsAt: number } {
  const imageSize = g.channels * g.height * g.width;
  return { imageAt: m.base, imageSize, colsAt: align4(m.base + imageSize) };
}

function run(m: Im2colModule, transform: Transform, from: number, to: number, g: ConvGeometry): void {
  transform(from * 4, to * 4, g.channels, g.height, g.width, g.kernelH, g.kernelW, g.outH, g.outW, g.strideH, g.strideW, g.padTop, g.padLeft, g.dilationH, g.dilationW);
}

export const wasmColumns: ColumnArea = {
  prepare(g) {
    const m = instance();
    const { colsAt } = layout(m, g);
    const floats = colsAt + colRows(g) * colCols(g);
    if (floats > m.heap.length) m.heap = EmbeddedWasm.reserve("conv2d", m.memory, floats, "one image's column matrix") ?? m.heap;
    return { cols: m.heap, at: colsAt };
  },
  im2col(g, x, xOffset) {
    const m = state!;
    const { imageAt, imageSize, colsAt } = layout(m, g);
    m.heap.set(x.subarray(xOffset, xOffset + imageSize), imageAt);
    run(m, m.im2col, imageAt, colsAt, g);
  },
  col2im(g, dx, dxOffset) {
    const m = state!;
    const { imageAt, imageSize, colsAt } = layout(m, g);
    run(m, m.col2im, colsAt, imageAt, g);
    dx.set(m.heap.subarray(imageAt, imageAt + imageSize), dxOffset);
  },
};
