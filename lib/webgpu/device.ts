/**
 * What the WebGPU device offers gradlab's kernels, and a device that offers it.
 *
 * tfjs-backend-webgpu's own backend factory asks for "timestamp-query" and nothing else, and a
 * shader may only `enable subgroups;` on a device created with the "subgroups" feature. So gradlab
 * registers the same factory again with "subgroups" added where the adapter has it (before the
 * backend is first started; an already-running backend is left alone), and after start-up compiles
 * and runs a one-line subgroup shader: Dawn (Node) and wgpu (Deno) differ in what WGSL they accept,
 * and a device feature alone does not say the compiler takes `enable subgroups;`. The kernels use
 * subgroups only when both hold and GRADLAB_WEBGPU_SUBGROUPS is not 0; the other path is always there.
 */
import * as tf from "@tensorflow/tfjs";
import { requestAdapter } from "./adapter";
import { envFlag } from "./runner";

export interface SubgroupDecision {
  use: boolean;
  /** Shaders open with `enable subgroups;` (Dawn) or use the builtins without it (wgpu/naga). */
  enableDirective: boolean;
  /** Why, in words (the bench prints it beside the adapter). */
  why: string;
}

export interface SubgroupFacts {
  /** GRADLAB_WEBGPU_SUBGROUPS=0 (or setSubgroupsAllowed(false)). */
  disabled: boolean;
  /** The device was created with the "subgroups" feature. */
  feature: boolean;
  /** The probe shader: null when it has not run, else whether it compiled and ran (with or without the enable directive), and why not. */
  probe: Probe | null;
}

export interface Probe {
  ok: boolean;
  enableDirective?: boolean;
  error?: string;
  subgroupSize?: number;
}

/** The selection rule, kept pure so a test can walk every case. */
export function decideSubgroups(f: SubgroupFacts): SubgroupDecision {
  const no = (why: string): SubgroupDecision => ({ use: false, enableDirective: false, why });
  if (f.disabled) return no("subgroups turned off (GRADLAB_WEBGPU_SUBGROUPS=0)");
  if (!f.feature) return no('no subgroups: the device lacks the "subgroups" feature');
  if (f.probe === null) return no("no subgroups: not probed yet (select the backend with gradlab's setBackend, or await prepareWebGPUKernels())");
  if (!f.probe.ok) return no(`no subgroups: the device has the feature but a subgroup shader failed on it (${f.probe.error ?? "no detail"})`);
  const enableDirective = f.probe.enableDirective !== false;
  return { use: true, enableDirective, why: `subgroups (size ${f.probe.subgroupSize ?? "?"} seen by the probe${enableDirective ? "" : "; WGSL without `enable subgroups;`, which this compiler rejects"})` };
}

let allowed = envFlag("GRADLAB_WEBGPU_SUBGROUPS") !== false;
const probes = new WeakMap<GPUDevice, Probe>();

/** Allow or forbid the subgroup kernels (tests, benchmarks); the environment sets the default. */
export function setSubgroupsAllowed(value: boolean): void {
  allowed = value;
}

export function subgroupDecision(device: GPUDevice): SubgroupDecision {
  return decideSubgroups({ disabled: !allowed, feature: device.features.has("subgroups"), probe: probes.get(device) ?? null });
}

const PROBE_BODY = `
@group(0) @binding(0) var<storage, read_write> out: array<u32, 2>;
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(local_invocation_index) i: u32, @builtin(subgroup_size) size: u32) {
  let sum = subgroupAdd(1u);
  if (i == 0u) { out[0] = sum; out[1] = size; }
}`;

/** Compile and run the probe shader once per device; its result feeds subgroupDecision. */
export async function probeSubgroups(device: GPUDevice): Promise<SubgroupDecision> {
  if (!probes.has(device) && device.features.has("subgroups")) probes.set(device, await runSubgroupProbe(device));
  return subgroupDecision(device);
}

/** `enable subgroups;` first (standard WGSL, Dawn); then without it (wgpu's naga rejects the directive). */
export async function runSubgroupProbe(device: GPUDevice): Promise<Probe> {
  const withEnable = await runProbeShader(device, `enable subgroups;${PROBE_BODY}`);
  if (withEnable.ok) return { ...withEnable, enableDirective: true };
  const without = await runProbeShader(device, PROBE_BODY);
  if (without.ok) return { ...without, enableDirective: false };
  return { ok: false, error: `with \`enable subgroups;\`: ${withEnable.error}; without: ${without.error}` };
}

