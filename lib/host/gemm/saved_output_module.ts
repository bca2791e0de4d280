/**
 * An activation's backward from its saved output, dx = f(y, dy) element by element, in the sgemm
 * module (activations.c: relu_backward, sigmoid_backward, tanh_backward): y and dy are copied into
 * the module's memory a chunk at a time, dx computed in place of dy and copied out while still in
 * cache.
 */
import { gemmAvailable } from "./sgemm";
import { align4, reserve, sgemmModule, type SgemmModule } from "./sgemm_module";

/** Elements per chunk (LeNet's first relu, 150528 elements: backward 122 → 90 µs against whole-tensor copies). */
export const CHUNK = 8192;

/** The compiled loops from this many elements: the measured crossover with relu's JavaScript loops, copies included, is 32 to 48. */
export const MODULE_FROM = 64;

/** Whether n elements go through the module: enough of them, and an engine that runs it. */
export const savedOutputInModule = (n: number): boolean => n >= MODULE_FROM && gemmAvailable();

type Kernel = "reluBackward" | "sigmoidBackward" | "tanhBackward";

/** dx = the kernel's f(y, dy), through the module's memory a chunk at a time. */
export function savedOutputBackward(kernel: Kernel, ys: Float32Array, dys: Float32Array, dx: Float32Array): void {
  const module: SgemmModule = sgemmModule();
  const yAt = module.base;
  const dyAt = align4(yAt + Math.min(ys.length, CHUNK));
  reserve(module, dyAt + Math.min(ys.length, CHUNK));
  const run = module[kernel];
  for (let start = 0; start < ys.length; start += CHUNK) {
    const n = Math.min(CHUNK, ys.length - start);
    module.heap.set(ys.subarray(start, start + n), yAt);
    module.heap.set(dys.subarray(start, start + n), dyAt);
    run(n, yAt * 4, dyAt * 4, dyAt * 4);
    dx.set(module.heap.subarray(dyAt, dyAt + n), start);
  }
}
