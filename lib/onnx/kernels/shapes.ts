/**
 * Kernels that move data without arithmetic: reshape, transpose, concat, slice, gather, stack,
 * tile, broadcast, pad. tfjs gives every size as a number; where a size follows a dynamic axis
 * (trace_sizes.ts compared two traces), it is written so that ONNX derives it from the input:
 * -1 or 0 in a Reshape, "to the end" in a Slice, or read from the input (Shape, Gather) in a
 * Tile (tf.broadcastTo runs one) or a Fill.
 */
import type { SymbolicValue } from "../symbolic";
import type { KernelContext, KernelWriter } from "./context";

/** An ONNX Slice end meaning "to the end of the axis" (ONNX clamps ends to the size). */
const TO_THE_END = Number.MAX_SAFE_INTEGER;

/** Which entries of a list attribute differ at the other size (those follow a dynamic axis). */
function followsDynamicAxis(k: KernelContext, name: string): boolean[] {
  const here = k.attr<number[]>(name);
  const there = k.attrAtOtherSize<number[]>(name);
  return here.map((d, i) => d !== there[i]);
}

/**
 * tfjs's target shape, with each size that follows a dynamic axis written as 0 (copy the input's
 * size on that axis, where it is that size in both traces) or -1 (inferred; one at most), else
 * read from the inputs' dynamic axes (Shape → Gather).
 */
export const reshape: KernelWriter = (k) => {
  const x = k.info("x");
  const here = k.attr<number[]>("shape");
  const there = k.attrAtOtherSize<number[]>("shape");
  const target = here.map((d, i) => {
    if (d === there[i]) return d;
    const copies = x.dims[i] === null && x.shape[i] === d && x.shapeAtOtherSize[i] === there[i];
    return copies ? 0 : -1;
  });
  // Several to infer: ONNX infers one; the others must be sizes of the inputs' dynamic axes.
  if (target.filter((d) => d === -1).length > 1) return k.g.op("Reshape", k.in("x"), k.shape(here, there, "target shape"));
  return k.g.op("Reshape", k.in("x"), k.ints(target));
};

export const transpose: KernelWriter = (k) => k.g.op("Transpose", k.in("x"), { perm_i: k.attr<number[]>("perm") });

export const concat: KernelWriter = (k) => {
  const rank = k.output.shape.length;
  const [axis] = k.axes(k.attr("axis"), rank);
  return k.g.op("Concat", ...k.all(), { axis_i: axis! });
};

/** tfjs's slice(begin, size), size -1 meaning "to the end", as ONNX's Slice(starts, ends, axes). */
export const slice: KernelWriter = (k) => {
  const x = k.info("x");
  const begin = k.attr<number[]>("begin");
  const size = k.attr<number[]>("size");
  if (followsDynamicAxis(k, "begin").some(Boolean)) k.fail(`its begin [${begin.join(", ")}] changes with the dynamic axes; only sizes may follow them`);
  const dynamicSize = followsDynamicAxis(k, "size");
  const ends = size.map((s, i) => {
    if (s === -1) return TO_THE_END;
    if (!dynamicSize[i]) return begin[i]! + s;
    if (begin[i]! + s === x.shape[i]) return TO_THE_END;
    return k.fail(`its size on axis ${i} follows a dynamic axis but does not reach the end of it; ONNX would fix it at ${s}`);
  });
  const axes = begin.map((_, i) => i);
  return k.g.op("Slice", k.in("x"), k.ints(begin), k.ints(ends), k.ints(axes));
};

export const gather: KernelWriter = (k) => {
  if ((k.attr<number>("batchDims") ?? 0) !== 0) k.fail(`batchDims ${k.attr<number>("batchDims")} is not written (ONNX's Gather has none); only batchDims 0`);
  const [axis] = k.axes(k.attr("axis"), k.info("x").shape.length);
  return k.g.op("Gather", k.in("x"), k.in("indices"), { axis_i: axis! });
};

/** Unsqueeze: axes an input from opset 13, an attribute before. */
export function unsqueeze(k: KernelContext, x: SymbolicValue, axes: number[]): SymbolicValue {
  return k.opset >= 13 ? k.g.op("Unsqueeze", x, k.ints(axes)) : k.g.op("Unsqueeze", x, { axes_i: axes });
}

export const expandDims: KernelWriter = (k) => {
  const [axis] = k.axes(k.attr("dim"), k.output.shape.length);
  return unsqueeze(k, k.in("input"), [axis!]);
};

/** tf.stack: each input given the new axis, then joined along it. */
export const pack: KernelWriter = (k) => {
  const [axis] = k.axes(k.attr("axis"), k.output.shape.length);
  return k.g.op("Concat", ...k.all().map((x) => unsqueeze(k, x, [axis!])), { axis_i: axis! });
};

