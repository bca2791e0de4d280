/**
 * Ops that move, copy or describe data without arithmetic: Shape and the int64 arithmetic around
 * it (Gather, Unsqueeze, Squeeze, Concat, Slice, Reshape, Expand, Range, ConstantOfShape, Cast),
 * the layout ops (Transpose, Flatten, Split, Tile, Pad) and Constant, Identity, Dropout. Contents
 * known before run time (shapes, constants) are propagated on the host, symbolic sizes included,
 * so PyTorch's dynamic-batch Reshape chains infer their shapes at import.
 */
import * as tf from "@tensorflow/tfjs";
import type { Attrs } from "./attributes";
import type { ImportOp, OpContext } from "./op";
import { formatDims, ints, isFloat, isInt, known, normAxis, OpError, Refusal, sizeOf, T, tfDtype, tracked, type Dim, type DimShape, type ValueInfo } from "./values";

const I64 = T.INT64;

/** The product of sizes: a number, a lone symbol (times ones), or unknown. */
export function product(dims: readonly Dim[]): Dim {
  let n = 1;
  let symbol: Dim = null;
  let symbols = 0;
  for (const d of dims) {
    if (typeof d === "number") n *= d;
    else if (typeof d === "string") { symbol = d; symbols++; }
    else return n === 0 ? 0 : null;
  }
  if (symbols === 0 || n === 0) return n;
  return symbols === 1 && n === 1 ? symbol : null;
}

/** Axes from an attribute (older opsets) or a host input (newer), or null when neither is given. */
function axesFrom(a: Attrs, input: ValueInfo | null | undefined, name = "axes"): number[] | null {
  if (a.has(name)) return a.ints(name)!;
  if (!input) return null;
  const v = ints(input);
  if (v === null) throw new UnknownContents();
  return v;
}

/** Contents that only the running graph knows: infer falls back to unknown sizes. */
class UnknownContents extends Error {}

/** infer with a fallback: where contents are unknown (import time), the output is `fallback()`. */
function orUnknown(fn: () => ValueInfo[], fallback: () => ValueInfo[]): ValueInfo[] {
  try {
    return fn();
  } catch (error) {
    if (error instanceof UnknownContents) return fallback();
    throw error;
  }
}

function needInts(info: ValueInfo | null | undefined, what: string): number[] {
  if (!info) throw new OpError(`${what} is missing`);
  const v = ints(info);
  if (v === null) throw new UnknownContents(what);
  return v;
}

/** A tensor of `info`'s contents (the run-time form of a value known on the host). */
export function materialize(info: ValueInfo): tf.Tensor {
  const dtype = tfDtype(info.dtype);
  if (dtype === null) throw new Refusal(`element type ${info.dtype} has no tfjs form`);
  const values = info.data as number[];
  if (dtype === "int32" && values.some((v) => v > 2147483647 || v < -2147483648)) {
    throw new Refusal(`an int64 value (${values.find((v) => v > 2147483647 || v < -2147483648)}) does not fit tfjs's int32`);
  }
  return tf.tensor(dtype === "bool" ? values.map((v) => (v ? 1 : 0)) : values, info.shape as number[], dtype);
}

/** Row-major strides of a known shape. */
function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i]!;
  }
  return out;
}

/** Host gather along one axis of known contents, for shape arithmetic. */
function hostTake(info: ValueInfo, axis: number, index: (j: number) => number, count: number): Dim[] | undefined {
  if (!info.data || !known(info.shape)) return undefined;
  const shape = info.shape;
  const outer = shape.slice(0, axis).reduce((n, d) => n * d, 1);
  const inner = shape.slice(axis + 1).reduce((n, d) => n * d, 1);
  const out: Dim[] = [];
  for (let o = 0; o < outer; o++) for (let j = 0; j < count; j++) for (let i = 0; i < inner; i++) out.push(info.data[(o * shape[axis]! + index(j)) * inner + i]!);
  return out;
}

