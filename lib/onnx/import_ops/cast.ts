/**
 * Cast and CastLike between the types tfjs holds: floats (float32, float64 computed as float32),
 * integers (truncated toward zero from floats, wrapped to 8 and 16 bits as C casts do) and bool.
 * float16, bfloat16 and strings are refused: tfjs cannot round to them.
 */
import * as tf from "@tensorflow/tfjs";
import type { ImportOp } from "./op";
import { isInt, Refusal, T, tfDtype, tracked, type Dim, type ValueInfo } from "./values";

export const CAST_OPS: Record<string, ImportOp> = {
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
};

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
