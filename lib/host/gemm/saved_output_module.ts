/**
 * An activation's backward from its saved output, dx = f(y, dy) element by element, in the sgemm
 * module (activations.c: relu_backward, sigmoid_backward, tanh_backward), y and dy copied in a
 * chunk at a time (chunked.ts) and dx computed in place of dy.
 */
import { runInChunks } from "./chunked";
import { gemmAvailable } from "./sgemm";
import { sgemmModule } from "./sgemm_module";

/** The compiled loops from this many elements: the measured crossover with relu's JavaScript loops, copies included, is 32 to 48. */
export const MODULE_FROM = 64;

/** Whether n elements go through the module: enough of them, and an engine that runs it. */
export const savedOutputInModule = (n: number): boolean => n >= MODULE_FROM && gemmAvailable();

type Kernel = "reluBackward" | "sigmoidBackward" | "tanhBackward";

/** dx = the kernel's f(y, dy), through the module's memory a chunk at a time. */
export function savedOutputBackward(kernel: Kernel, ys: Float32Array, dys: Float32Array, dx: Float32Array): void {
  const loop = sgemmModule()[kernel];
  runInChunks([ys, dys], dx, (n, [y, dy]) => loop(n, y!, dy!, dy!));
}
