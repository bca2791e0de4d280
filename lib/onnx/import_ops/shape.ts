/**
 * Shape and the int64 arithmetic around it, as PyTorch writes a dynamic batch: Shape, Size,
 * Reshape, Flatten, Squeeze, Unsqueeze, Concat, Expand, Constant, ConstantOfShape, Range. Contents
 * known before run time (shapes, constants) are propagated on the host, symbolic sizes included,
 * so a Shape → Gather → Concat → Reshape chain infers its result's shape at import.
 */
import * as tf from "@tensorflow/tfjs";
import { axesFrom, hostBroadcastTo, materialize, orUnknown, product, UnknownContents } from "./contents";
import type { ImportOp } from "./op";
import { formatDims, ints, isFloat, known, MAX_TRACKED_ELEMENTS, normAxis, OpError, sizeOf, T, tfDtype, tracked, type Dim, type DimShape } from "./values";

const I64 = T.INT64;

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
  Expand: {
    inputs: [2, 2],
    hostInputs: [1],
    infer([x, s]) {
      return orUnknown(() => {
        const target = s!.data;
        if (!target) throw new UnknownContents();
        const shape = expandShape(x!.shape!, target);
        let data: Dim[] | undefined;
        if (x!.data && known(shape) && known(x!.shape) && sizeOf(shape)! <= MAX_TRACKED_ELEMENTS) data = hostBroadcastTo(x!.data, x!.shape, shape);
        return [tracked(x!.dtype, shape, data)];
      }, () => [{ dtype: x!.dtype, shape: typeof s!.shape![0] === "number" ? new Array(Math.max(s!.shape![0] as number, x!.shape!.length)).fill(null) : null }]);
    },
    run: ([x], _a, { outs }) => {
      const shape = outs[0]!.shape as number[];
      const y = tf.broadcastTo(tf.reshape(x!, [...new Array(shape.length - x!.rank).fill(1), ...x!.shape]), shape);
      return y === x ? tf.clone(x!) : y;
    },
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
};

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

function expandShape(x: DimShape, target: readonly Dim[]): Dim[] {
  target.forEach((d, i) => { if (typeof d === "number" && d < 0) throw new OpError(`shape entry ${i} is ${d}; Expand takes sizes ≥ 0`); });
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
