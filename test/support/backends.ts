/**
 * Every suite runs on every backend Node has here (tfjs-core's describeWithFlags(ALL_ENVS) idea):
 * cpu and wasm always; webgpu is covered by the Deno suite, where an adapter exists.
 */
import { before, describe } from "node:test";
import { setBackend } from "../../lib/backend";

export const NODE_BACKENDS = ["cpu", "wasm"] as const;
export type NodeBackend = (typeof NODE_BACKENDS)[number];

export function describeEachBackend(name: string, body: (backend: NodeBackend) => void): void {
  for (const backend of NODE_BACKENDS) {
    describe(`${name} [${backend}]`, () => {
      before(async () => {
        await setBackend(backend);
      });
      body(backend);
    });
  }
}