/** Sizes a target shape asks for (Reshape's 0 and -1 resolved), symbolic where they follow from x's. */
function reshapeTarget(x: DimShape, target: readonly Dim[], allowZero: boolean): Dim[] {
  const out = target.map((t, i) => (t === 0 && !allowZero ? (i < x.length ? x[i]! : (() => { throw new OpError(`shape entry ${i} is 0 (copy), but the input has rank ${x.length}`); })()) : t));
  const free = out.flatMap((t, i) => (t === -1 ? [i] : []));
  if (free.length > 1) throw new OpError(`shape ${formatDims(target)} has more than one -1`);
  out.forEach((t, i) => { if (typeof t === "number" && t < -1) throw new OpError(`shape entry ${i} is ${t}`); });
  if (free.length === 1) {
    const rest = out.filter((_, i) => i !== free[0]);
    out[free[0]!] = quotient(x, rest);
  } else {
    const a = product(x), b = product(out);
    if (typeof a === "number" && typeof b === "number" && a !== b) throw new OpError(`cannot reshape ${formatDims(x)} (${a} elements) to ${formatDims(target)} (${b} elements)`);
  }
  return out;
}

/** product(num) / product(den), cancelling equal symbols; null when not determined. */
function quotient(num: DimShape, den: readonly Dim[]): Dim {
  const symbols = num.filter((d): d is string => typeof d === "string");
  let n = 1, d = 1;
  const left: string[] = [];
  for (const s of symbols) left.push(s);
  for (const x of num) { if (typeof x === "number") n *= x; else if (x === null) return null; }
  for (const y of den) {
    if (typeof y === "number") d *= y;
    else if (y === null) return null;
    else {
      const k = left.indexOf(y);
      if (k < 0) return null;
      left.splice(k, 1);
    }
  }
  if (d === 0) throw new OpError("cannot infer a -1 size next to a 0 size");
  if (left.length === 0) {
    if (n % d !== 0) throw new OpError(`cannot reshape ${formatDims(num)}: ${n} elements do not divide into ${d}`);
    return n / d;
  }
  return left.length === 1 && n === d ? left[0]! : null;
}

/** ONNX Slice's per-axis clamping: the start, the end and the count of elements taken. */
function sliceAxis(dim: number, start: number, end: number, step: number): { start: number; count: number } {
  if (step === 0) throw new OpError("a Slice step is 0");
  const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clamp(s, 0, dim);
    e = clamp(e, 0, dim);
    return { start: s, count: Math.max(0, Math.ceil((e - s) / step)) };
  }
  s = clamp(s, 0, dim - 1);
  e = clamp(e, -1, dim - 1);
  return { start: s, count: Math.max(0, Math.ceil((e - s) / step)) };
}

interface SlicePlan { axes: number[]; starts: number[]; ends: number[]; steps: number[] }

function slicePlan(ins: readonly (ValueInfo | null)[], a: Attrs, ctx: OpContext): SlicePlan {
  const x = ins[0]!;
  const rank = x.shape!.length;
  let starts: number[], ends: number[], axes: number[] | null, steps: number[] | null;
  if (ctx.opset < 10) {
    starts = a.ints("starts") ?? [];
    ends = a.ints("ends") ?? [];
    axes = a.ints("axes") ?? null;
    steps = null;
  } else {
    starts = needInts(ins[1], "starts");
    ends = needInts(ins[2], "ends");
    axes = ins[3] ? needInts(ins[3], "axes") : null;
    steps = ins[4] ? needInts(ins[4], "steps") : null;
  }
  if (starts.length !== ends.length) throw new OpError(`starts has ${starts.length} entries, ends ${ends.length}`);
  const ax = (axes ?? starts.map((_, i) => i)).map((v) => normAxis(v, rank));
  if (new Set(ax).size !== ax.length) throw new OpError(`axes ${ax.join(", ")} repeat an axis`);
  return { axes: ax, starts, ends, steps: steps ?? starts.map(() => 1) };
}

