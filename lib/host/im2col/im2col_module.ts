/**
 * The column area in the im2col WebAssembly module's memory (im2col.c, embedded by build.sh as
 * base64 in im2col_wasm.ts): the image is copied in at the start of the free memory, its column
 * matrix made after it; the matrix product reads the columns (or writes their gradients) there
 * directly, and col2im's image is copied out. Instantiated synchronously on first use; the memory
 * grows to the largest conv seen and is reused.
 */
import { colCols, colRows, type ConvGeometry } from "../conv_geometry";
import type { ColumnArea } from "./columns";
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

const WASM_PAGE_BYTES = 65536;

let bytes: ArrayBuffer | undefined;
/** Why the module cannot run here, once known: null when it can. */
let unavailable: string | null | undefined;
let state: Im2colModule | undefined;

function moduleBytes(): ArrayBuffer {
  if (bytes === undefined) {
    // atob, not Buffer: the same code runs under Node, Deno, tslab and in browsers.
    const text = atob(IM2COL_WASM_BASE64);
    // A plain ArrayBuffer: the BufferSource both Node's and Deno's TypeScript libs accept (as gemm/sgemm_module.ts).
    const buffer = new ArrayBuffer(text.length);
    const view = new Uint8Array(buffer);
    for (let i = 0; i < text.length; i++) view[i] = text.charCodeAt(i);
    bytes = buffer;
  }
  return bytes;
}

/**
 * Whether this engine runs the module: WebAssembly with 128-bit SIMD, and synchronous compilation
 * allowed (some browsers refuse it on their main thread for modules over 4 KB; this one is ≈4.3 KB).
 * Instantiates it, as first use would.
 */
export function im2colAvailable(): boolean {
  if (unavailable === undefined) {
    if (typeof WebAssembly !== "object" || !WebAssembly.validate(moduleBytes())) {
      unavailable = "this engine lacks WebAssembly SIMD (128-bit)";
    } else {
      try {
        state = instantiate();
        unavailable = null;
      } catch (e) {
        unavailable = `this engine would not compile the module synchronously (${(e as Error).message})`;
      }
    }
  }
  return unavailable === null;
}

function instance(): Im2colModule {
  if (state !== undefined) return state;
  if (!im2colAvailable()) throw new Error(`conv2d's im2col module: ${unavailable}; check im2colAvailable() and take the JavaScript columns`);
  return state!;
}

function instantiate(): Im2colModule {
  const exports = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()), {}).exports;
  const memory = exports.memory as WebAssembly.Memory;
  const heapBase = (exports.__heap_base as WebAssembly.Global).value as number;
  return { im2col: exports.im2col as Transform, col2im: exports.col2im as Transform, memory, heap: new Float32Array(memory.buffer), base: align4(heapBase / 4) };
}

const align4 = (index: number): number => Math.ceil(index / 4) * 4;

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
    if (floats > m.heap.length) {
      const bytesNeeded = floats * 4;
      try {
        m.memory.grow(Math.ceil((bytesNeeded - m.memory.buffer.byteLength) / WASM_PAGE_BYTES));
      } catch (e) {
        throw new RangeError(`conv2d: one image's column matrix needs ${Math.ceil(bytesNeeded / 2 ** 20)} MiB of WebAssembly memory, more than this engine grants (${(e as Error).message})`);
      }
      m.heap = new Float32Array(m.memory.buffer);
    }
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
