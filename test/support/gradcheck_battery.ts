/**
 * The functions gradcheck is tried on at every input scale (test/gradcheck_battery.test.ts,
 * test/gradcheck_trials.test.ts): elementwise sin, exp, tanh, softplus, x·|x|, abs; softmax,
 * logsumexp, layer norm, linear. Each has its correct hand-written backward and the subtle
 * mistakes people make: a constant off by 0.1%, a missing term, a wrong axis, dy ignored or
 * squared, a derivative right only for x > 0.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction, type CustomFunction } from "../../lib/function";
import { Generator } from "../../lib/random";

/** Gradients for each input, from dy, the inputs and forward's output. */
type Backward = (dy: tf.Tensor, xs: tf.Tensor[], y: tf.Tensor) => tf.Tensor[];

export interface BatteryOp {
  /** "sin", "softmax", … */
  family: string;
  /** "correct", or the mistake: "off by 0.1%", "dy ignored", … */
  variant: string;
  op: CustomFunction<tf.Tensor[]>;
  /** The inputs' shapes. */
  shapes: number[][];
  /** Scales at which the forward stays finite in float32 (exp overflows at 1e3). */
  scales: readonly number[];
}

export const SCALES = [1e-7, 1e-4, 1e-2, 1, 1e3] as const;

interface Family {
  family: string;
  shapes: number[][];
  forward: (...xs: tf.Tensor[]) => tf.Tensor;
  backward: Backward;
  /** Mistakes special to this function (the generic ones are added for every function). */
  mistakes: Record<string, Backward>;
  scales?: readonly number[];
}

const ELEMENTWISE = [[6]];
const MATRIX = [[3, 5]];
const LN_EPS = 1e-5;

function elementwise(family: string, forward: (x: tf.Tensor) => tf.Tensor, derivative: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor, mistakes: Record<string, (x: tf.Tensor, y: tf.Tensor) => tf.Tensor>, scales?: readonly number[]): Family {
  const lift = (d: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor): Backward => (dy, [x], y) => [tf.mul(dy, d(x!, y))];
  return {
    family,
    shapes: ELEMENTWISE,
    forward: (x) => forward(x!),
    backward: lift(derivative),
    mistakes: Object.fromEntries(Object.entries(mistakes).map(([k, d]) => [k, lift(d)])),
    scales,
  };
}

const softmaxBackward = (axis: number): Backward => (dy, _xs, y) => [tf.mul(y, tf.sub(dy, tf.sum(tf.mul(dy, y), axis, true)))];
const layerNorm = (x: tf.Tensor): tf.Tensor => {
  const centred = tf.sub(x, tf.mean(x, -1, true));
  return tf.div(centred, tf.sqrt(tf.add(tf.mean(tf.square(centred), -1, true), LN_EPS)));
};
/** dx = (dy − mean(dy) − y·mean(dy·y)) / σ, the means over `axis` (−1 is right). */
const layerNormBackward = (axis: number, withVarianceTerm = true): Backward => (dy, [x], y) => {
  const centred = tf.sub(x!, tf.mean(x!, -1, true));
  const sigma = tf.sqrt(tf.add(tf.mean(tf.square(centred), -1, true), LN_EPS));
  let inner = tf.sub(dy, tf.mean(dy, axis, true));
  if (withVarianceTerm) inner = tf.sub(inner, tf.mul(y, tf.mean(tf.mul(dy, y), axis, true)));
  return [tf.div(inner, sigma)];
};

const FAMILIES: Family[] = [
  elementwise("sin", tf.sin, (x) => tf.cos(x), { "right only for x > 0": (x) => tf.mul(tf.cos(x), tf.sign(x)) }),
  elementwise("exp", tf.exp, (_x, y) => y, { "right only for x > 0": (x) => tf.exp(tf.abs(x)) }, [1e-7, 1e-4, 1e-2, 1]),
  elementwise("tanh", tf.tanh, (_x, y) => tf.sub(1, tf.square(y)), {
    "missing term": () => tf.scalar(1),
    "right only for x > 0": (_x, y) => tf.sub(1, tf.mul(y, tf.abs(y))),
  }),
  elementwise("softplus", tf.softplus, (x) => tf.sigmoid(x), {
    "missing term": (x) => tf.exp(x),
    "right only for x > 0": (x) => tf.sigmoid(tf.abs(x)),
  }),
  elementwise("x·|x|", (x) => tf.mul(x, tf.abs(x)), (x) => tf.mul(2, tf.abs(x)), {
    "missing term": (x) => tf.abs(x),
    "right only for x > 0": (x) => tf.mul(2, x),
  }),
  elementwise("abs", tf.abs, (x) => tf.sign(x), { "right only for x > 0": (x) => tf.onesLike(x) }),
  {
    family: "softmax",
    shapes: MATRIX,
    forward: (x) => tf.softmax(x!),
    backward: softmaxBackward(-1),
    mistakes: { "missing term": (dy, _xs, y) => [tf.mul(y, dy)], "wrong axis": softmaxBackward(0) },
  },
  {
    family: "logsumexp",
    shapes: MATRIX,
    forward: (x) => tf.logSumExp(x!, -1),
    backward: (dy, [x]) => [tf.mul(tf.expandDims(dy, -1), tf.softmax(x!))],
    mistakes: {
      "missing term": (dy, [x]) => [tf.mul(tf.expandDims(dy, -1), tf.exp(tf.sub(x!, tf.max(x!, -1, true))))],
      "wrong axis": (dy, [x]) => [tf.mul(tf.expandDims(dy, -1), tf.exp(tf.sub(x!, tf.logSumExp(x!, 0, true))))],
    },
  },
  {
    family: "layer norm",
    shapes: MATRIX,
    forward: (x) => layerNorm(x!),
    backward: layerNormBackward(-1),
    mistakes: { "missing term": layerNormBackward(-1, false), "wrong axis": layerNormBackward(0) },
  },
  {
    family: "linear",
    shapes: [[3, 4], [2, 4], [2]],
    forward: (x, w, b) => tf.add(tf.matMul(x!, w!, false, true), b!),
    backward: (dy, [x, w]) => [tf.matMul(dy, w!), tf.matMul(dy, x!, true, false), tf.sum(dy, 0)],
    mistakes: { "missing term": (dy, [x, w]) => [tf.matMul(dy, w!), tf.matMul(dy, x!, true, false), tf.zeros([w!.shape[0]!])] },
  },
];