export const SHAPE_OPS: Record<string, ImportOp> = {
  Shape: {
    inputs: [1, 1],
    attributes: { start: "int", end: "int" },
    infer([x], a) {
      const rank = x!.shape!.length;
      const clamp = (v: number) => Math.max(0, Math.min(rank, v < 0 ? v + rank : v));
      const dims = x!.shape!.slice(clamp(a.int("start", 0)), clamp(a.int("end", rank)));
      return [{ dtype: I64, shape: [dims.length], data: dims }];
    },
    run: (_x, _a, { outs }) => materialize(outs[0]!),
  },
  Size: {
    inputs: [1, 1],
    infer: ([x]) => [{ dtype: I64, shape: [], data: [product(x!.shape!)] }],
    run: (_x, _a, { outs }) => materialize(outs[0]!),
  },
  Reshape: {
    inputs: [2, 2],
    attributes: { allowzero: "int" },
    hostInputs: [1],
    infer([x, s], a) {
      if (s!.shape!.length !== 1) throw new OpError(`the shape input must have rank 1, got ${formatDims(s!.shape)}`);
      const target = s!.data;
      if (target === undefined) return [{ dtype: x!.dtype, shape: typeof s!.shape![0] === "number" ? new Array(s!.shape![0]).fill(null) : null }];
      return [tracked(x!.dtype, reshapeTarget(x!.shape!, target, a.int("allowzero", 0) !== 0), x!.data)];
    },
    run: ([x], _a, { outs }) => tf.reshape(x!, outs[0]!.shape as number[]),
  },
  Flatten: {
    inputs: [1, 1],
    attributes: { axis: "int" },
    infer([x], a) {
      const rank = x!.shape!.length;
      const axis = a.int("axis", 1);
      const k = axis < 0 ? axis + rank : axis;
      if (k < 0 || k > rank) throw new OpError(`axis ${axis} is out of range for rank ${rank}`);
      return [tracked(x!.dtype, [product(x!.shape!.slice(0, k)), product(x!.shape!.slice(k))], x!.data)];
    },
    run: ([x], _a, { outs }) => tf.reshape(x!, outs[0]!.shape as number[]),
  },
  Transpose: {
    inputs: [1, 1],
    attributes: { perm: "ints" },
    infer([x], a) {
      const rank = x!.shape!.length;
      const perm = a.ints("perm") ?? [...Array(rank).keys()].reverse();
      if (perm.length !== rank || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) throw new OpError(`perm [${perm.join(", ")}] is not a permutation of ${rank} axes`);
      return [{ dtype: x!.dtype, shape: perm.map((p) => x!.shape![p]!) }];
    },
    run: ([x], a) => tf.transpose(x!, a.ints("perm")),
  },
  Squeeze: {
    inputs: [1, 2],
    attributes: { axes: "ints" },
    hostInputs: [1],
    infer([x, axesIn], a) {
      const shape = x!.shape!;
      return orUnknown(() => {
        const given = axesFrom(a, axesIn);
        const axes = given === null ? shape.flatMap((d, i) => (d === 1 ? [i] : [])) : given.map((v) => normAxis(v, shape.length));
        if (given === null && shape.some((d) => typeof d !== "number")) return [{ dtype: x!.dtype, shape: null }];
        for (const i of axes) if (typeof shape[i] === "number" && shape[i] !== 1) throw new OpError(`axis ${i} has size ${shape[i]}, not 1`);
        return [tracked(x!.dtype, shape.filter((_, i) => !axes.includes(i)), x!.data)];
      }, () => [{ dtype: x!.dtype, shape: null }]);
    },
    run: ([x], _a, { outs }) => tf.reshape(x!, outs[0]!.shape as number[]),
  },
  Unsqueeze: {
    inputs: [1, 2],
    attributes: { axes: "ints" },
    hostInputs: [1],
    infer([x, axesIn], a) {
      return orUnknown(() => {
        const given = axesFrom(a, axesIn);
        if (given === null) throw new OpError("axes are missing");
        const rank = x!.shape!.length + given.length;
        const axes = given.map((v) => normAxis(v, rank));
        if (new Set(axes).size !== axes.length) throw new OpError(`axes [${given.join(", ")}] repeat an axis`);
        const rest = [...x!.shape!];
        const out: Dim[] = [];
        for (let i = 0; i < rank; i++) out.push(axes.includes(i) ? 1 : rest.shift()!);
        return [tracked(x!.dtype, out, x!.data)];
      }, () => (axesIn && typeof axesIn.shape![0] === "number" ? [{ dtype: x!.dtype, shape: new Array(x!.shape!.length + (axesIn.shape![0] as number)).fill(null) }] : [{ dtype: x!.dtype, shape: null }]));
    },
    run: ([x], _a, { outs }) => tf.reshape(x!, outs[0]!.shape as number[]),
  },
  Concat: {
    inputs: [1, Infinity],
    attributes: { axis: "int" },
    infer(ins, a) {
      const first = ins[0]!;
      const rank = first.shape!.length;
      if (!a.has("axis")) throw new OpError("attribute axis is required");
      const axis = normAxis(a.int("axis", 0), rank);
      const out: Dim[] = [...first.shape!];
      let total: Dim = 0;
      for (const [k, x] of ins.entries()) {
        if (x!.dtype !== first.dtype) throw new OpError(`input ${k} has element type ${x!.dtype}, input 0 ${first.dtype}`);
        if (x!.shape!.length !== rank) throw new OpError(`input ${k} ${formatDims(x!.shape)} has a rank other than input 0 ${formatDims(first.shape)}`);
        x!.shape!.forEach((d, i) => {
          if (i === axis) return;
          if (typeof d === "number" && typeof out[i] === "number" && d !== out[i]) throw new OpError(`input ${k} ${formatDims(x!.shape)} differs from input 0 ${formatDims(first.shape)} on axis ${i}`);
          if (typeof out[i] !== "number") out[i] = d;
        });
        const d = x!.shape![axis]!;
        total = typeof total === "number" && typeof d === "number" ? total + d : null;
      }
      out[axis] = total;
      const data = rank === 1 && ins.every((x) => x!.data) ? ins.flatMap((x) => [...x!.data!]) : undefined;
      return [tracked(first.dtype, out, data)];
    },
    run: (ins, a, { outs }) => {
      const rank = outs[0]!.shape!.length;
      return tf.concat(ins as tf.Tensor[], normAxis(a.int("axis", 0), rank));
    },
  },
  Split: {
    inputs: [1, 2],
    outputs: [1, Infinity],
    attributes: { axis: "int", split: "ints", num_outputs: "int" },
    hostInputs: [1],
    infer: (ins, a, ctx) => splitInfer(ins, a, ctx.outputs),
    run: ([x], a, { outs }) => {
      const axis = normAxis(a.int("axis", 0), x!.rank);
      return tf.split(x!, outs.map((o) => o.shape![axis] as number), axis);
    },
  },
  Slice: {
    inputs: [1, 5],
    attributes: { starts: "ints", ends: "ints", axes: "ints" },
    hostInputs: [1, 2, 3, 4],
    infer(ins, a, ctx) {
      const x = ins[0]!;
      return orUnknown(() => {
        const plan = slicePlan(ins, a, ctx);
        const out: Dim[] = [...x.shape!];
        plan.axes.forEach((axis, i) => {
          const d = x.shape![axis]!;
          out[axis] = typeof d === "number" ? sliceAxis(d, plan.starts[i]!, plan.ends[i]!, plan.steps[i]!).count : plan.starts[i] === 0 && plan.steps[i] === 1 && plan.ends[i]! >= 2 ** 31 - 1 ? d : null;
        });
        let data: Dim[] | undefined;
        if (x.data && x.shape!.length === 1 && known(x.shape) && plan.axes.length === 1) {
          const { start, count } = sliceAxis(x.shape[0]!, plan.starts[0]!, plan.ends[0]!, plan.steps[0]!);
          data = Array.from({ length: count }, (_, j) => x.data![start + j * plan.steps[0]!]!);
        }
        return [tracked(x.dtype, out, data)];
      }, () => [{ dtype: x.dtype, shape: x.shape!.map(() => null) }]);
    },
    run(ins, a, ctx) {
      let y = ins[0]!;
      const plan = slicePlan(ctx.ins, a, ctx);
      plan.axes.forEach((axis, i) => {
        const { start, count } = sliceAxis(y.shape[axis]!, plan.starts[i]!, plan.ends[i]!, plan.steps[i]!);
        const step = plan.steps[i]!;
        if (step === 1) {
          const begin = y.shape.map((_, k) => (k === axis ? start : 0));
          const size = y.shape.map((d, k) => (k === axis ? count : d));
          y = tf.slice(y, begin, size);
        } else {
          y = tf.gather(y, tf.tensor1d(Array.from({ length: count }, (_, j) => start + j * step), "int32"), axis);
        }
      });
      return y === ins[0] ? tf.clone(y) : y;
    },
  },
  Gather: {
    inputs: [2, 2],
    attributes: { axis: "int" },
    infer([x, idx], a) {
      if (!isInt(idx!.dtype)) throw new OpError(`indices must be integers, got element type ${idx!.dtype}`);
      const rank = x!.shape!.length;
      const axis = normAxis(a.int("axis", 0), rank);
      const dim = x!.shape![axis]!;
      const shape = [...x!.shape!.slice(0, axis), ...idx!.shape!, ...x!.shape!.slice(axis + 1)];
      let data: Dim[] | undefined;
      const at = ints(idx);
      if (at && typeof dim === "number") {
        for (const i of at) if (i < -dim || i >= dim) throw new OpError(`index ${i} is out of range for axis ${axis} of size ${dim}`);
        data = hostTake(x!, axis, (j) => (at[j]! < 0 ? at[j]! + dim : at[j]!), at.length);
      }
      return [tracked(x!.dtype, shape, data)];
    },
    run([x, idx], a) {
      const axis = normAxis(a.int("axis", 0), x!.rank);
      const dim = x!.shape[axis]!;
      // Negative indices count from the end, as in NumPy.
      const i = tf.where(tf.less(idx!, 0), tf.add(idx!, tf.scalar(dim, "int32")), idx!);
      return tf.gather(x!, i, axis);
    },
  },
  Expand: {
    inputs: [2, 2],
    hostInputs: [1],
    infer([x, s]) {
      return orUnknown(() => {
        const target = s!.data;
        if (!target) throw new UnknownContents();
        const shape = expandShape(x!.shape!, target);
        let data: Dim[] | undefined;
        if (x!.data && known(shape) && known(x!.shape) && sizeOf(shape)! <= 4096) {
          const t = tf.tidy(() => Array.from(tf.broadcastTo(tf.tensor(x!.data as number[], x!.shape as number[]), shape as number[]).dataSync()));
          data = t;
        }
        return [tracked(x!.dtype, shape, data)];
      }, () => [{ dtype: x!.dtype, shape: typeof s!.shape![0] === "number" ? new Array(Math.max(s!.shape![0] as number, x!.shape!.length)).fill(null) : null }]);
    },
    run: ([x], _a, { outs }) => {
      const shape = outs[0]!.shape as number[];
      const y = tf.broadcastTo(tf.reshape(x!, [...new Array(shape.length - x!.rank).fill(1), ...x!.shape]), shape);
      return y === x ? tf.clone(x!) : y;
    },
  },
  Tile: {
    inputs: [2, 2],
    hostInputs: [1],
    infer([x, r]) {
      return orUnknown(() => {
        const reps = needInts(r, "repeats");
        if (reps.length !== x!.shape!.length) throw new OpError(`repeats has ${reps.length} entries for an input of rank ${x!.shape!.length}`);
        return [{ dtype: x!.dtype, shape: x!.shape!.map((d, i) => (typeof d === "number" ? d * reps[i]! : reps[i] === 1 ? d : null)) }];
      }, () => [{ dtype: x!.dtype, shape: x!.shape!.map(() => null) }]);
    },
    run: ([x], _a, { ins }) => tf.tile(x!, ints(ins[1]!)!),
  },
  Constant: {
    inputs: [0, 0],
    attributes: { value: "tensor", value_float: "float", value_floats: "floats", value_int: "int", value_ints: "ints" },
    infer(_ins, a) {
      const t = a.tensor("value");
      if (t) return [tracked(t.dtype, t.shape, Array.from(t.values))];
      if (a.has("value_float")) return [{ dtype: T.FLOAT, shape: [], data: [a.float("value_float", 0)] }];
      if (a.has("value_floats")) return [tracked(T.FLOAT, [a.floats("value_floats")!.length], a.floats("value_floats"))];
      if (a.has("value_int")) return [{ dtype: I64, shape: [], data: [a.int("value_int", 0)] }];
      if (a.has("value_ints")) return [tracked(I64, [a.ints("value_ints")!.length], a.ints("value_ints"))];
      throw new OpError("Constant has no value attribute");
    },
    run(_ins, a, { outs }) {
      const t = a.tensor("value")!;
      return materialize({ ...outs[0]!, data: Array.from(t.values) });
    },
  },
  ConstantOfShape: {
    inputs: [1, 1],
    attributes: { value: "tensor" },
    hostInputs: [0],
    infer([s], a) {
      const v = a.tensor("value");
      if (v && v.values.length !== 1) throw new OpError(`value must hold one element, got ${v.values.length}`);
      const dtype = v?.dtype ?? T.FLOAT;
      return orUnknown(() => {
        const shape = s!.data;
        if (!shape) throw new UnknownContents();
        shape.forEach((d, i) => { if (typeof d === "number" && d < 0) throw new OpError(`shape entry ${i} is ${d}`); });
        const n = sizeOf(shape);
        return [tracked(dtype, shape, n !== null && n <= 4096 ? new Array(n).fill(v ? v.values[0]! : 0) : undefined)];
      }, () => [{ dtype, shape: typeof s!.shape![0] === "number" ? new Array(s!.shape![0] as number).fill(null) : null }]);
    },
    run: (_ins, a, { outs }) => {
      const v = a.tensor("value");
      return tf.fill(outs[0]!.shape as number[], v ? v.values[0]! : 0, tfDtype(outs[0]!.dtype)!);
    },
  },
  Range: {
    inputs: [3, 3],
    hostInputs: [0, 1, 2],
    infer([start, limit, delta]) {
      const dtype = start!.dtype;
      return orUnknown(() => {
        const [s, l, d] = [start, limit, delta].map((v, i) => {
          const x = ints(v) ?? (v!.data && typeof v!.data[0] === "number" ? (v!.data as number[]) : null);
          if (x === null) throw new UnknownContents();
          if (x.length !== 1) throw new OpError(`${["start", "limit", "delta"][i]} must be a scalar`);
          return x[0]!;
        }) as [number, number, number];
        if (d === 0) throw new OpError("delta is 0");
        const n = Math.max(Math.ceil((l - s) / d), 0);
        const round = isFloat(dtype) ? Math.fround : (v: number) => v;
        return [tracked(dtype, [n], n <= 4096 ? Array.from({ length: n }, (_, i) => round(s + i * d)) : undefined)];
      }, () => [{ dtype, shape: [null] }]);
    },
    run(_ins, _a, { ins, outs }) {
      const [s, , d] = ins.map((v) => v!.data![0] as number);
      const n = outs[0]!.shape![0] as number;
      const dtype = tfDtype(outs[0]!.dtype) === "int32" ? "int32" : "float32";
      return tf.add(tf.scalar(s!, dtype), tf.mul(tf.range(0, n, 1, dtype), tf.scalar(d!, dtype)));
    },
  },
  Cast: {
    inputs: [1, 1],
    attributes: { to: "int", saturate: "int" },
    infer: ([x], a) => [castInfo(x!, a.int("to", 0))],
    run: ([x], _a, { outs }) => castTo(x!, outs[0]!.dtype),
  },
  CastLike: {
    inputs: [2, 2],
    attributes: { saturate: "int" },
    infer: ([x, like]) => [castInfo(x!, like!.dtype)],
    run: ([x], _a, { outs }) => castTo(x!, outs[0]!.dtype),
  },
  Identity: {
    inputs: [1, 1],
    infer: ([x]) => [x!],
    run: ([x]) => x!,
  },
  Dropout: {
    inputs: [1, 3],
    outputs: [1, 2],
    attributes: { ratio: "float", seed: "int", is_test: "int" },
    hostInputs: [1, 2],
    infer([x, ratio, training], a, ctx) {
      // Before opset 7, is_test = 0 (the default) meant training.
      const t = training ? ints(training) : [ctx.opset < 7 && !a.int("is_test", 0) ? 1 : 0];
      if (t === null || t[0]) {
        const r = ratio ? (ratio.data?.[0] as number | undefined) : a.float("ratio", 0.5);
        if (t === null || r !== 0) throw new Refusal("Dropout in training mode draws random masks; gradlab imports models for inference (training_mode false)");
      }
      return [x!, { dtype: T.BOOL, shape: x!.shape }];
    },
    run: ([x], _a, { outs }) => (outs.length > 1 ? [x!, tf.ones(x!.shape, "bool")] : [x!]),
  },
  Pad: {
    inputs: [1, 4],
    attributes: { mode: "string", pads: "ints", value: "float" },
    hostInputs: [1, 2, 3],
    infer(ins, a) {
      const x = ins[0]!;
      const mode = a.string("mode", "constant");
      if (!["constant", "reflect", "edge"].includes(mode)) throw new Refusal(`pad mode "${mode}" is not supported (gradlab pads constant, reflect and edge)`);
      return orUnknown(() => {
        const pads = padsOf(ins, a);
        return [{ dtype: x.dtype, shape: x.shape!.map((d, i) => (typeof d === "number" ? d + pads[i]! + pads[i + x.shape!.length]! : pads[i] === 0 && pads[i + x.shape!.length] === 0 ? d : null)) }];
      }, () => [{ dtype: x.dtype, shape: x.shape!.map(() => null) }]);
    },
    run(ins, a, ctx) {
      const x = ins[0]!;
      const pads = padsOf(ctx.ins, a);
      const mode = a.string("mode", "constant");
      if (mode === "constant") {
        const value = ctx.ins[2]?.data ? (ctx.ins[2].data[0] as number) : a.float("value", 0);
        return padConstant(x, pads, value);
      }
      let y = x;
      for (let axis = 0; axis < x.rank; axis++) {
        const before = pads[axis]!, after = pads[axis + x.rank]!;
        if (before === 0 && after === 0) continue;
        const n = y.shape[axis]!;
        const index = (j: number) => {
          let k = j - before;
          if (mode === "edge") return Math.max(0, Math.min(n - 1, k));
          if (n === 1) return 0;
          const period = 2 * (n - 1);
          k = ((k % period) + period) % period;
          return k < n ? k : period - k;
        };
        y = tf.gather(y, tf.tensor1d(Array.from({ length: n + before + after }, (_, j) => index(j)), "int32"), axis);
      }
      return y === x ? tf.clone(x) : y;
    },
  },
};

