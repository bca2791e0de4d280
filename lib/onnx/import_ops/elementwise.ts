/**
 * Elementwise ops: activations and math functions of one tensor, arithmetic and comparisons of
 * several with NumPy broadcasting, Where, Clip. Integer arithmetic on known contents also runs on
 * the host, so shape arithmetic (PyTorch's Mul/Div/Add of sizes) stays known before run time.
 */
import * as tf from "@tensorflow/tfjs";
import "./comparison_gradients";
import type { ImportOp } from "./op";
import { broadcast, isFloat, isInt, known, OpError, Refusal, T, tracked, type Dim, type ValueInfo } from "./values";

type Unary = (x: tf.Tensor, a: import("./attributes").Attrs) => tf.Tensor;

/** A one-input op that keeps shape and type; `types` says which element types it accepts. */
function unary(fn: Unary, attributes: Record<string, "float" | "int"> = {}, types: "float" | "number" | "bool" = "float"): ImportOp {
  return {
    inputs: [1, 1],
    attributes,
    infer([x]) {
      acceptType(x!, types);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
    run: ([x], a) => fn(x!, a),
  };
}

function acceptType(x: ValueInfo, types: "float" | "number" | "bool" | "any"): void {
  const ok = types === "any" || (types === "float" ? isFloat(x.dtype) : types === "number" ? isFloat(x.dtype) || isInt(x.dtype) : x.dtype === T.BOOL);
  if (!ok) throw new Refusal(`element type ${x.dtype} is not one gradlab computes this op in (${types === "float" ? "floats only" : types === "number" ? "numbers only" : "bool only"})`);
}

const softplus = (x: tf.Tensor) => tf.softplus(x);

export const UNARY_OPS: Record<string, ImportOp> = {
  Relu: unary((x) => tf.relu(x), {}, "number"),
  Sigmoid: unary((x) => tf.sigmoid(x)),
  Tanh: unary((x) => tf.tanh(x)),
  Exp: unary((x) => tf.exp(x)),
  Log: unary((x) => tf.log(x)),
  Sqrt: unary((x) => tf.sqrt(x)),
  Reciprocal: unary((x) => tf.reciprocal(x)),
  Abs: unary((x) => tf.abs(x), {}, "number"),
  Neg: unary((x) => tf.neg(x), {}, "number"),
  Sign: unary((x) => tf.sign(x), {}, "number"),
  Floor: unary((x) => tf.floor(x)),
  Ceil: unary((x) => tf.ceil(x)),
  // tf.round rounds half to even, as ONNX's Round does.
  Round: unary((x) => tf.round(x)),
  Sin: unary((x) => tf.sin(x)),
  Cos: unary((x) => tf.cos(x)),
  Tan: unary((x) => tf.tan(x)),
  Asin: unary((x) => tf.asin(x)),
  Acos: unary((x) => tf.acos(x)),
  Atan: unary((x) => tf.atan(x)),
  Sinh: unary((x) => tf.sinh(x)),
  Cosh: unary((x) => tf.cosh(x)),
  Asinh: unary((x) => tf.asinh(x)),
  Acosh: unary((x) => tf.acosh(x)),
  Atanh: unary((x) => tf.atanh(x)),
  Erf: unary((x) => tf.erf(x)),
  Softplus: unary(softplus),
  Softsign: unary((x) => tf.div(x, tf.add(tf.abs(x), 1))),
  Elu: unary((x, a) => eluWith(x, a.float("alpha", 1)), { alpha: "float" }),
  Celu: unary((x, a) => { const alpha = a.float("alpha", 1); return tf.add(tf.relu(x), tf.minimum(0, tf.mul(alpha, tf.sub(tf.exp(tf.div(x, alpha)), 1)))); }, { alpha: "float" }),
  Selu: unary((x, a) => tf.mul(a.float("gamma", 1.0507009873554805), eluWith(x, a.float("alpha", 1.6732632423543772))), { alpha: "float", gamma: "float" }),
  LeakyRelu: unary((x, a) => tf.where(tf.greaterEqual(x, 0), x, tf.mul(x, a.float("alpha", 0.01))), { alpha: "float" }),
  ThresholdedRelu: unary((x, a) => tf.where(tf.greater(x, a.float("alpha", 1)), x, tf.zerosLike(x)), { alpha: "float" }),
  HardSigmoid: unary((x, a) => tf.clipByValue(tf.add(tf.mul(x, a.float("alpha", 0.2)), a.float("beta", 0.5)), 0, 1), { alpha: "float", beta: "float" }),
  HardSwish: unary((x) => tf.mul(x, tf.clipByValue(tf.add(tf.div(x, 6), 0.5), 0, 1))),
  Mish: unary((x) => tf.mul(x, tf.tanh(softplus(x)))),
  // x + bias below −lambd, x − bias above lambd, 0 between.
  Shrink: unary((x, a) => shrink(x, a.float("lambd", 0.5), a.float("bias", 0)), { lambd: "float", bias: "float" }),
  Not: unary((x) => tf.logicalNot(x), {}, "bool"),
};

function shrink(x: tf.Tensor, lambd: number, bias: number): tf.Tensor {
  return tf.where(tf.less(x, -lambd), tf.add(x, bias), tf.where(tf.greater(x, lambd), tf.sub(x, bias), tf.zerosLike(x)));
}

/** Elu with any alpha (tf.elu has alpha 1 only). */
function eluWith(x: tf.Tensor, alpha: number): tf.Tensor {
  return tf.where(tf.greater(x, 0), x, tf.mul(alpha, tf.sub(tf.exp(tf.minimum(x, 0)), 1)));
}

/** x == NaN, x == ±∞: bool results. */
export const PREDICATE_OPS: Record<string, ImportOp> = {
  IsNaN: {
    inputs: [1, 1],
    infer: ([x]) => (acceptType(x!, "float"), [{ dtype: T.BOOL, shape: x!.shape }]),
    run: ([x]) => tf.isNaN(x!),
  },
  IsInf: {
    inputs: [1, 1],
    attributes: { detect_negative: "int", detect_positive: "int" },
    infer: ([x]) => (acceptType(x!, "float"), [{ dtype: T.BOOL, shape: x!.shape }]),
    run([x], a) {
      const inf = tf.isInf(x!);
      const neg = a.int("detect_negative", 1), pos = a.int("detect_positive", 1);
      if (neg && pos) return inf;
      if (!neg && !pos) return tf.zerosLike(inf);
      return tf.logicalAnd(inf, pos ? tf.greater(x!, 0) : tf.less(x!, 0));
    },
  },
};

type HostFn = (a: number, b: number) => number;

/**
 * A two-input op with broadcasting. `host` computes known integer contents on the host (shape
 * arithmetic); `out` is the result's type (the inputs' by default, bool for comparisons).
 */
function binary(fn: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, options: { types?: "number" | "bool" | "any"; out?: "bool"; host?: HostFn } = {}): ImportOp {
  return {
    inputs: [2, 2],
    infer([a, b]) {
      acceptType(a!, options.types ?? "number");
      if (a!.dtype !== b!.dtype) throw new OpError(`inputs have different element types (${a!.dtype} and ${b!.dtype})`);
      const shape = broadcast(a!.shape!, b!.shape!);
      const dtype = options.out === "bool" ? T.BOOL : a!.dtype;
      const data = options.host && !isFloat(a!.dtype) ? hostBroadcast(a!, b!, shape, options.host) : undefined;
      return [tracked(dtype, shape, data)];
    },
    run: ([a, b]) => fn(a!, b!),
  };
}

/** Known contents combined elementwise (symbolic sizes stay symbolic only through + 0, × 1). */
function hostBroadcast(a: ValueInfo, b: ValueInfo, shape: readonly Dim[], fn: HostFn): Dim[] | undefined {
  if (!a.data || !b.data || !known(shape) || !known(a.shape) || !known(b.shape)) return undefined;
  const size = shape.reduce((n, d) => n * d, 1);
  const out: Dim[] = new Array(size);
  const index = (s: readonly number[], flat: number) => {
    let i = 0, stride = 1, rest = flat;
    const coords: number[] = [];
    for (let k = shape.length - 1; k >= 0; k--) {
      coords[k] = rest % shape[k]!;
      rest = Math.floor(rest / shape[k]!);
    }
    for (let k = s.length - 1; k >= 0; k--) {
      const c = coords[k + shape.length - s.length]!;
      i += (s[k] === 1 ? 0 : c) * stride;
      stride *= s[k]!;
    }
    return i;
  };
  for (let i = 0; i < size; i++) {
    const x = a.data[index(a.shape, i)]!, y = b.data[index(b.shape, i)]!;
    out[i] = typeof x === "number" && typeof y === "number" ? fn(x, y) : symbolic(x, y, fn);
  }
  return out;
}

/** batch + 0, batch × 1, batch / 1, batch - 0 stay "batch"; anything else about a symbol is unknown. */
function symbolic(x: Dim, y: Dim, fn: HostFn): Dim {
  if (typeof x === "string" && typeof y === "number" && fn(7, y) === 7) return x;
  if (typeof y === "string" && typeof x === "number" && fn(x, 7) === 7 && fn(x, 3) === 3) return y;
  return null;
}

/** Integer division as ONNX runs it (C's truncation toward zero); floats divide as usual. */
function divide(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (a.dtype !== "int32") return tf.div(a, b);
  const q = tf.floorDiv(tf.abs(a), tf.abs(b));
  return tf.mul(q, tf.mul(tf.sign(a), tf.sign(b)));
}

function variadic(fn: (xs: tf.Tensor[]) => tf.Tensor, types: "number" | "float" = "number"): ImportOp {
  return {
    inputs: [1, Infinity],
    infer(ins) {
      for (const x of ins) {
        acceptType(x!, types);
        if (x!.dtype !== ins[0]!.dtype) throw new OpError(`inputs have different element types (${ins.map((i) => i!.dtype).join(", ")})`);
      }
      return [{ dtype: ins[0]!.dtype, shape: broadcast(...ins.map((i) => i!.shape!)) }];
    },
    run: (ins) => fn(ins as tf.Tensor[]),
  };
}

export const BINARY_OPS: Record<string, ImportOp> = {
  Add: binary((a, b) => tf.add(a, b), { host: (a, b) => a + b }),
  Sub: binary((a, b) => tf.sub(a, b), { host: (a, b) => a - b }),
  Mul: binary((a, b) => tf.mul(a, b), { host: (a, b) => a * b }),
  Div: binary(divide, { host: (a, b) => Math.trunc(a / b) }),
  Pow: {
    inputs: [2, 2],
    infer([a, b]) {
      acceptType(a!, "number");
      acceptType(b!, "number");
      // An integer base with a float exponent would round a float power back to an integer.
      if (isInt(a!.dtype) && !isInt(b!.dtype)) throw new Refusal("an integer base with a float exponent is not supported");
      return [{ dtype: a!.dtype, shape: broadcast(a!.shape!, b!.shape!) }];
    },
    run: ([a, b]) => tf.pow(a!, tf.cast(b!, a!.dtype)),
  },
  Mod: {
    inputs: [2, 2],
    attributes: { fmod: "int" },
    infer([a, b], at) {
      acceptType(a!, "number");
      if (isFloat(a!.dtype) && !at.int("fmod", 0)) throw new OpError("Mod of floats needs fmod = 1");
      return [{ dtype: a!.dtype, shape: broadcast(a!.shape!, b!.shape!) }];
    },
    run([a, b], at) {
      // fmod: the remainder takes the dividend's sign (C's fmod); else the divisor's (Python's %).
      if (at.int("fmod", 0)) return tf.sub(a!, tf.mul(b!, a!.dtype === "int32" ? divide(a!, b!) : tf.mul(tf.sign(tf.div(a!, b!)), tf.floor(tf.abs(tf.div(a!, b!))))));
      return tf.sub(a!, tf.mul(b!, tf.floorDiv(a!, b!)));
    },
  },
  PRelu: {
    inputs: [2, 2],
    infer([x, slope]) {
      acceptType(x!, "float");
      return [{ dtype: x!.dtype, shape: broadcast(x!.shape!, slope!.shape!) }];
    },
    run: ([x, slope]) => tf.where(tf.greaterEqual(x!, 0), x!, tf.mul(x!, slope!)),
  },
  Equal: binary((a, b) => tf.equal(a, b), { types: "any", out: "bool", host: (a, b) => Number(a === b) }),
  Less: binary((a, b) => tf.less(a, b), { out: "bool", host: (a, b) => Number(a < b) }),
  LessOrEqual: binary((a, b) => tf.lessEqual(a, b), { out: "bool", host: (a, b) => Number(a <= b) }),
  Greater: binary((a, b) => tf.greater(a, b), { out: "bool", host: (a, b) => Number(a > b) }),
  GreaterOrEqual: binary((a, b) => tf.greaterEqual(a, b), { out: "bool", host: (a, b) => Number(a >= b) }),
  And: binary((a, b) => tf.logicalAnd(a, b), { types: "bool", out: "bool", host: (a, b) => Number(a && b) }),
  Or: binary((a, b) => tf.logicalOr(a, b), { types: "bool", out: "bool", host: (a, b) => Number(a || b) }),
  Xor: binary((a, b) => tf.logicalXor(a, b), { types: "bool", out: "bool", host: (a, b) => Number(Boolean(a) !== Boolean(b)) }),
  Max: variadic((xs) => xs.reduce((a, b) => tf.maximum(a, b))),
  Min: variadic((xs) => xs.reduce((a, b) => tf.minimum(a, b))),
  Sum: variadic((xs) => xs.reduce((a, b) => tf.add(a, b))),
  Mean: variadic((xs) => tf.div(xs.reduce((a, b) => tf.add(a, b)), xs.length), "float"),
  Where: {
    inputs: [3, 3],
    infer([c, x, y]) {
      acceptType(c!, "bool");
      if (x!.dtype !== y!.dtype) throw new OpError(`X and Y have different element types (${x!.dtype} and ${y!.dtype})`);
      const shape = broadcast(c!.shape!, x!.shape!, y!.shape!);
      let data: Dim[] | undefined;
      if (c!.data && x!.data && y!.data && known(shape) && [c, x, y].every((v) => known(v!.shape) && v!.shape!.length === shape.length && v!.shape!.every((d, i) => d === shape[i]))) {
        data = c!.data.map((k, i) => (k ? x!.data![i]! : y!.data![i]!));
      }
      return [tracked(x!.dtype, shape, data)];
    },
    run([c, x, y], _a, { outs }) {
      // tf.where broadcasts the condition only to X's shape: give all three the result's shape.
      const shape = outs[0]!.shape as number[];
      return tf.where(tf.broadcastTo(c!, shape), tf.broadcastTo(x!, shape), tf.broadcastTo(y!, shape));
    },
  },
  Clip: {
    inputs: [1, 3],
    attributes: { min: "float", max: "float" },
    infer([x]) {
      acceptType(x!, "number");
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
    run([x, lo, hi], a) {
      // Before opset 11, min and max are attributes; from 11, optional scalar inputs.
      let y = x!;
      const min = lo ?? (a.has("min") ? tf.scalar(a.float("min", 0), x!.dtype) : null);
      const max = hi ?? (a.has("max") ? tf.scalar(a.float("max", 0), x!.dtype) : null);
      if (min) y = tf.maximum(y, min);
      if (max) y = tf.minimum(y, max);
      return y === x ? tf.clone(x!) : y;
    },
  },
};
