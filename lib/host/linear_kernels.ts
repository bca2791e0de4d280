/**
 * MYLINEAR's three kernels for the host backends (cpu, wasm), under the names the WebGPU ones use
 * (lib/webgpu/linear_kernels.ts):
 *
 *   MyLinear                {x, weight, bias} → y = x·weightᵀ + bias
 *   MyLinearBackpropInput   {dy, weight}      → dx = dy·weight
 *   MyLinearBackpropWeight  {dy, x}           → [dweight = dyᵀ·x, dbias = Σ_batch dy]
 *
 * One dispatch each instead of tfjs's matMul + add forward and matMul, matMul, sum backward (and
 * the transposed products tfjs-backend-wasm runs on a slow path): on a small model the dispatches
 * are most of the step. LinearF runs them where they are registered and host loops are on
 * (setHostKernels); the arithmetic is lib/host/linear_products.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { LINEAR_BACKPROP_INPUT, LINEAR_BACKPROP_WEIGHT, LINEAR_KERNEL } from "../webgpu/linear_kernels";
import { hostOf, type HostBackendName } from "./host_tensors";
import { linearBackpropInput, linearBackpropWeight, linearForward } from "./linear_products";

const HOST_BACKENDS: readonly HostBackendName[] = ["cpu", "wasm"];

function kernelsFor(backendName: HostBackendName): tf.KernelConfig[] {
  return [
    {
      kernelName: LINEAR_KERNEL,
      backendName,
      kernelFunc: ({ inputs, backend }) => {
        const { x, weight, bias } = inputs as { x: tf.TensorInfo; weight: tf.TensorInfo; bias: tf.TensorInfo };
        const host = hostOf(backend, backendName);
        const d = { batch: x.shape[0]!, inFeatures: x.shape[1]!, outFeatures: weight.shape[0]! };
        const y = host.alloc([d.batch, d.outFeatures]);
        linearForward(host.f32(x), host.f32(weight), host.f32(bias), host.f32(y), d);
        return y;
      },
    },
    {
      kernelName: LINEAR_BACKPROP_INPUT,
      backendName,
      kernelFunc: ({ inputs, backend }) => {
        const { dy, weight } = inputs as { dy: tf.TensorInfo; weight: tf.TensorInfo };
        const host = hostOf(backend, backendName);
        const d = { batch: dy.shape[0]!, inFeatures: weight.shape[1]!, outFeatures: weight.shape[0]! };
        const dx = host.alloc([d.batch, d.inFeatures]);
        linearBackpropInput(host.f32(dy), host.f32(weight), host.f32(dx), d);
        return dx;
      },
    },
    {
      kernelName: LINEAR_BACKPROP_WEIGHT,
      backendName,
      kernelFunc: ({ inputs, backend }) => {
        const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
        const host = hostOf(backend, backendName);
        const d = { batch: x.shape[0]!, inFeatures: x.shape[1]!, outFeatures: dy.shape[1]! };
        const dw = host.alloc([d.outFeatures, d.inFeatures]);
        const db = host.alloc([d.outFeatures]);
        linearBackpropWeight(host.f32(dy), host.f32(x), host.f32(dw), host.f32(db), d);
        return [dw, db];
      },
    },
  ];
}

for (const name of HOST_BACKENDS) for (const config of kernelsFor(name)) if (tf.getKernel(config.kernelName, name) === undefined) tf.registerKernel(config);
