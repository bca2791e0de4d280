/**
 * Reductions over axes (tfjs's axis: a number, a list, or null for all). ReduceSum takes its axes
 * as an input from opset 13; the others take them as an attribute up to opset 17. ArgMax and
 * ArgMin give int64 in ONNX and int32 in tfjs, hence the Cast.
 */
import type { KernelWriter } from "./context";

/** `opType` over tfjs's axis attribute `axisAttr` ("axis", or Max's "reductionIndices"). */
export const reduce =
  (opType: string, axisAttr = "axis"): KernelWriter =>
  (k) => {
    const rank = k.info("x").shape.length;
    const axes = k.axes(k.attr(axisAttr), rank);
    const keepdims_i = k.attr<boolean>("keepDims") ? 1 : 0;
    // A reduction over no axes (a scalar's, or an empty list) is the identity in tfjs.
    if (axes.length === 0) return k.g.op("Identity", k.in("x"));
    if (opType === "ReduceSum" && k.opset >= 13) return k.g.op(opType, k.in("x"), k.ints(axes), { keepdims_i });
    return k.g.op(opType, k.in("x"), { axes_i: axes, keepdims_i });
  };

/** tfjs's all/any reduce bools; ONNX has no boolean reduction, so through int32 ReduceMin/Max. */
export const reduceBool =
  (opType: "ReduceMin" | "ReduceMax"): KernelWriter =>
  (k) => {
    const rank = k.info("x").shape.length;
    const axes = k.axes(k.attr("axis"), rank);
    const asInt = k.g.op("Cast", k.in("x"), { to_i: k.elementType("int32") });
    const reduced = k.g.op(opType, asInt, { axes_i: axes, keepdims_i: k.attr<boolean>("keepDims") ? 1 : 0 });
    return k.g.op("Cast", reduced, { to_i: k.elementType("bool") });
  };

export const argReduce =
  (opType: "ArgMax" | "ArgMin"): KernelWriter =>
  (k) => {
    const rank = k.info("x").shape.length;
    const [axis] = k.axes(k.attr("axis"), rank);
    const index = k.g.op(opType, k.in("x"), { axis_i: axis ?? 0, keepdims_i: 0 });
    return k.g.op("Cast", index, { to_i: k.elementType("int32") });
  };
