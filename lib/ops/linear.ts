/**
 * The seed's custom op: Y = X·Wᵀ + B with its hand-derived backward
 * (dX = dY·W, dW = dYᵀ·X, dB = Σ_batch dY) and its ONNX symbolic, MYLINEAR.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";

export const LinearF = defineFunction<[tf.Tensor2D, tf.Tensor2D, tf.Tensor1D]>({
  name: "MYLINEAR",
  inputNames: ["x", "weight", "bias"],
  forward(ctx, x, weight, bias) {
    ctx.saveForBackward(x, weight);
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
});
