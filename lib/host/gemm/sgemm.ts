/**
 * gradlab's own float32 matrix product on the host, synchronous on Float32Arrays:
 *
 *   C = alpha·op(A)·op(B) [+ C when accumulate] [+ bias added to every row]
 *
 * tfjs-backend-wasm's matMul (XNNPACK) is fast only without transposes, and the cpu backend's is
 * plain JavaScript; a linear layer needs X·Wᵀ, dY·W and dYᵀ·X, so gradlab's fused host kernels
 * (cpu and wasm backends alike) call this instead: a packed, register-blocked WebAssembly SIMD
 * sgemm (sgemm.c, embedded as base64 by build.sh in sgemm_wasm.ts, so Node, Deno and tslab import
 * it the same way with no file to find).
 *
 * The module owns its memory: each call copies the operands into one scratch area there (grown
 * when a call needs more, reused after), computes, and writes the m×n result into the caller's
 * array. So operands may be views of another heap (tfjs-wasm's) and may overlap the output.
 * Single-threaded and synchronous: one module per JavaScript realm (a worker instantiates its own).
 */
import { align4, outputView, reserve, sgemmModule } from "./sgemm_module";

export { gemmAvailable } from "./sgemm_module";

/** One product. op(A) is m×k, op(B) is k×n, C is m×n; every matrix row-major. */
export interface SgemmArgs {
  m: number;
  n: number;
  k: number;
  /** A as stored: m×k, or k×m when transA (then op(A) = Aᵀ). */
  a: Float32Array;
  transA?: boolean;
  /** Where A's first element is in `a` (default 0). */
  aOffset?: number;
  /** Elements from one stored row of A to the next (default: the stored row length, k or m). */
  lda?: number;
  /** B as stored: k×n, or n×k when transB (then op(B) = Bᵀ). */
  b: Float32Array;
  transB?: boolean;
  bOffset?: number;
  ldb?: number;
  /** The output, m×n; read too when accumulate. Elements outside the m×n block are left as they are. */
  c: Float32Array;
  cOffset?: number;
  /** Elements from one row of C to the next (default n). */
  ldc?: number;
  /** Scales the product, not C or the bias (default 1; rounded to float32). */
  alpha?: number;
  /** Add to C instead of overwriting it (β = 1; default false: β = 0). */
  accumulate?: boolean;
  /** n elements added to every row of C, as for Y = X·Wᵀ + b. */
  bias?: Float32Array;
  biasOffset?: number;
}

/** Inputs shorter than this are copied by a loop: cheaper than making a subarray for set(). */
const COPY_LOOP_MAX = 48;

/** Copies src[from, from + count) into dst from index `to`. */
function copyInto(dst: Float32Array, to: number, src: Float32Array, from: number, count: number): void {
  if (from === 0 && count === src.length) dst.set(src, to);
  else if (count <= COPY_LOOP_MAX) for (let i = 0; i < count; i++) dst[to + i] = src[from + i]!;
  else dst.set(src.subarray(from, from + count), to);
}

/** Elements a rows×cols matrix with leading dimension ld spans: from its first element to its last. */
function span(rows: number, cols: number, ld: number): number {
  return rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols;
}

/** A value as an error message shows it: numbers as they are, anything else by its kind. */
function show(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  return typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value;
}

function isCount(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0;
}

function checkSize(name: string, value: unknown): void {
  if (!isCount(value)) throw new RangeError(`sgemm: ${name} must be a non-negative integer, got ${show(value)}`);
}

/** Checks that `array` is a Float32Array holding `elements` from `offset`; `what()` names them in the error. */
function checkArray(name: string, array: unknown, offset: unknown, elements: number, what: () => string): void {
  if (!(array instanceof Float32Array)) throw new TypeError(`sgemm: ${name} must be a Float32Array, got ${show(array)}`);
  if (!isCount(offset)) throw new RangeError(`sgemm: ${name}Offset must be a non-negative integer, got ${show(offset)}`);
  if (offset + elements > array.length) {
    throw new RangeError(`sgemm: ${name} is too short: ${what()} from offset ${offset} needs ${offset + elements} elements, ${name} has ${array.length}`);
  }
}

