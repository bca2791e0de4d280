/**
 * Models whose custom ops are called more than once with different constants, the case that gave
 * a silently wrong file (issue 12): an op name defined twice with its slope baked into `lower`, an
 * op taking its slope as a non-tensor argument (an ONNX attribute), an op whose `lower` computes
 * with its argument, and an op with two outputs. Each model concatenates every call's output, so a
 * test can compare ONNX Runtime with gradlab call by call.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../../lib/function";
import { Linear } from "../../lib/nn/linear";
import { Module } from "../../lib/nn/module";
import { Generator } from "../../lib/random";

/** A leaky ReLU whose slope is baked into its definition, as the model had it. */
function bakedLeaky(slope: number) {
  return defineFunction<[tf.Tensor]>({
    name: "LEAKY",
    forward: (ctx, x) => {
      ctx.saveForBackward(x);
      return tf.leakyRelu(x, slope);
    },
    backward: (ctx, dy) => tf.mul(dy, tf.where(tf.greater(ctx.saved[0]!, 0), tf.onesLike(dy), tf.fill(dy.shape, slope))),
    lower: (g, x) => g.op("LeakyRelu", x, { alpha_f: slope }),
  });
}

/** The slope as apply()'s argument: an attribute of the custom node and of the body's LeakyRelu. */
export const LeakyBy = defineFunction<[tf.Tensor, number]>({
  name: "LEAKYBY",
  inputNames: ["x", "slope"],
  forward: (ctx, x, slope) => {
    ctx.saveForBackward(x);
    return tf.leakyRelu(x, slope);
  },
  backward: (ctx, dy) => [tf.mul(dy, tf.where(tf.greater(ctx.saved[0]!, 0), tf.onesLike(dy), tf.fill(dy.shape, ctx.attrs[1] as number))), null],
  symbolic: (g, x, slope) => g.op("LEAKYBY", x, { slope_f: slope }),
  lower: (g, x, slope) => g.op("LeakyRelu", x, { alpha_f: slope }),
});

/** x·(1 − p) + p: `lower` computes with its argument rather than passing it on (no ref_attr_name could say this). */
export const Blend = defineFunction<[tf.Tensor, number]>({
  name: "BLEND",
  inputNames: ["x", "p"],
  forward: (_ctx, x, p) => tf.add(tf.mul(x, 1 - p), p),
  backward: (ctx, dy) => [tf.mul(dy, 1 - (ctx.attrs[1] as number)), null],
  symbolic: (g, x, p) => g.op("BLEND", x, { p_f: p }),
  lower: (g, x, p) => g.op("Add", g.op("Mul", x, g.op("Constant", { value_float_f: 1 - p })), g.op("Constant", { value_float_f: p })),
});

/** Two outputs: the positive and the negative part, as a several-output node and function. */
export const SplitSign = defineFunction<[tf.Tensor], [tf.Tensor, tf.Tensor]>({
  name: "SPLITSIGN",
  inputNames: ["x"],
  forward: (_ctx, x) => [tf.relu(x), tf.relu(tf.neg(x))],
  backward: (_ctx, dPositive, dNegative) => [tf.add(dPositive ?? 0, tf.neg(dNegative ?? 0))],
  lower: (g, x) => [g.op("Relu", x), g.op("Relu", g.op("Neg", x))],
});

/** Linear, then LEAKY(0.01), LEAKY(0.9) and LEAKY(0.01) again (two definitions of one name), side by side. */
export class BakedSlopes extends Module {
  readonly fc: Linear;
  readonly calls = [bakedLeaky(0.01), bakedLeaky(0.9), bakedLeaky(0.01)];
  readonly width = 4;
  constructor() {
    super();
    this.fc = new Linear(3, 4, { generator: new Generator(21) });
  }
  forward(x: tf.Tensor): tf.Tensor {
    const h = this.fc.forward(x);
    return tf.concat(this.calls.map((op) => op.apply(h)), 1);
  }
}

/** LEAKYBY with slopes 0.01, 0.9, 0.01 and BLEND with 0.25 and 0.75, and SPLITSIGN's two outputs. */
export class AttributeCalls extends Module {
  readonly fc: Linear;
  readonly width = 4;
  constructor() {
    super();
    this.fc = new Linear(3, 4, { generator: new Generator(22) });
  }
  forward(x: tf.Tensor): tf.Tensor {
    const h = this.fc.forward(x);
    const [positive, negative] = SplitSign.apply(h);
    return tf.concat([LeakyBy.apply(h, 0.01), LeakyBy.apply(h, 0.9), LeakyBy.apply(h, 0.01), Blend.apply(h, 0.25), Blend.apply(h, 0.75), positive, negative], 1);
  }
}

/** x·sigmoid(x) and the erf GELU as custom ops: ONNX Runtime's float64 trouble spots (issue 12). */
export const Silu = defineFunction<[tf.Tensor]>({
  name: "SILU",
  forward: (_ctx, x) => tf.mul(x, tf.sigmoid(x)),
  backward: (_ctx, dy) => dy,
  lower: (g, x) => g.op("Mul", x, g.op("Sigmoid", x)),
});

export const ErfGelu = defineFunction<[tf.Tensor]>({
  name: "ERFGELU",
  forward: (_ctx, x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))),
  backward: (_ctx, dy) => dy,
  // 0.5·x·(1 + erf(x/√2)), with its constants made from x's own type (CastLike), so the body is right in float64 too.
  lower: (g, x) => {
    const like = (value: number) => g.op("CastLike", g.op("Constant", { value_float_f: value }), x);
    return g.op("Mul", g.op("Mul", x, like(0.5)), g.op("Add", like(1), g.op("Erf", g.op("Div", x, like(Math.SQRT2)))));
  },
});

/** Linear, then SILU, ERFGELU and BLEND (whose lower writes float constants) side by side. */
export class Float64Trouble extends Module {
  readonly fc: Linear;
  readonly width = 4;
  constructor() {
    super();
    this.fc = new Linear(3, 4, { generator: new Generator(23) });
  }
  forward(x: tf.Tensor): tf.Tensor {
    const h = this.fc.forward(x);
    return tf.concat([Silu.apply(h), ErfGelu.apply(h), Blend.apply(h, 0.25)], 1);
  }
}
