/**
 * Every suite runs on every backend Node has here (tfjs-core's describeWithFlags(ALL_ENVS) idea):
 * cpu and wasm always; webgpu for the suites that ask for it, on Dawn (a GPU, or Mesa's llvmpipe
 * through Dawn's OpenGL ES backend), skipped with the reason where Node has no WebGPU at all. The
 * WebGPU kernels themselves are checked in webgpu_dawn.test.ts, and in the Deno suite.
 */
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { ensureSoftwareGpu } from "../../kernel/system_deps";
import { setBackend } from "../../lib/backend";

export const NODE_BACKENDS = ["cpu", "wasm"] as const;
export type NodeBackend = (typeof NODE_BACKENDS)[number] | "webgpu";

export interface EachBackendOptions {
  /** Also run the suite on webgpu (default false: llvmpipe is slow, and most suites test backend-neutral code). */
  webgpu?: boolean;
}

export function describeEachBackend(name: string, body: (backend: NodeBackend) => void, options: EachBackendOptions = {}): void {
  for (const backend of NODE_BACKENDS) {
    describe(`${name} [${backend}]`, () => {
      before(async () => {
        // A webgpu probe started while the file was collected switches the global backend and
        // puts the previous one back when it answers: wait for it, or it would undo this choice.
        await probed;
        await setBackend(backend);
      });
      body(backend);
    });
  }
  if (!options.webgpu) return;
  describe(`${name} [webgpu]`, async () => {
    const reason = await webgpuUnavailable();
    if (reason !== null) {
      it(`not run: ${reason}`, { skip: reason }, () => {});
      return;
    }
    before(async () => {
      await setBackend("webgpu");
    });
    body("webgpu");
  });
}

let probed: Promise<string | null> | null = null;

/**
 * Why setBackend("webgpu") cannot start in this process, or null when it can (asked once). As
 * root, Mesa's software GPU is installed first where it is missing, so CI always has an adapter.
 */
export function webgpuUnavailable(): Promise<string | null> {
  probed ??= (async () => {
    const missing = ensureSoftwareGpu((line) => console.log(line));
    // The probe runs while the file's suites are being collected, and node:test may already be
    // running another suite's tests: put the backend they chose back as soon as webgpu answers.
    const previous = tf.getBackend();
    try {
      await setBackend("webgpu");
      return null;
    } catch (error) {
      return `no WebGPU in Node here: ${(error as Error).message}${missing ? ` (${missing})` : ""}`;
    } finally {
      if (previous && tf.getBackend() !== previous) await tf.setBackend(previous);
    }
  })();
  return probed;
}
