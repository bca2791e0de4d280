/**
 * tf.addN on webgpu, within the device's binding limit. tfjs-backend-webgpu's AddN binds every
 * input as a storage buffer of one shader; past the device's maxStorageBuffersPerShaderStage (8 on
 * llvmpipe, and the WebGPU default) the pipeline is invalid and the sum comes back as zeros,
 * silently. This wraps that kernel: inputs that fit go to it as they are, more are summed in
 * groups that fit, then the groups' sums, in the inputs' order.
 */
import * as tf from "@tensorflow/tfjs";

/** Marks the wrapper, so that installing it twice keeps one. */
const CHUNKED = Symbol("gradlab chunked AddN");

interface WebGPUBackendLike {
  device: GPUDevice;
  disposeData(dataId: object): boolean;
}

/** Inputs one AddN shader can bind: the device's storage buffers per stage, less the output's. */
export function addNInputLimit(backend: WebGPUBackendLike): number {
  return Math.max(2, backend.device.limits.maxStorageBuffersPerShaderStage - 1);
}

/** Replaces the registered webgpu AddN by the wrapper (once; a no-op where webgpu's AddN is not registered). */
export function installChunkedAddN(): void {
  const original = tf.getKernel(tf.AddN, "webgpu");
  if (original === undefined || (original.kernelFunc as unknown as Record<symbol, boolean>)[CHUNKED]) return;
  const run = original.kernelFunc;
  const kernelFunc: tf.KernelFunc = (args) => {
    const backend = args.backend as unknown as WebGPUBackendLike;
    const limit = addNInputLimit(backend);
    const sum = (inputs: tf.TensorInfo[]): tf.TensorInfo => {
      if (inputs.length <= limit) return run({ ...args, inputs: inputs as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
      const partials: tf.TensorInfo[] = [];
      for (let i = 0; i < inputs.length; i += limit) partials.push(sum(inputs.slice(i, i + limit)));
      const total = sum(partials);
      for (const p of partials) backend.disposeData(p.dataId);
      return total;
    };
    return sum(Array.from(args.inputs as unknown as ArrayLike<tf.TensorInfo>));
  };
  (kernelFunc as unknown as Record<symbol, boolean>)[CHUNKED] = true;
  tf.unregisterKernel(tf.AddN, "webgpu");
  tf.registerKernel({ ...original, kernelFunc });
}
