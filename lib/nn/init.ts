/** Parameter initialisers with torch.nn.init's formulas, drawn from gradlab's seeded generator. */
import * as tf from "@tensorflow/tfjs";
import { defaultGenerator, type Generator } from "../random";
import { sizeOf } from "../shape";

/** U[low, high), as torch.nn.init.uniform_ (the seed's init: U[0, 1)). */
export function uniform(shape: number[], low = 0, high = 1, generator: Generator = defaultGenerator): tf.Tensor {
  return tf.tensor(generator.uniformArray(sizeOf(shape), low, high), shape);
}

/**
 * torch.nn.Linear's default: kaiming_uniform_(a = √5) for the weight, which works out to
 * U(−1/√fan_in, 1/√fan_in); the bias uses the same bound.
 */
export function kaimingUniformBound(fanIn: number, a = Math.sqrt(5)): number {
  const gain = Math.sqrt(2 / (1 + a * a));
  return gain * Math.sqrt(3 / fanIn);
}
