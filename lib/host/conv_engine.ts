/**
 * Which engine the host conv (conv_host.ts) runs on: "wasm", the sgemm WebAssembly SIMD module
 * (gemm/conv.c: im2col and products inside the module, gemm/conv_module.ts), where this engine runs
 * it; else "js", plain JavaScript loops (sgemm_js.ts, im2col/im2col_js.ts), which give the same
 * results within float32 round-off. Chosen on first use.
 */
import { gemmAvailable } from "./gemm/sgemm";
import type { HostBackendName } from "./host_tensors";

export type ConvEngine = "wasm" | "js";

let chosen: ConvEngine | undefined;
let forcedJs = false;

export function convEngine(): ConvEngine {
  chosen ??= forcedJs || !gemmAvailable() ? "js" : "wasm";
  return chosen;
}

/**
 * Whether conv2d should take the host path on this backend. On cpu always: tfjs-backend-cpu's
 * conv is JavaScript loops too, 40× slower on LeNet's convs than the fallback engine. On wasm
 * only with the WebAssembly engine: without it, tfjs-wasm's own kernels (XNNPACK's forward) beat
 * the JavaScript loops about 3× on LeNet's convs, forward and backward together. A fallback forced
 * by useJsConvEngine runs anyway, so that tests reach it on both backends.
 */
export function hostConvPays(backend: HostBackendName): boolean {
  return backend === "cpu" || forcedJs || convEngine() === "wasm";
}

/** Run on the JavaScript loops (true) or on the best this engine has (false); returns the previous setting. For tests and benchmarks of the fallback. */
export function useJsConvEngine(on: boolean): boolean {
  const previous = forcedJs;
  forcedJs = on;
  chosen = undefined;
  return previous;
}
