/**
 * Ops that move or copy data: Transpose, Split, Slice, Gather, Tile, Pad (constant, reflect,
 * edge), Identity and Dropout (inference: the identity, and an all-true mask).
 */
import * as tf from "@tensorflow/tfjs";
import type { Attrs } from "./attributes";
import { hostTake, needInts, orUnknown } from "./contents";
import type { ImportOp, OpContext } from "./op";
import { ints, isInt, known, normAxis, OpError, Refusal, T, tracked, type Dim, type ValueInfo } from "./values";

export const LAYOUT_OPS: Record<string, ImportOp> = {
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
};

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
