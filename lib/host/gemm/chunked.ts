/**
 * A compiled loop over arrays outside the module (a tfjs backend's storage): the inputs are copied
 * into the module's memory a chunk at a time, the loop runs there, and its result, written in place
 * of the last input, is copied out while still in cache. Used by relu's forward, the activations'
 * backward from their saved output and softmax's backward (activations.c).
 */
import { align4, reserve, sgemmModule } from "./sgemm_module";

/** Elements per chunk (LeNet's first relu, 150528 elements: backward 122 → 90 µs against whole-tensor copies). */
export const CHUNK = 8192;

/**
 * output = run over `inputs`, all of output's length, in chunks of at most CHUNK elements (whole
 * rows of `rowLength`; one row when a row is longer). `run(n, addresses)` gets the chunk's length
 * and each input's byte address in the module, and leaves its result at the last one.
 */
export function runInChunks(inputs: readonly Float32Array[], output: Float32Array, run: (n: number, addresses: readonly number[]) => void,
  rowLength = 1): void {
  const length = output.length;
  if (length === 0) return;
  const chunk = Math.min(length, Math.max(1, Math.floor(CHUNK / Math.max(1, rowLength))) * rowLength);
  const module = sgemmModule();
  const at: number[] = [];
  let next = module.base;
  for (let i = 0; i < inputs.length; i++) {
    at.push(next);
    next = align4(next + chunk);
  }
  reserve(module, next);
  const addresses = at.map((a) => a * 4);
  const resultAt = at[at.length - 1]!;
  for (let start = 0; start < length; start += chunk) {
    const n = Math.min(chunk, length - start);
    for (let i = 0; i < inputs.length; i++) module.heap.set(inputs[i]!.subarray(start, start + n), at[i]!);
    run(n, addresses);
    output.set(module.heap.subarray(resultAt, resultAt + n), start);
  }
}
