/**
 * tf.batchNorm's kernel, FusedBatchNorm: y = offset + (x − mean)·scale / √(variance + ε), with
 * mean, variance, scale and offset broadcasting against x as tfjs broadcasts them. Written as that
 * formula in tfjs's order of operations rather than as ONNX's BatchNormalization, which wants the
 * channel on axis 1 and one value per channel: the formula holds for any layout and any shapes
 * tfjs accepts, and gives tfjs's rounding.
 */
import type { KernelWriter } from "./context";

export const fusedBatchNorm: KernelWriter = (k) => {
  const centred = k.g.op("Sub", k.in("x"), k.in("mean"));
  const scaled = k.has("scale") ? k.g.op("Mul", centred, k.in("scale")) : centred;
  const deviation = k.g.op("Sqrt", k.g.op("Add", k.in("variance"), k.scalar(k.attr<number>("varianceEpsilon"))));
  const normalised = k.g.op("Div", scaled, deviation);
  return k.has("offset") ? k.g.op("Add", k.in("offset"), normalised) : normalised;
};