/**
 * Checks one stored matrix, rows×cols with leading dimension ld from offset, and returns how many
 * elements it spans. `what` describes it for errors, e.g. "A (stored k×m = 4×3, transA)".
 */
function checkMatrix(name: string, array: unknown, offset: unknown, ldName: string, ld: unknown, rows: number, cols: number,
  what: () => string): number {
  if (!isCount(ld) || ld < cols) {
    throw new RangeError(`sgemm: ${ldName} must be an integer ≥ ${cols} (the row length of ${what()}), got ${show(ld)}`);
  }
  const elements = span(rows, cols, ld);
  checkArray(name, array, offset, elements, () => `${what()} with ${ldName} ${ld}`);
  return elements;
}

/** C = alpha·op(A)·op(B) [+ C] [+ bias]; see SgemmArgs. Throws on bad arguments, naming the one at fault. */
export function sgemm(args: SgemmArgs): void {
  const { m, n, k, a, b, c, bias } = args;
  checkSize("m", m);
  checkSize("n", n);
  checkSize("k", k);
  const transA = args.transA === true;
  const transB = args.transB === true;
  const aRows = transA ? k : m, aCols = transA ? m : k;
  const bRows = transB ? n : k, bCols = transB ? k : n;
  const aOffset = args.aOffset ?? 0, bOffset = args.bOffset ?? 0, cOffset = args.cOffset ?? 0;
  const lda = args.lda ?? aCols, ldb = args.ldb ?? bCols, ldc = args.ldc ?? n;
  const aSpan = checkMatrix("a", a, aOffset, "lda", lda, aRows, aCols,
    () => `A (stored ${transA ? "k×m" : "m×k"} = ${aRows}×${aCols}${transA ? ", transA" : ""})`);
  const bSpan = checkMatrix("b", b, bOffset, "ldb", ldb, bRows, bCols,
    () => `B (stored ${transB ? "n×k" : "k×n"} = ${bRows}×${bCols}${transB ? ", transB" : ""})`);
  checkMatrix("c", c, cOffset, "ldc", ldc, m, n, () => `C (m×n = ${m}×${n})`);
  const biasOffset = args.biasOffset ?? 0;
  if (bias !== undefined) checkArray("bias", bias, biasOffset, n, () => `the bias (n = ${n} elements)`);
  const alpha = args.alpha ?? 1;
  if (typeof alpha !== "number") throw new TypeError(`sgemm: alpha must be a number, got ${show(alpha)}`);
  const accumulate = args.accumulate === true;
  if (m === 0 || n === 0) return;

  const module = sgemmModule();
  // C first, at a fixed place, so that the view to copy it out through can be reused.
  const cAt = module.base;
  const biasAt = align4(cAt + m * n);
  const aAt = align4(biasAt + (bias === undefined ? 0 : n));
  const bAt = align4(aAt + aSpan);
  reserve(module, bAt + bSpan);
  const heap = module.heap;
  copyInto(heap, aAt, a, aOffset, aSpan);
  copyInto(heap, bAt, b, bOffset, bSpan);
  if (bias !== undefined) copyInto(heap, biasAt, bias, biasOffset, n);
  // In the module, C is dense (ldc = n): rows are copied in and out one by one when the caller's are not.
  if (accumulate) {
    if (ldc === n) copyInto(heap, cAt, c, cOffset, m * n);
    else for (let i = 0; i < m; i++) copyInto(heap, cAt + i * n, c, cOffset + i * ldc, n);
  }
  // A leading dimension only steps between rows; one-row operands' (which may be anything) stay out of 32-bit arithmetic.
  module.sgemm(m, n, k, alpha, aAt * 4, aRows > 1 ? lda : aCols, transA ? 1 : 0, bAt * 4, bRows > 1 ? ldb : bCols,
    transB ? 1 : 0, cAt * 4, n, accumulate ? 1 : 0, bias === undefined ? 0 : biasAt * 4);
  if (ldc === n) c.set(outputView(module, m * n), cOffset);
  else for (let i = 0; i < m; i++) copyInto(c, cOffset + i * ldc, heap, cAt + i * n, n);
}