/** Repetitions that follow a dynamic axis (tf.broadcastTo tiles a size-1 axis to the batch) are read from the input. */
export const tile: KernelWriter = (k) => {
  const x = k.info("x");
  followsDynamicAxis(k, "reps").forEach((dynamic, i) => {
    if (dynamic && x.shape[i] !== 1) k.fail(`its repetitions on axis ${i} follow the dynamic axes, for an axis of size ${x.shape[i]}; only a size-1 axis can be tiled to a dynamic size`);
  });
  return k.g.op("Tile", k.in("x"), k.shape(k.attr("reps"), k.attrAtOtherSize("reps"), "repetitions"));
};

/** tf.fill: the value expanded to the shape (which may follow a dynamic axis). */
export const fill: KernelWriter = (k) =>
  k.g.op("Expand", k.scalar(k.attr<number>("value"), k.attr("dtype") ?? "float32"), k.shape(k.attr("shape"), k.attrAtOtherSize("shape"), "shape"));

/** tf.pad's [[before, after], …] as ONNX's [before…, after…], with the constant of x's type. */
export const pad: KernelWriter = (k) => {
  const paddings = k.attr<[number, number][]>("paddings");
  const pads = [...paddings.map(([before]) => before), ...paddings.map(([, after]) => after)];
  return k.g.op("Pad", k.in("x"), k.ints(pads), k.scalar(k.attr<number>("constantValue") ?? 0, k.info("x").dtype), { mode_s: "constant" });
};

/** Squeeze: axes an input from opset 13, an attribute before. */
function squeeze(k: KernelContext, x: SymbolicValue, axes: number[]): SymbolicValue {
  return k.opset >= 13 ? k.g.op("Squeeze", x, k.ints(axes)) : k.g.op("Squeeze", x, { axes_i: axes });
}

/** tf.split: equal parts (a count) or given sizes; ONNX's Split takes the sizes as an input from opset 13. */
export const splitV: KernelWriter = (k) => {
  const x = k.info("x");
  const [axis] = k.axes(k.attr("axis"), x.shape.length);
  const parts = k.step.outputs.length;
  const sizes = k.step.outputs.map((o) => o.shape[axis!]!);
  const equal = typeof k.attr("numOrSizeSplits") === "number";
  // Equal parts need no sizes (ONNX splits evenly by the output count), which keeps a dynamic axis dynamic.
  if (equal) return k.g.multiOp("Split", parts, k.in("x"), { axis_i: axis! });
  if (x.dims[axis!] === null || followsDynamicAxis(k, "numOrSizeSplits").some(Boolean)) {
    k.fail(`it splits the dynamic axis ${axis} into fixed sizes [${sizes.join(", ")}]; split it into equal parts (a count) instead`);
  }
  return k.opset >= 13 ? k.g.multiOp("Split", parts, k.in("x"), k.ints(sizes), { axis_i: axis! }) : k.g.multiOp("Split", parts, k.in("x"), { axis_i: axis!, split_i: sizes });
};

/** tf.unstack: split into parts of one along the axis, each without that axis. */
export const unpack: KernelWriter = (k) => {
  const [axis] = k.axes(k.attr("axis"), k.info("value").shape.length);
  const parts = k.g.multiOp("Split", k.step.outputs.length, k.in("value"), { axis_i: axis! });
  return parts.map((part) => squeeze(k, part, [axis!]));
};

/**
 * tf.stridedSlice with positive strides, begin/end masks and shrinking axes, as Slice (with steps)
 * and Squeeze; ellipsis and new-axis masks are refused.
 */
export const stridedSlice: KernelWriter = (k) => {
  const x = k.info("x");
  for (const mask of ["ellipsisMask", "newAxisMask"]) if (k.attr<number>(mask)) k.fail(`its ${mask} is not written; index without ellipsis or new axes (tf.slice, tf.expandDims)`);
  const strides = k.attr<number[]>("strides");
  if (strides.some((s) => s <= 0)) k.fail(`its strides [${strides.join(", ")}] include a non-positive step; only positive steps are written`);
  const begin = k.attr<number[]>("begin").map((b, i) => (k.attr<number>("beginMask") & (1 << i) ? 0 : b));
  const dynamicEnd = followsDynamicAxis(k, "end");
  const shrink = k.attr<number>("shrinkAxisMask");
  const end = k.attr<number[]>("end").map((e, i) => {
    if (shrink & (1 << i)) return begin[i]! + 1;
    if (k.attr<number>("endMask") & (1 << i)) return TO_THE_END;
    if (dynamicEnd[i]) return e === x.shape[i] ? TO_THE_END : k.fail(`its end on axis ${i} follows a dynamic axis but does not reach the end of it`);
    return e;
  });
  if (followsDynamicAxis(k, "begin").some(Boolean)) k.fail("its begin changes with the dynamic axes; only ends may follow them");
  const axes = begin.map((_, i) => i);
  const sliced = k.g.op("Slice", k.in("x"), k.ints(begin), k.ints(end), k.ints(axes), k.ints(strides));
  const shrunk = axes.filter((i) => shrink & (1 << i));
  return shrunk.length > 0 ? squeeze(k, sliced, shrunk) : sliced;
};