/** Mistakes every function gets: they act on the correct backward's result or on dy. */
const GENERIC: Record<string, (correct: Backward) => Backward> = {
  "off by 0.1%": (correct) => (dy, xs, y) => correct(dy, xs, y).map((g, i) => (i === 0 ? tf.mul(g, 1.001) : g)),
  "dy ignored": (correct) => (dy, xs, y) => correct(tf.onesLike(dy), xs, y),
  "dy squared": (correct) => (dy, xs, y) => correct(tf.square(dy), xs, y),
};

function define(f: Family, variant: string, backward: Backward): BatteryOp {
  const op = defineFunction<tf.Tensor[]>({
    name: `${f.family}: ${variant}`,
    forward(ctx, ...xs) {
      const y = f.forward(...xs);
      ctx.saveForBackward(...xs, y);
      return y;
    },
    backward(ctx, dy) {
      const saved = ctx.saved;
      return backward(dy, saved.slice(0, -1) as tf.Tensor[], saved[saved.length - 1]!);
    },
  });
  return { family: f.family, variant, op, shapes: f.shapes, scales: f.scales ?? SCALES };
}

export const BATTERY: readonly BatteryOp[] = FAMILIES.flatMap((f) => [
  define(f, "correct", f.backward),
  ...Object.entries(GENERIC).map(([variant, make]) => define(f, variant, make(f.backward))),
  ...Object.entries(f.mistakes).map(([variant, backward]) => define(f, variant, backward)),
]);

/** The plain tfjs function a family computes (its gradient is tfjs's autodiff: an independent reference). */
export function forwardOf(family: string): (...xs: tf.Tensor[]) => tf.Tensor {
  return FAMILIES.find((f) => f.family === family)!.forward;
}

/** Inputs at a scale: each entry scale·N(0, 1), seeded. */
export function inputsAt(shapes: number[][], scale: number, seed: number): tf.Tensor[] {
  const g = new Generator(seed);
  return shapes.map((s) => tf.tensor(Float32Array.from(g.normalArray(s.reduce((a, b) => a * b, 1)), (z) => scale * z), s));
}

/**
 * Whether a mistaken backward really changes the gradient here: some entry of backward(dy), for
 * each unit dy and for one random dy, differs from the correct one's by at least 0.1% of that
 * gradient's largest entry (less float32 rounding of 1.001 itself), and by more than a float32
 * forward can resolve with steps up to 1 (or up to max|x| below 1): 2⁻²⁴·max|f| / min(1, max|x|).
 * Softmax at logits ≈ 1e3 has gradients of 1e-40, and tanh at x ≈ 10 of 1e-8 beside outputs
 * of 1 quantised in steps of 6e-8: no finite difference of the float32 outputs sees those.
 * tfjs's autodiff of the plain forward is the reference, not the correct hand-written backward.
 */
export function changesGradient(op: BatteryOp, xs: tf.Tensor[], seed: number): boolean {
  return tf.tidy(() => {
    const reference = tf.grads((...a: tf.Tensor[]) => forwardOf(op.family)(...a));
    const ours = tf.grads((...a: tf.Tensor[]) => op.op.apply(...a));
    const y = forwardOf(op.family)(...xs);
    const m = y.size;
    const maxAbs = (t: tf.Tensor) => Array.from(t.dataSync() as Float32Array).reduce((a, b) => Math.max(a, Math.abs(b)), 0);
    const resolvable = (2 ** -24 * maxAbs(y)) / Math.min(1, Math.max(...xs.map(maxAbs)));
    const dys: tf.Tensor[] = [];
    for (let k = 0; k < m; k++) dys.push(tf.tensor(Float32Array.from({ length: m }, (_, i) => (i === k ? 1 : 0)), y.shape));
    const g = new Generator(seed);
    dys.push(tf.tensor(Float32Array.from(g.normalArray(m), (z) => Math.sign(z || 1) * (1.5 + Math.abs(z))), y.shape));
    for (const dy of dys) {
      let wrong: tf.Tensor[];
      try {
        wrong = ours(xs, dy);
      } catch {
        return true;
      }
      const right = reference(xs, dy);
      for (const [i, r] of right.entries()) {
        const rv = r.dataSync();
        const wv = wrong[i]!.dataSync();
        let scale = 0;
        for (const v of rv) scale = Math.max(scale, Math.abs(v));
        for (let j = 0; j < rv.length; j++) {
          const gap = Math.abs(wv[j]! - rv[j]!);
          if (!(gap < 0.999e-3 * scale) && !(gap <= resolvable)) return true;
        }
      }
    }
    return false;
  });
}
