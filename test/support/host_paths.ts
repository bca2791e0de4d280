/**
 * The fused host kernels (cpu and wasm) against the tfjs-kernel path of the same op on the same
 * backend: that path is what webgpu and tfjs-node run, and what the host kernels replace, so the
 * two must agree wherever the torch fixtures do not reach (ties, ignored rows, empty batches).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { hostBackend, setHostKernels, type HostKernels } from "../../lib/host/host_tensors";

/** Runs `run` with the host kernels on or off, and puts the previous setting back. */
export function withHostKernels<T>(on: HostKernels, run: () => T): T {
  const previous = setHostKernels(on);
  try {
    return run();
  } finally {
    setHostKernels(previous);
  }
}

/** Runs `run` on the host path, then on the tfjs path (the host kernels off). */
export function onBothPaths(run: (hostKernels: boolean) => void): void {
  for (const on of [true, false]) withHostKernels(on, () => run(on));
}

/** How many tensors the host kernels allocate during `run` (0: the tfjs-kernel path ran). */
export function hostAllocations(run: () => void): number {
  const host = hostBackend();
  assert.ok(host, `the ${tf.getBackend()} backend has no host kernels`);
  const alloc = host.alloc;
  let count = 0;
  host.alloc = (shape) => {
    count++;
    return alloc(shape);
  };
  try {
    run();
  } finally {
    host.alloc = alloc;
  }
  return count;
}

export interface PathTolerance {
  rtol: number;
  atol: number;
}

/**
 * `run` (an op's outputs and gradients) on both paths: the host path must allocate host storage,
 * the tfjs path none, and their results agree within `tol`, with NaN in the same places and the
 * same shapes. Frees what `run` returns.
 */
export function assertPathsAgree(run: () => tf.Tensor[], tol: PathTolerance, what: string): void {
  let host: tf.Tensor[] = [];
  const allocations = hostAllocations(() => (host = withHostKernels(true, () => tf.tidy(run))));
  let generic: tf.Tensor[] = [];
  const genericAllocations = hostAllocations(() => (generic = withHostKernels(false, () => tf.tidy(run))));
  try {
    assert.ok(allocations > 0, `${what}: the host path did not run`);
    assert.equal(genericAllocations, 0, `${what}: the tfjs path used the host kernels`);
    assert.equal(host.length, generic.length, `${what}: number of results`);
    host.forEach((h, i) => {
      const g = generic[i]!;
      assert.deepEqual(h.shape, g.shape, `${what}: result ${i} shape`);
      const [a, b] = [Array.from(h.dataSync()), Array.from(g.dataSync())];
      assert.deepEqual(a.map(Number.isNaN), b.map(Number.isNaN), `${what}: result ${i} is NaN in the same places (host ${a.slice(0, 6)}, tfjs ${b.slice(0, 6)})`);
      a.forEach((v, j) => {
        const e = b[j]!;
        // Equal values (±∞ among them) agree; the rest within tol.
        if (v === e || Number.isNaN(v)) return;
        assert.ok(Math.abs(v - e) <= tol.atol + tol.rtol * Math.abs(e), `${what}: result ${i}, element ${j}: host path ${v}, tfjs path ${e} (atol ${tol.atol}, rtol ${tol.rtol})`);
      });
    });
  } finally {
    tf.dispose([...host, ...generic]);
  }
}
