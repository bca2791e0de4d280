/**
 * Linear without bias (torch.nn.Linear(…, bias=False)): Y = X·Wᵀ, dX = dY·W, dW = dYᵀ·X. An op of
 * its own rather than LinearF with a zero bias, so no bias gradient is computed and none appears
 * in the state dict. Standard ONNX already has it: Gemm with transB and no C.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";

export const LinearNoBiasF = defineFunction<[tf.Tensor2D, tf.Tensor2D]>({
  name: "LINEAR_NOBIAS",
  inputNames: ["x", "weight"],
  forward(ctx, x, weight) {
    ctx.saveForBackward(x, weight);
    return tf.matMul(x, weight, false, true);
  },
  backward(ctx, dy) {
    const [x, weight] = ctx.saved as [tf.Tensor2D, tf.Tensor2D];
    // The first layer's input is data: under backward() nobody needs its gradient.
    const [needX, needW] = ctx.needsInputGrad;
    return [needX ? tf.matMul(dy, weight) : null, needW ? tf.matMul(dy, x, true, false) : null];
  },
  symbolic(g, x, weight) {
    return g.op("Gemm", x, weight, { transB_i: 1 });
  },
  lower(g, x, weight) {
    return g.op("Gemm", x, weight, { transB_i: 1 });
  },
});
