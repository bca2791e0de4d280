/**
 * A trainable tensor, as torch.nn.Parameter: the value lives in a tf.Variable (updated in place by
 * optimizers, so no allocation per step) and `grad` holds the accumulated gradient, or null.
 */
import * as tf from "@tensorflow/tfjs";

export class Parameter {
  readonly value: tf.Variable;
  /** Accumulated by backward(), consumed by an optimizer's step(), cleared by zeroGrad(). */
  grad: tf.Tensor | null = null;

  /** The variable starts as a copy of `initial`, which stays the caller's to dispose. */
  constructor(initial: tf.Tensor) {
    this.value = tf.variable(initial, true);
  }

  /** A parameter made from a tensor nobody else holds: the tensor is freed once copied in. */
  static adopt(initial: tf.Tensor): Parameter {
    const parameter = new Parameter(initial);
    initial.dispose();
    return parameter;
  }

  get shape(): number[] {
    return this.value.shape;
  }

  /** Adds to the stored gradient, as repeated loss.backward() calls do in PyTorch. */
  accumulateGrad(grad: tf.Tensor): void {
    if (this.grad === null) {
      this.grad = tf.keep(grad);
      return;
    }
    const previous = this.grad;
    this.grad = tf.keep(tf.add(previous, grad));
    previous.dispose();
    grad.dispose();
  }

  /** Drops the gradient (PyTorch's zero_grad(set_to_none=True), its default since 2.0). */
  clearGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }

  dispose(): void {
    this.clearGrad();
    this.value.dispose();
  }
}
