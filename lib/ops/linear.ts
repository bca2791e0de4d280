/**
 * The seed's custom op: Y = X·Wᵀ + B with its hand-derived backward
 * (dX = dY·W, dW = dYᵀ·X, dB = Σ_batch dY), its ONNX symbolic, MYLINEAR, and its standard-ONNX
 * form, one Gemm.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";

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
    return [tf.matMul(dY, weight), tf.matMul(dY, x, true, false), tf.sum(dY, 0)];
  },
  symbolic(g, x, weight, bias) {
    return g.op("MYLINEAR", x!, weight!, bias!);
  },
  // Gemm computes X·op(W) + B with op = transpose under transB, the same sum as forward's.
  lower(g, x, weight, bias) {
    return g.op("Gemm", x!, weight!, bias!, { transB_i: 1 });
  },
});
