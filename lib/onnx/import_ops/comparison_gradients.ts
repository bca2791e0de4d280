/**
 * Zero gradients for tfjs's comparison and logic kernels. tfjs registers one for GreaterEqual but
 * not for Greater, Less, Equal and the rest, so a mask computed from a trainable value (Elu's
 * x > 0, ThresholdedRelu's x > alpha) stops backward() with "gradient function not found". A
 * comparison is piecewise constant: its gradient is zero, as in PyTorch. Registered only where
 * tfjs has none, once, when the importer is loaded.
 */
import * as tf from "@tensorflow/tfjs";

/** Each kernel's input names, as tfjs's kernel_names.ts gives them. */
const KERNELS: Record<string, string[]> = {
  Greater: ["a", "b"], Less: ["a", "b"], LessEqual: ["a", "b"], Equal: ["a", "b"], NotEqual: ["a", "b"],
  LogicalAnd: ["a", "b"], LogicalOr: ["a", "b"], LogicalXor: ["a", "b"], LogicalNot: ["x"],
};

for (const [kernelName, inputs] of Object.entries(KERNELS)) {
  if (tf.getGradient(kernelName) !== undefined) continue;
  tf.registerGradient({
    kernelName,
    inputsToSave: inputs,
    gradFunc: (_dy, saved) => Object.fromEntries(inputs.map((name, i) => [name, () => tf.zerosLike(saved[i]!)])),
  });
}
