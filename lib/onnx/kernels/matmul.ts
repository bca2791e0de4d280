/**
 * Matrix products: tfjs's BatchMatMul (every tf.matMul, 2-D or batched, broadcasting the batch
 * axes as numpy's matmul and ONNX's MatMul do) and the fused form tf.fused.matMul runs, with its
 * bias and activation written after the product.
 */
import type { SymbolicValue } from "../symbolic";
import type { KernelContext, KernelWriter } from "./context";

/** `value` with its last two axes swapped (tfjs's transposeA/transposeB). */
function swapLastTwo(k: KernelContext, value: SymbolicValue, rank: number): SymbolicValue {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [rank - 1, rank - 2];
  return k.g.op("Transpose", value, { perm_i: perm });
}

function product(k: KernelContext): SymbolicValue {
  const a = k.attr<boolean>("transposeA") ? swapLastTwo(k, k.in("a"), k.info("a").shape.length) : k.in("a");
  const b = k.attr<boolean>("transposeB") ? swapLastTwo(k, k.in("b"), k.info("b").shape.length) : k.in("b");
  return k.g.op("MatMul", a, b);
}

export const batchMatMul: KernelWriter = product;

/** The activations tf.fused ops apply after the bias, as ONNX ops. */
export function fusedActivation(k: KernelContext, x: SymbolicValue): SymbolicValue {
  const activation = k.attr<string>("activation") ?? "linear";
  switch (activation) {
    case "linear":
      return x;
    case "relu":
      return k.g.op("Relu", x);
    case "relu6":
      return k.g.op("Clip", x, k.scalar(0), k.scalar(6));
    case "elu":
      return k.g.op("Elu", x);
    case "sigmoid":
      return k.g.op("Sigmoid", x);
    case "leakyrelu":
      return k.g.op("LeakyRelu", x, { alpha_f: k.attr<number>("leakyreluAlpha") ?? 0.2 });
    case "prelu":
      return k.g.op("PRelu", x, k.in("preluActivationWeights"));
    default:
      return k.fail(`its fused activation "${activation}" is not one gradlab writes (linear, relu, relu6, elu, sigmoid, leakyrelu, prelu)`);
  }
}

export const fusedMatMul: KernelWriter = (k) => {
  const y = product(k);
  return fusedActivation(k, k.has("bias") ? k.g.op("Add", y, k.in("bias")) : y);
};