/** Pads as [x1_begin, x2_begin, …, x1_end, …] for every axis (opset 18's axes input spreads them). */
function padsOf(ins: readonly (ValueInfo | null)[], a: Attrs): number[] {
  const rank = ins[0]!.shape!.length;
  const given = a.has("pads") ? a.ints("pads")! : needInts(ins[1], "pads");
  const axesIn = ins[3];
  if (!axesIn) {
    if (given.length !== 2 * rank) throw new OpError(`pads has ${given.length} entries for an input of rank ${rank} (expected ${2 * rank})`);
    return given;
  }
  const axes = needInts(axesIn, "axes").map((v) => normAxis(v, rank));
  const full = new Array(2 * rank).fill(0);
  axes.forEach((axis, i) => {
    full[axis] = given[i];
    full[axis + rank] = given[i + axes.length];
  });
  return full;
}

/** Constant padding, negative pads cropping. */
function padConstant(x: tf.Tensor, pads: number[], value: number): tf.Tensor {
  const rank = x.rank;
  const grow = Array.from({ length: rank }, (_, i) => [Math.max(0, pads[i]!), Math.max(0, pads[i + rank]!)] as [number, number]);
  let y = grow.some(([b, e]) => b || e) ? tf.pad(x, grow, value) : tf.clone(x);
  if (pads.some((p) => p < 0)) {
    const begin = Array.from({ length: rank }, (_, i) => Math.max(0, -pads[i]!));
    const size = y.shape.map((d, i) => d - begin[i]! - Math.max(0, -pads[i + rank]!));
    y = tf.slice(y, begin, size);
  }
  return y;
}

