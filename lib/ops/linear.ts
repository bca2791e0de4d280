/**
 * The seed's custom op: Y = X·Wᵀ + B with its hand-derived backward
 * (dX = dY·W, dW = dYᵀ·X, dB = Σ_batch dY), its ONNX symbolic, MYLINEAR, and its standard-ONNX
 * form, one Gemm. On the webgpu backend forward and backward run gradlab's own WGSL kernels
 * (lib/webgpu/linear_kernels.ts): the forward as the tfjs kernel "MyLinear", whose registered
 * gradient is this backward, and the backward's products as MyLinearBackpropInput (dX) and
 * MyLinearBackpropWeight (dW and dB in one pass). On cpu and wasm the same three kernels are
 * host loops (lib/host/linear_kernels.ts): one dispatch per product. Elsewhere (tfjs-node, webgl,
 * or with the kernels turned off) they are tfjs ops.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import { hostKernelsActive } from "../host/host_tensors";
import "../host/linear_kernels";
import { fitsWebGPUGrid, LINEAR_BACKPROP_INPUT, LINEAR_BACKPROP_WEIGHT, LINEAR_KERNEL } from "../webgpu/linear_kernels";

export const LinearF = defineFunction<[tf.Tensor2D, tf.Tensor2D, tf.Tensor1D]>({
  name: "MYLINEAR",
  inputNames: ["x", "weight", "bias"],
  forward(ctx, x, weight, bias) {
    ctx.saveForBackward(x, weight);
    // Not tf.fused.matMul({ transposeB, bias }), which would save a kernel: tfjs-backend-wasm
    // 4.22's fused kernel returns wrong values with transposeB (e.g. 37×5 · (3×5)ᵀ), caught by
    // the host-reference tests.
    return tf.add(tf.matMul(x, weight, false, true), bias);
  },
  backward(ctx, dy) {
    const [x, weight] = ctx.saved as [tf.Tensor2D, tf.Tensor2D];
    const dY = dy as tf.Tensor2D;
    // The first layer's input is data: under backward() nobody needs its gradient, so skip the product.
    const [needX, needW, needB] = ctx.needsInputGrad;
    if (registered(LINEAR_BACKPROP_INPUT) && registered(LINEAR_BACKPROP_WEIGHT) && kernelsTake(x, weight, null, dY)) {
      const dX = needX ? (tf.engine().runKernel(LINEAR_BACKPROP_INPUT, { dy: dY, weight }) as tf.Tensor) : null;
      if (!needW && !needB) return [dX, null, null];
      const [dW, dB] = tf.engine().runKernel(LINEAR_BACKPROP_WEIGHT, { dy: dY, x }) as tf.Tensor[];
      return [dX, dW!, dB!];
    }
    return [needX ? tf.matMul(dY, weight) : null, needW ? tf.matMul(dY, x, true, false) : null, needB ? tf.sum(dY, 0) : null];
  },
  kernel: {
    name: LINEAR_KERNEL,
    inputs: ["x", "weight", "bias"],
    saved: ["x", "weight"],
    accepts: (x, weight, bias) => kernelsTake(x, weight, bias, null),
  },
  symbolic(g, x, weight, bias) {
    return g.op("MYLINEAR", x!, weight!, bias!);
  },
  // Gemm computes X·op(W) + B with op = transpose under transB, the same sum as forward's.
  lower(g, x, weight, bias) {
    return g.op("Gemm", x!, weight!, bias!, { transB_i: 1 });
  },
});

function registered(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

/**
 * Whether gradlab's kernels take x [batch, in], weight [out, in] and bias [out] (forward) or
 * dy [batch, out] (backward): float32, non-empty, within WebGPU's grid on webgpu, host loops on
 * (setHostKernels) on cpu and wasm. Anything else runs on tfjs's ops, so what they would reject
 * fails with their error.
 */
function kernelsTake(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null, dy: tf.Tensor | null): boolean {
  const backend = tf.getBackend();
  if ((backend === "cpu" || backend === "wasm") && !hostKernelsActive()) return false;
  if (x.rank !== 2 || weight.rank !== 2 || x.size === 0 || weight.size === 0) return false;
  const [batch, inFeatures] = x.shape as [number, number];
  const [outFeatures, weightIn] = weight.shape as [number, number];
  return (
    [x, weight, bias, dy].every((t) => t === null || t.dtype === "float32") &&
    weightIn === inFeatures &&
    (bias === null || (bias.rank === 1 && bias.shape[0] === outFeatures)) &&
    (dy === null || (dy.rank === 2 && dy.shape[0] === batch && dy.shape[1] === outFeatures)) &&
    fitsWebGPUGrid({ batch, inFeatures, outFeatures })
  );
}
