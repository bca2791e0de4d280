/**
 * loss.backward() for tfjs: runs the loss function under a gradient tape and accumulates the
 * gradient of every parameter it touched into `parameter.grad`, as PyTorch does.
 */
import * as tf from "@tensorflow/tfjs";
import type { Parameter } from "../nn/parameter";
import { formatShape } from "../shape";

/** Returns the loss (kept: dispose it, or read it later, without a per-step host sync). */
export function backward(loss: () => tf.Tensor, parameters: readonly Parameter[]): tf.Scalar {
  if (parameters.length === 0) throw new RangeError("backward: no parameters given; pass model.parameters()");
  let shapeError: string | null = null;
  const scalarLoss = (): tf.Scalar => {
    const value = loss();
    if (value.rank !== 0) {
      shapeError = `backward: the loss must be a scalar, got shape ${formatShape(value.shape)}; reduce it first (mean or sum)`;
      // tfjs needs a scalar to proceed; the error is raised once the tape is closed.
      return tf.sum(value);
    }
    return value as tf.Scalar;
  };
  const { value, grads } = tf.variableGrads(scalarLoss, parameters.map((p) => p.value));
  if (shapeError !== null) {
    value.dispose();
    Object.values(grads).forEach((g) => g.dispose());
    throw new RangeError(shapeError);
  }
  for (const p of parameters) {
    const g = grads[p.value.name];
    if (g !== undefined) p.accumulateGrad(g);
  }
  return value;
}