function expandShape(x: DimShape, target: readonly Dim[]): Dim[] {
  const rank = Math.max(x.length, target.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const a = i < rank - x.length ? 1 : x[i - (rank - x.length)]!;
    const b = i < rank - target.length ? 1 : target[i - (rank - target.length)]!;
    if (b === 1) out.push(a);
    else if (a === 1) out.push(b);
    else if (typeof a === "number" && typeof b === "number" && a !== b) throw new OpError(`cannot expand ${formatDims(x)} to ${formatDims(target)} (axis ${i}: ${a} vs ${b})`);
    else out.push(typeof a === "number" ? a : b);
  }
  return out;
}

const CASTABLE = new Set<number>([T.FLOAT, T.DOUBLE, T.UINT8, T.INT8, T.UINT16, T.INT16, T.INT32, T.INT64, T.UINT32, T.BOOL]);

function castInfo(x: ValueInfo, to: number): ValueInfo {
  if (!CASTABLE.has(to)) throw new Refusal(`casting to element type ${to} is not supported (tfjs computes in float32, int32 and bool; gradlab does not round to float16 or handle strings)`);
  if (tfDtype(x.dtype) === null) throw new Refusal(`casting from element type ${x.dtype} is not supported`);
  let data: Dim[] | undefined;
  if (x.data && x.data.every((d) => typeof d === "number")) data = (x.data as number[]).map((v) => castValue(v, to));
  else if (x.data && isInt(to) && isInt(x.dtype)) data = [...x.data];
  return tracked(to, x.shape!, data);
}

