/**
 * gelu(x) = x·Φ(x) ("none", erf form) or torch's tanh approximation
 * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) ("tanh"). Backward differentiates the chosen form:
 * Φ(x) + x·φ(x), or 0.5·(1 + t) + 0.5·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²).
 * The tanh form is computed as x·σ(2u) (0.5·(1 + tanh u) = σ(2u)): the same function, without
 * the cancellation of 1 + tanh(u) ≈ 1 − 0.9998 for negative x that costs float32 its digits.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction, describe } from "../function";
import type { SymbolicGraph, SymbolicValue } from "../onnx/symbolic";
import { checkFloatTensor, checkOptions } from "./argument_checks";

export type GeluApproximate = "none" | "tanh";

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const KAPPA = 0.044715;

export const GeluF = defineFunction<[tf.Tensor, GeluApproximate]>({
  name: "Gelu",
  inputNames: ["input", "approximate"],
  forward(ctx, x, approximate) {
    // Backward reuses the gate (Φ(x) or σ(2u)) rather than computing erf or the sigmoid again.
    const gate = approximate === "tanh" ? tf.sigmoid(tf.mul(2, tanhInner(x))) : tf.mul(0.5, tf.add(1, tf.erf(tf.mul(x, SQRT1_2))));
    ctx.saveForBackward(x, gate);
    return tf.mul(x, gate);
  },
  backward(ctx, dy) {
    const [x, gate] = ctx.saved as [tf.Tensor, tf.Tensor];
    if (ctx.attrs[1] === "tanh") {
      // s = σ(2u) = 0.5·(1 + t) and 0.5·(1 − t²) = 2·s·(1 − s).
      const s = gate;
      const dInner = tf.mul(SQRT_2_OVER_PI, tf.add(1, tf.mul(3 * KAPPA, tf.square(x))));
      return tf.mul(dy, tf.add(s, tf.mul(tf.mul(tf.mul(2, x), tf.mul(s, tf.sub(1, s))), dInner)));
    }
    const pdf = tf.mul(INV_SQRT_2PI, tf.exp(tf.mul(-0.5, tf.square(x))));
    return tf.mul(dy, tf.add(gate, tf.mul(x, pdf)));
  },
  // ONNX has Gelu only from opset 20; gradlab exports opsets 11-17, so both write the formula.
  symbolic: (g, x, approximate) => geluOnnx(g, x, approximate),
  lower: (g, x, approximate) => geluOnnx(g, x, approximate),
});

function tanhInner(x: tf.Tensor): tf.Tensor {
  return tf.mul(SQRT_2_OVER_PI, tf.add(x, tf.mul(KAPPA, tf.pow(x, 3))));
}

function geluOnnx(g: SymbolicGraph, x: SymbolicValue, approximate: GeluApproximate): SymbolicValue {
  const c = (v: number) => g.op("Constant", { value_float_f: v });
  if (approximate === "tanh") {
    const u = g.op("Mul", c(2 * SQRT_2_OVER_PI), g.op("Add", x, g.op("Mul", c(KAPPA), g.op("Mul", x, g.op("Mul", x, x)))));
    return g.op("Mul", x, g.op("Sigmoid", u));
  }
  return g.op("Mul", g.op("Mul", x, c(0.5)), g.op("Add", c(1), g.op("Erf", g.op("Mul", x, c(SQRT1_2)))));
}

/** torch.nn.functional.gelu(input, approximate="none"). */
export function gelu(input: tf.Tensor, options: { approximate?: GeluApproximate } = {}): tf.Tensor {
  checkFloatTensor("gelu", "input", input);
  checkOptions("gelu", options, ["approximate"]);
  const approximate = options.approximate ?? "none";
  if (approximate !== "none" && approximate !== "tanh") throw new RangeError(`gelu: approximate must be "none" or "tanh", got ${JSON.stringify(approximate) ?? describe(approximate)}`);
  return GeluF.apply(input, approximate);
}
