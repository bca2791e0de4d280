/**
 * flatten as torch.flatten(input, start_dim, end_dim): dimensions start_dim…end_dim (negative
 * counting from the end) become one; a 0-d input becomes [1]. The gradient is dy reshaped back.
 * ONNX: Flatten(axis 1) for nn.Flatten's default (1, −1), which also keeps a dynamic batch;
 * any other range is a Reshape whose target shape is read from the input's Shape at run time, so
 * every dimension outside the range stays as dynamic as it was (Constant value_ints: opset ≥ 12).
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import { formatShape } from "../shape";
import { show } from "./window";

const OP = "flatten";

export const FlattenF = defineFunction<[tf.Tensor, number, number]>({
  name: OP,
  inputNames: ["input", "start_dim", "end_dim"],
  forward(ctx, x, startDim, endDim) {
    ctx.attributes.set("shape", x.shape);
    return tf.reshape(x, flattenedShape(OP, x.shape, startDim, endDim));
  },
  backward(ctx, dy) {
    return tf.reshape(dy, ctx.attributes.get("shape") as number[]);
  },
  symbolic(g, x, startDim, endDim) {
    return this.lower!(g, x, startDim, endDim);
  },
  lower(g, x, startDim, endDim) {
    if (startDim === 1 && endDim === -1) return g.op("Flatten", x!, { axis_i: 1 });
    const ints = (values: number[]) => g.op("Constant", { value_ints_i: values });
    const shape = g.op("Shape", x!);
    const parts = [];
    if (startDim !== 0) parts.push(g.op("Slice", shape, ints([0]), ints([startDim])));
    parts.push(ints([-1]));
    // end_dim −1 is the last dimension: nothing after it (Slice from 0 would be everything).
    if (endDim !== -1) parts.push(g.op("Slice", shape, ints([endDim + 1]), ints([Number.MAX_SAFE_INTEGER])));
    const target = parts.length === 1 ? parts[0]! : g.op("Concat", ...parts, { axis_i: 0 });
    return g.op("Reshape", x!, target);
  },
});

/** torch.flatten(input, start_dim = 0, end_dim = −1); nn.Flatten's defaults are (1, −1). */
export function flatten(input: tf.Tensor, startDim = 0, endDim = -1): tf.Tensor {
  if (!(input instanceof tf.Tensor)) throw new TypeError(`${OP}: input must be a tf.Tensor, got ${show(input)}`);
  flattenedShape(OP, input.shape, startDim, endDim);
  return FlattenF.apply(input, startDim, endDim);
}

/** The output shape, after PyTorch's checks on the two dimensions. */
export function flattenedShape(op: string, shape: readonly number[], startDim: unknown, endDim: unknown): number[] {
  const rank = Math.max(shape.length, 1); // a 0-d tensor takes dims −1 and 0, as torch's
  const dim = (name: string, d: unknown) => {
    if (typeof d !== "number" || !Number.isInteger(d) || d < -rank || d >= rank) {
      throw new RangeError(`${op}: ${name} must be an integer in [${-rank}, ${rank - 1}] for a ${shape.length}-D input ${formatShape(shape)}, got ${show(d)}`);
    }
    return d < 0 ? d + rank : d;
  };
  const start = dim("start_dim", startDim);
  const end = dim("end_dim", endDim);
  if (start > end) throw new RangeError(`${op}: start_dim ${show(startDim)} comes after end_dim ${show(endDim)} for a ${shape.length}-D input; expected start_dim ≤ end_dim`);
  if (shape.length === 0) return [1];
  const merged = shape.slice(start, end + 1).reduce((a, b) => a * b, 1);
  return [...shape.slice(0, start), merged, ...shape.slice(end + 1)];
}
