/**
 * Runs a complete WGSL module on tfjs-backend-webgpu's device, inside its command stream.
 *
 * Not through backend.runWebGPUProgram: that prepends tfjs's own preamble to every shader, which
 * rules out `enable subgroups;` (an enable directive must come first in a module), and it gives a
 * program exactly one output, where the weight-gradient kernel writes dW and dB in one pass. So
 * gradlab compiles its own modules and records them the way tfjs records its programs: on the
 * backend's command encoder and compute pass, with the inputs and outputs marked as owned by the
 * pending commands (so a tensor disposed before the queue is submitted keeps its buffer until
 * then), uniforms in buffers tfjs recycles after submission, and a submit every
 * WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE dispatches, as tfjs does. The backend members used here are
 * tfjs-backend-webgpu 4.x internals; `webgpuBackend()` checks they are there and says so if not.
 *
 * Pipelines are cached per device under the program's key, which names every specialisation the
 * WGSL depends on; GRADLAB_WEBGPU_DEBUG=1 (or setWebGPUDebug) prints each module as it is compiled.
 */
import * as tf from "@tensorflow/tfjs";

/** The parts of tfjs-backend-webgpu's WebGPUBackend that gradlab's kernels use. */
export interface WebGPUBackendInternals {
  device: GPUDevice;
  queue: GPUQueue;
  tensorMap: { get(dataId: object): { resource: unknown; values: unknown; dtype: string; shape: number[] } };
  bufferManager: { acquireBuffer(size: number, usage: number): GPUBuffer };
  uniformPendingDisposal: GPUBuffer[];
  commandQueueOwnedIds: WeakSet<object>;
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  dispatchCountInPass: number;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: unknown): tf.TensorInfo;
  uploadToGPU(dataId: object): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

const REQUIRED_METHODS = ["makeTensorInfo", "uploadToGPU", "ensureCommandEncoderReady", "endComputePassEncoder", "submitQueue"] as const;
const REQUIRED_FIELDS = ["device", "queue", "tensorMap", "bufferManager", "uniformPendingDisposal", "commandQueueOwnedIds"] as const;

/** The backend object handed to a kernel, checked to be a tfjs-backend-webgpu one this code knows. */
export function webgpuBackend(backend: unknown): WebGPUBackendInternals {
  const b = backend as Record<string, unknown>;
  const missing = [...REQUIRED_METHODS.filter((m) => typeof b?.[m] !== "function"), ...REQUIRED_FIELDS.filter((f) => b?.[f] == null)];
  if (missing.length) {
    throw new Error(
      `gradlab's WebGPU kernels need tfjs-backend-webgpu 4.x internals that this backend lacks (${missing.join(", ")}); ` +
        `set GRADLAB_WEBGPU_KERNELS=0 to use tfjs's own kernels`,
    );
  }
  return backend as WebGPUBackendInternals;
}

export interface WgslProgram {
  /** Names every specialisation the WGSL depends on: the pipeline cache key. */
  key: string;
  /** The whole module, entry point `main`. */
  wgsl(): string;
  /** Workgroups to dispatch along x, y, z. */
  workgroups: [number, number, number];
}

// GPUBufferUsage, spelled out: the global exists only once a WebGPU implementation is loaded.
const USAGE_UNIFORM = 0x40;
const USAGE_COPY_DST = 0x08;

let debugSink: ((message: string) => void) | null = envFlag("GRADLAB_WEBGPU_DEBUG") === true ? (m) => console.log(m) : null;

