/**
 * Shared by the Deno tests (not a test file itself: `deno test` collects *_test.ts only).
 * Backends to cover, whether WebGPU is there at all, a backend switch that checks it took, the
 * host-side float64 reference of Y = X·Wᵀ + b and a relative-tolerance comparison.
 */
import * as tf from "@tensorflow/tfjs";
import { setBackend, type BackendInfo } from "../../lib/backend";
import { Generator } from "../../lib/random";

export const BACKENDS = ["cpu", "wasm", "webgpu"] as const;
export type TestBackend = (typeof BACKENDS)[number];

/** The repository root, for subprocesses. */
export const REPO_ROOT = new URL("../../", import.meta.url);

export interface AdapterProbe {
  /** null when navigator.gpu gives an adapter; else why there is none. */
  missing: string | null;
  description: string;
  /** A fallback (software) adapter, by the adapter's own flag or its name. */
  software: boolean;
}

/** What navigator.gpu offers here, found independently of lib/backend.ts. */
export const ADAPTER: AdapterProbe = await probeAdapter();

async function probeAdapter(): Promise<AdapterProbe> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) return { missing: "this Deno has no navigator.gpu", description: "", software: false };
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" }).catch(() => null);
  if (!adapter) return { missing: "navigator.gpu offers no adapter", description: "", software: false };
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const description = info.description || info.device || info.vendor || "";
  const software = info.isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader|software/i.test(description);
  return { missing: null, description, software };
}

/** Why a backend cannot be tested here (then its tests are reported as ignored), or null. */
export function unavailable(backend: TestBackend): string | null {
  return backend === "webgpu" ? ADAPTER.missing : null;
}

/** Deno.test options for one backend: ignored, with the reason in its name, when it is not here. */
export function backendTest(title: string, backend: TestBackend, fn: () => Promise<void>): Deno.TestDefinition {
  const reason = unavailable(backend);
  return {
    name: `${title} [${backend}]${reason ? ` (ignored: ${reason})` : ""}`,
    ignore: reason !== null,
    // A WebGPU device and its buffers live for the whole process, past the test that made them.
    sanitizeResources: backend !== "webgpu",
    sanitizeOps: backend !== "webgpu",
    fn,
  };
}

/** Switch to `backend` by name through gradlab and check that it is really the one in use. */
export async function useBackend(backend: TestBackend): Promise<BackendInfo> {
  const info = await setBackend(backend);
  if (info.name !== backend || tf.getBackend() !== backend) {
    throw new Error(`setBackend(${backend}) gave ${info.name} (tfjs says ${tf.getBackend()})`);
  }
  return info;
}

export interface LinearCase {
  batch: number;
  inFeatures: number;
  outFeatures: number;
  /** Row-major [batch, in], [out, in], [out]: float32 values, so the host sees what the device sees. */
  x: Float32Array;
  w: Float32Array;
  b: Float32Array;
}

/** The fixed shapes (1×2→1, 37×5→3) and two drawn from a seeded generator, kept small for llvmpipe. */
export function linearCases(seed = 0): LinearCase[] {
  const g = new Generator(seed);
  const shapes: [number, number, number][] = [[1, 2, 1], [37, 5, 3]];
  for (let i = 0; i < 2; i++) shapes.push([g.integer(1, 16), g.integer(1, 9), g.integer(1, 6)]);
  return shapes.map(([batch, inFeatures, outFeatures]) => ({
    batch,
    inFeatures,
    outFeatures,
    x: Float32Array.from(g.normalArray(batch * inFeatures)),
    w: Float32Array.from(g.normalArray(outFeatures * inFeatures)),
    b: Float32Array.from(g.normalArray(outFeatures)),
  }));
}

export function shapeOf(c: LinearCase): string {
  return `${c.batch}×${c.inFeatures}→${c.outFeatures}`;
}

/**
 * Y = X·Wᵀ + b in float64 on the host, and for each entry the sum of the absolute values of its
 * terms, Σₖ|xᵢₖ·wₒₖ| + |bₒ|: the scale a float32 result's rounding error is relative to.
 */
export function hostLinear(c: LinearCase): { y: Float64Array; scale: Float64Array } {
  const y = new Float64Array(c.batch * c.outFeatures);
  const scale = new Float64Array(c.batch * c.outFeatures);
  for (let i = 0; i < c.batch; i++) {
    for (let o = 0; o < c.outFeatures; o++) {
      let sum = c.b[o]!;
      let abs = Math.abs(c.b[o]!);
      for (let k = 0; k < c.inFeatures; k++) {
        const term = c.x[i * c.inFeatures + k]! * c.w[o * c.inFeatures + k]!;
        sum += term;
        abs += Math.abs(term);
      }
      y[i * c.outFeatures + o] = sum;
      scale[i * c.outFeatures + o] = abs;
    }
  }
  return { y, scale };
}

/**
 * |actual − expected| ≤ rtol · max(|expected|, scale) entry by entry (scale: the magnitude of the
 * terms that were summed, so a result that cancels to near zero is judged against its inputs).
 */
export function assertAllClose(
  label: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  scale: ArrayLike<number> | null = null,
  rtol = 1e-5,
): void {
  if (actual.length !== expected.length) throw new Error(`${label}: ${actual.length} values, expected ${expected.length}`);
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const ref = Math.max(Math.abs(e), scale ? Math.abs(scale[i]!) : 0, Number.MIN_VALUE);
    const ratio = Math.abs(a - e) / ref;
    if (!(ratio <= rtol)) {
      if (worst === -1 || !(ratio <= worstRatio)) {
        worst = i;
        worstRatio = ratio;
      }
    }
  }
  if (worst !== -1) {
    throw new Error(
      `${label}: entry ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(relative error ${worstRatio.toExponential(2)} > ${rtol})`,
    );
  }
}

export function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}
