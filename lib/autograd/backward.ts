/**
 * loss.backward() for tfjs: runs the loss function under a gradient tape and accumulates the
 * gradient of every parameter it touched into `parameter.grad`, as PyTorch does.
 */
import * as tf from "@tensorflow/tfjs";
import type { Parameter } from "../nn/parameter";
import { formatShape } from "../shape";
import { withGradientSources } from "./gradient_sources";

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
  // tf.variableGrads, minus its per-call bookkeeping (checking the list, naming the gradients):
  // the engine's gradients() over the trainable parameters, as variableGrads computes them.
  const trainable: Parameter[] = [];
  const variables: tf.Variable[] = [];
  for (const p of parameters) {
    if (p.value.trainable) {
      trainable.push(p);
      variables.push(p.value);
    }
  }
  if (variables.length === 0) {
    throw new RangeError(`backward: none of the ${parameters.length} parameters given is trainable; pass model.parameters()`);
  }
  // Declaring the variables as the sources lets each op's backward skip the gradients that lead
  // to none of them (ctx.needsInputGrad), e.g. the first layer's gradient for the data.
  const { value, grads } = withGradientSources(variables, () => tf.engine().gradients(scalarLoss, variables, undefined, true));
  if (grads.every((g) => g == null)) {
    value.dispose();
    throw new RangeError(
      "backward: the loss does not depend on any of the parameters given; compute the model's forward inside the loss function passed to backward()",
    );
  }
  if (shapeError !== null) {
    value.dispose();
    grads.forEach((g) => g?.dispose());
    throw new RangeError(shapeError);
  }
  for (let i = 0; i < trainable.length; i++) {
    const g = grads[i];
    if (g != null) trainable[i]!.accumulateGrad(g);
  }
  return value;
}