/** Print (or hand to `sink`) each WGSL module as it is compiled; false turns it off. */
export function setWebGPUDebug(sink: boolean | ((message: string) => void)): void {
  debugSink = sink === true ? (m) => console.log(m) : sink === false ? null : sink;
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** The keys compiled so far on this device (what the cache holds). */
export function compiledKeys(device: GPUDevice): string[] {
  return [...(pipelines.get(device)?.keys() ?? [])];
}

function pipelineFor(device: GPUDevice, program: WgslProgram): GPUComputePipeline {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, (cache = new Map()));
  let pipeline = cache.get(program.key);
  if (!pipeline) {
    const code = program.wgsl();
    debugSink?.(`gradlab webgpu: compiling ${program.key}\n${code}`);
    const module = device.createShaderModule({ code, label: program.key });
    pipeline = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" }, label: program.key });
    cache.set(program.key, pipeline);
  }
  return pipeline;
}

/**
 * Dispatch `program` reading `inputs` and writing fresh float32 tensors of `outputShapes`;
 * `dims` fills the module's uniform struct (u32s, padded to 16 bytes).
 */
export function runWgsl(
  backend: WebGPUBackendInternals,
  program: WgslProgram,
  inputs: readonly tf.TensorInfo[],
  outputShapes: readonly number[][],
  dims: readonly number[],
): tf.TensorInfo[] {
  const outputs = outputShapes.map((shape) => backend.makeTensorInfo(shape, "float32"));
  const buffers: GPUBuffer[] = [];
  for (const t of [...inputs, ...outputs]) {
    backend.uploadToGPU(t.dataId);
    const resource = backend.tensorMap.get(t.dataId).resource;
    if (!(resource && typeof (resource as GPUBuffer).mapAsync === "function")) {
      throw new Error(`gradlab webgpu ${program.key}: tensor of shape [${t.shape}] is not held in a GPU buffer`);
    }
    buffers.push(resource as GPUBuffer);
  }
  const uniformBytes = Math.ceil((dims.length * 4) / 16) * 16;
  const uniformData = new Uint32Array(uniformBytes / 4);
  uniformData.set(dims);
  const uniform = backend.bufferManager.acquireBuffer(uniformBytes, USAGE_UNIFORM | USAGE_COPY_DST);
  backend.queue.writeBuffer(uniform, 0, uniformData);
  backend.uniformPendingDisposal.push(uniform);

  const pipeline = pipelineFor(backend.device, program);
  const entries: GPUBindGroupEntry[] = buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
  entries.push({ binding: buffers.length, resource: { buffer: uniform } });
  const bindGroup = backend.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  for (const t of [...inputs, ...outputs]) backend.commandQueueOwnedIds.add(t.dataId);

  backend.ensureCommandEncoderReady();
  if (!backend.computePassEncoder) backend.computePassEncoder = backend.commandEncoder!.beginComputePass({});
  const pass = backend.computePassEncoder;
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(...program.workgroups);
  backend.dispatchCountInPass++;
  if (backend.dispatchCountInPass >= (tf.env().get("WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE") as number)) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
  return outputs;
}

/** Submit what tfjs has recorded and wait until the GPU has finished it (for timing). */
export async function webgpuFinish(backend: unknown): Promise<void> {
  const b = webgpuBackend(backend);
  if (b.commandEncoder) {
    b.endComputePassEncoder();
    b.submitQueue();
  }
  await b.queue.onSubmittedWorkDone();
}

/** An environment variable in Node, Deno (with --allow-env) and tslab; undefined where unreadable. */
export function readEnv(name: string): string | undefined {
  try {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
    const value = env?.[name];
    return value === "" ? undefined : value;
  } catch {
    return undefined;
  }
}

/** An on/off environment variable: true, false ("0", "false", "no", "off"), or undefined when unset. */
export function envFlag(name: string): boolean | undefined {
  const value = readEnv(name);
  if (value === undefined) return undefined;
  return !/^(0|false|no|off)$/i.test(value.trim());
}

/** Split a dispatch of `count` workgroups over x and y, within the per-dimension limit. */
export function spread(count: number, limit = 65535): [number, number, number] {
  if (count <= limit) return [count, 1, 1];
  return [limit, Math.ceil(count / limit), 1];
}
