/**
 * Activation kernels. Most have an ONNX op of the same meaning; tfjs's constants are passed where
 * ONNX's defaults differ (Selu's are tfjs's to float64, ONNX's to float32).
 */
import type { KernelWriter } from "./context";

export const relu6: KernelWriter = (k) => {
  const dtype = k.info("x").dtype;
  return k.g.op("Clip", k.in("x"), k.scalar(0, dtype), k.scalar(6, dtype));
};

export const leakyRelu: KernelWriter = (k) => k.g.op("LeakyRelu", k.in("x"), { alpha_f: k.attr<number>("alpha") });

/** tfjs's prelu(x, alpha): alpha broadcasts against x, as ONNX's PRelu slope does. */
export const prelu: KernelWriter = (k) => k.g.op("PRelu", k.in("x"), k.in("alpha"));

export const selu: KernelWriter = (k) => k.g.op("Selu", k.in("x"), { alpha_f: 1.6732632423543772, gamma_f: 1.0507009873554805 });

/** tfjs's softmax works on the last axis only (its `dim`), which every opset's Softmax can take. */
export const softmax: KernelWriter = (k) => {
  const rank = k.info("logits").shape.length;
  const dim = k.attr<number>("dim");
  return k.g.op("Softmax", k.in("logits"), { axis_i: dim < 0 ? dim + rank : dim });
};
