/**
 * The element-wise kernels an optimizer step runs, called through the engine directly: a step runs
 * a dozen of them per parameter, and tfjs's op wrappers (argument conversion, a scope per call)
 * cost more than the kernels themselves on small tensors. Call inside tf.tidy.
 */
import * as tf from "@tensorflow/tfjs";

const run = (name: string, inputs: Record<string, tf.Tensor>) => tf.engine().runKernel(name, inputs as tf.NamedTensorMap) as tf.Tensor;

export const mul = (a: tf.Tensor, b: tf.Tensor) => run(tf.Multiply, { a, b });
export const add = (a: tf.Tensor, b: tf.Tensor) => run(tf.Add, { a, b });
export const sub = (a: tf.Tensor, b: tf.Tensor) => run(tf.Sub, { a, b });
export const div = (a: tf.Tensor, b: tf.Tensor) => run(tf.RealDiv, { a, b });
export const sqrt = (x: tf.Tensor) => run(tf.Sqrt, { x });
export const neg = (x: tf.Tensor) => run(tf.Neg, { x });
export const maximum = (a: tf.Tensor, b: tf.Tensor) => run(tf.Maximum, { a, b });
