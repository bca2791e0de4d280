/**
 * Whether tensors can be read back synchronously (dataSync, arraySync) on the current backend.
 * tfjs can on cpu, wasm and tfjs-node, and on webgpu only in a browser: tfjs-backend-webgpu's
 * synchronous read goes through OffscreenCanvas, which Node, Deno and so tslab lack. gradlab's
 * synchronous APIs check first, so the error names the asynchronous one to use instead.
 */
import * as tf from "@tensorflow/tfjs";

/** Why the current backend cannot read values synchronously, or null where it can. */
export function syncReadProblem(): string | null {
  const backend = tf.getBackend();
  if (backend === "webgpu" && typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas === "undefined") {
    return "the webgpu backend reads values back synchronously only in a browser (through OffscreenCanvas, which this runtime lacks)";
  }
  return null;
}

/** Throw, naming `api` and the asynchronous `instead` (and why, if `note`), where the current backend cannot read synchronously. */
export function requireSyncRead(api: string, instead: string, note?: string): void {
  const problem = syncReadProblem();
  if (problem !== null) throw new Error(`${api}: ${problem}; use \`${instead}\`${note ? `, ${note}` : ""}`);
}