async function runProbeShader(device: GPUDevice, code: string): Promise<Probe> {
  // GPUBufferUsage.STORAGE | COPY_SRC, and MAP_READ | COPY_DST, spelled out (see runner.ts).
  const out = device.createBuffer({ size: 8, usage: 0x80 | 0x04 });
  const read = device.createBuffer({ size: 8, usage: 0x01 | 0x08 });
  try {
    device.pushErrorScope("validation");
    let error: string | undefined;
    try {
      // The module's own error first: the pipeline's would only say that the module is invalid.
      device.pushErrorScope("validation");
      const module = device.createShaderModule({ code, label: "gradlab subgroup probe" });
      const moduleError = await device.popErrorScope();
      if (moduleError) throw new Error(moduleError.message);
      const pipeline = await device.createComputePipelineAsync({ layout: "auto", compute: { module, entryPoint: "main" } });
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out } }] }));
      pass.dispatchWorkgroups(1);
      pass.end();
      encoder.copyBufferToBuffer(out, 0, read, 0, 8);
      device.queue.submit([encoder.finish()]);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const scoped = await device.popErrorScope();
    if (error || scoped) return { ok: false, error: firstLine(error ?? scoped!.message) };
    await read.mapAsync(0x01);
    const [active, size] = new Uint32Array(read.getMappedRange().slice(0));
    read.unmap();
    // A subgroup sum of 1 over a subgroup's active invocations lies in [1, subgroup size].
    if (!(size! >= 1 && active! >= 1 && active! <= size!)) return { ok: false, error: `probe gave subgroupAdd(1) = ${active}, subgroup_size = ${size}` };
    return { ok: true, subgroupSize: size! };
  } catch (e) {
    return { ok: false, error: firstLine(e instanceof Error ? e.message : String(e)) };
  } finally {
    out.destroy();
    read.destroy();
  }
}

/** A compiler message on one line: naga's source excerpts (box-drawn lines) dropped, its notes kept. */
function firstLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim().replace(/^= /, "")).filter((l) => l && !/^[│┌└─^]|^\d+ │/.test(l));
  return [...new Set(lines)].join("; ").slice(0, 300);
}

export type WebGPUBackendClass = new (device: GPUDevice, adapterInfo?: GPUAdapterInfo) => tf.KernelBackend;
let factoryInstalled = false;

/**
 * Register tfjs-backend-webgpu's backend again with a factory that also requests "subgroups".
 * Does nothing once a "webgpu" backend has been started (its device is what tensors live on).
 */
export function installSubgroupCapableFactory(WebGPUBackend: WebGPUBackendClass): void {
  if (factoryInstalled || startedWebGPU() !== null) return;
  if (tf.findBackendFactory("webgpu") !== null) tf.removeBackend("webgpu");
  tf.registerBackend(
    "webgpu",
    async () => {
      const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
      if (!gpu) throw new Error("navigator.gpu is gone");
      const found = await requestAdapter(gpu, tf.env().get("WEBGPU_USE_LOW_POWER_GPU") ? "low-power" : "high-performance");
      if (!found) throw new Error("navigator.gpu offers no adapter");
      const adapter = found.adapter;
      // What tfjs's factory asks for, plus subgroups.
      const wanted: string[] = ["timestamp-query", "bgra8unorm-storage", "subgroups"];
      const offered = adapter.features as unknown as { has(name: string): boolean };
      const requiredFeatures = wanted.filter((f) => offered.has(f)) as GPUFeatureName[];
      const l = adapter.limits;
      const device = await adapter.requestDevice({
        requiredFeatures,
        requiredLimits: {
          maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
          maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
          maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
          maxBufferSize: l.maxBufferSize,
          maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
          maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        },
      });
      // Older WebGPU typings (tslab's) know neither `info` nor requestAdapterInfo.
      const a = adapter as GPUAdapter & { info?: GPUAdapterInfo; requestAdapterInfo?: () => Promise<GPUAdapterInfo> };
      const info = a.info ?? (await a.requestAdapterInfo?.());
      return new WebGPUBackend(device, info);
    },
    3,
  );
  factoryInstalled = true;
}

/** The "webgpu" backend if it has been started (tf.findBackend would start it). */
function startedWebGPU(): { device?: GPUDevice } | null {
  return (tf.engine().registry["webgpu"] as { device?: GPUDevice } | undefined) ?? null;
}

/** The device of the running "webgpu" backend, or null. */
export function webgpuDevice(): GPUDevice | null {
  return startedWebGPU()?.device ?? null;
}

/**
 * Decide, once the "webgpu" backend runs, whether the kernels may use subgroups (probing the
 * device). gradlab's setBackend calls it; call it yourself after tf.setBackend("webgpu").
 */
export async function prepareWebGPUKernels(): Promise<SubgroupDecision | null> {
  const device = webgpuDevice();
  return device ? await probeSubgroups(device) : null;
}