const WRAP: Record<number, [number, boolean]> = { [T.UINT8]: [8, false], [T.INT8]: [8, true], [T.UINT16]: [16, false], [T.INT16]: [16, true] };

function castValue(v: number, to: number): number {
  if (to === T.BOOL) return v ? 1 : 0;
  if (to === T.FLOAT) return Math.fround(v);
  if (to === T.DOUBLE) return v;
  const t = Math.trunc(v);
  const wrap = WRAP[to];
  if (!wrap) return t;
  const m = 2 ** wrap[0];
  const u = ((t % m) + m) % m;
  return wrap[1] && u >= m / 2 ? u - m : u;
}

function castTo(x: tf.Tensor, to: number): tf.Tensor {
  const dtype = tfDtype(to)!;
  if (dtype === "bool") return tf.notEqual(x, 0);
  if (dtype === "float32") return x.dtype === "float32" ? x : tf.cast(x, "float32");
  // NaN and ±∞ have no integer value: ONNX leaves them undefined, so gradlab refuses to guess.
  let y = x.dtype === "float32" ? tf.cast(tf.sign(x).mul(tf.floor(tf.abs(x))), "int32") : tf.cast(x, "int32");
  const wrap = WRAP[to];
  if (wrap) {
    const m = 2 ** wrap[0];
    y = tf.mod(tf.add(tf.mod(y, m), m), m);
    if (wrap[1]) y = tf.where(tf.greaterEqual(y, m / 2), tf.sub(y, m), y);
  }
  return y;
}

