/**
 * The sgemm WebAssembly module (sgemm.c, embedded by build.sh as base64 in sgemm_wasm.ts) and the
 * scratch area in its memory where sgemm.ts places each call's operands: instantiated
 * synchronously on first use, grown when a call needs more room, reused across calls.
 */
import { SGEMM_WASM_BASE64 } from "./sgemm_wasm";

/** The module's export, addresses in bytes (see sgemm.c). */
export type SgemmExport = (m: number, n: number, k: number, alpha: number, a: number, lda: number, transA: number,
  b: number, ldb: number, transB: number, c: number, ldc: number, accumulate: number, bias: number) => void;

export interface SgemmModule {
  readonly sgemm: SgemmExport;
  /** Float32 view of the whole memory; replaced when the memory grows, so read it after reserve(). */
  heap: Float32Array;
  /** The first float index free for operands, 16-byte aligned (above the stack and the packing buffers). */
  readonly base: number;
}

const WASM_PAGE_BYTES = 65536;
/** wasm32 addresses are 32-bit: no engine grants more. */
const MAX_MEMORY_BYTES = 2 ** 32;
/** Views of the output region kept for reuse (one per output length): enough for a training step's products. */
const MAX_OUTPUT_VIEWS = 32;

let bytes: ArrayBuffer | undefined;
/** Why the module cannot run here, once known: null when it can. */
let unavailable: string | null | undefined;
let state: { module: SgemmModule; memory: WebAssembly.Memory; outputViews: Map<number, Float32Array> } | undefined;

function moduleBytes(): ArrayBuffer {
  if (bytes === undefined) {
    // atob, not Buffer: the same code runs under Node, Deno, tslab and in browsers.
    const text = atob(SGEMM_WASM_BASE64);
    // A plain ArrayBuffer, typed as such: the BufferSource that every TypeScript lib (Node's, Deno's) accepts.
    const buffer = new ArrayBuffer(text.length);
    const view = new Uint8Array(buffer);
    for (let i = 0; i < text.length; i++) view[i] = text.charCodeAt(i);
    bytes = buffer;
  }
  return bytes;
}

/**
 * Whether this engine runs the module: WebAssembly with 128-bit SIMD (the module validates), and
 * synchronous compilation allowed (some browsers refuse it on their main thread for modules over
 * 4 KB). Where it does not, callers take their own fallback path; sgemm() would throw.
 */
export function gemmAvailable(): boolean {
  if (unavailable === undefined) {
    if (typeof WebAssembly !== "object" || !WebAssembly.validate(moduleBytes())) {
      unavailable = "this engine lacks WebAssembly SIMD (128-bit)";
    } else {
      try {
        instantiate();
        unavailable = null;
      } catch (e) {
        unavailable = `this engine would not compile the module synchronously (${(e as Error).message})`;
      }
    }
  }
  return unavailable === null;
}

/** The instantiated module, on first use. */
export function sgemmModule(): SgemmModule {
  if (state !== undefined) return state.module;
  if (!gemmAvailable()) throw new Error(`sgemm: ${unavailable}; check gemmAvailable() and take another path`);
  return state!.module;
}

function instantiate(): void {
  // Synchronous compile and instantiation: the module is small (≈13 KB), and its callers are synchronous kernels.
  const exports = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()), {}).exports;
  const memory = exports.memory as WebAssembly.Memory;
  const heapBase = (exports.__heap_base as WebAssembly.Global).value as number;
  const module: SgemmModule = { sgemm: exports.sgemm as SgemmExport, heap: new Float32Array(memory.buffer), base: align4(heapBase / 4) };
  state = { module, memory, outputViews: new Map() };
}

/** Rounds a float index up to a 16-byte boundary. */
export function align4(index: number): number {
  return Math.ceil(index / 4) * 4;
}

/** Grows the memory, when needed, to hold `floats` float32s from address 0; module.heap is then the new view. */
export function reserve(module: SgemmModule, floats: number): void {
  if (floats <= module.heap.length) return;
  const { memory, outputViews } = state!;
  const bytesNeeded = floats * 4;
  const have = memory.buffer.byteLength;
  const tooBig = (why: string) => new RangeError(`sgemm: the operands need ${Math.ceil(bytesNeeded / 2 ** 20)} MiB of WebAssembly memory, ${why}`);
  if (bytesNeeded > MAX_MEMORY_BYTES) throw tooBig("more than a 32-bit address space holds (4096 MiB)");
  try {
    memory.grow(Math.ceil((bytesNeeded - have) / WASM_PAGE_BYTES));
  } catch (e) {
    throw tooBig(`more than this engine grants (${(e as Error).message})`);
  }
  module.heap = new Float32Array(memory.buffer);
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