/** Split's outputs, which depend on how many the node has. */
export function splitInfer(ins: readonly (ValueInfo | null)[], a: Attrs, outputs: number): ValueInfo[] {
  const x = ins[0]!;
  const axis = normAxis(a.int("axis", 0), x.shape!.length);
  const dim = x.shape![axis]!;
  return orUnknown(() => {
    let sizes: Dim[];
    if (a.has("split")) sizes = a.ints("split")!;
    else if (ins[1]) sizes = needInts(ins[1], "split");
    else if (typeof dim === "number") {
      if (dim % outputs !== 0) throw new Refusal(`an uneven split (${dim} into ${outputs}) is not supported`);
      sizes = new Array(outputs).fill(dim / outputs);
    } else sizes = new Array(outputs).fill(null);
    if (sizes.length !== outputs) throw new OpError(`split has ${sizes.length} sizes for ${outputs} outputs`);
    const total = sizes.every((s) => typeof s === "number") ? (sizes as number[]).reduce((p, q) => p + q, 0) : null;
    if (typeof dim === "number" && total !== null && total !== dim) throw new OpError(`split sizes [${sizes.join(", ")}] add up to ${total}, but axis ${axis} has ${dim}`);
    return sizes.map((s) => ({ dtype: x.dtype, shape: x.shape!.map((d, i) => (i === axis ? s : d)) }));
  }, () => new Array(outputs).fill(0).map(() => ({ dtype: x.dtype, shape: x.shape!.map((d, i) => (i === axis ? null : d)) })));
}
