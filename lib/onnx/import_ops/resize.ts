/**
 * Resize (opset 10 and 11+) and Upsample, as ONNX's reference computes them: one axis at a time,
 * from the last to the first, each output position a weighted sum of the input's nearest
 * positions along that axis (edge-padded), with the coordinate transformation, nearest mode,
 * cubic coefficient and exclude_outside the node asks for. Each axis's weights are an O×I matrix
 * built on the host, applied with a matMul: exact to float32 and differentiable.
 */
import * as tf from "@tensorflow/tfjs";
import type { Attrs } from "./attributes";
import type { ImportOp, OpContext } from "./op";
import { formatDims, isFloat, OpError, Refusal, type Dim, type ValueInfo } from "./values";

interface AxisPlan {
  /** Weights [O, I], row-major. */
  weights: Float32Array;
  /** Rows whose position falls outside the input (tf_crop_and_resize): they take the extrapolation value. */
  outside: boolean[];
  size: number;
}

const MODES = new Set(["nearest", "linear", "cubic"]);
const TRANSFORMS = new Set(["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"]);

/** Settings by opset: Upsample and Resize-10 sample asymmetrically, nearest rounding down. */
function settings(a: Attrs, ctx: OpContext, upsample: boolean) {
  const old = upsample || ctx.opset < 11;
  const mode = a.string("mode", "nearest");
  if (!MODES.has(mode) || (old && mode === "cubic")) throw new OpError(`mode "${mode}" is not one of ${old ? "nearest, linear" : "nearest, linear, cubic"}`);
  const transform = old ? "asymmetric" : a.string("coordinate_transformation_mode", "half_pixel");
  if (!TRANSFORMS.has(transform)) throw new OpError(`coordinate_transformation_mode "${transform}" is not one of ${[...TRANSFORMS].join(", ")}`);
  return {
    mode,
    transform,
    nearest: old ? "floor" : a.string("nearest_mode", "round_prefer_floor"),
    cubicA: a.float("cubic_coeff_a", -0.75),
    excludeOutside: a.int("exclude_outside", 0) !== 0,
    extrapolation: a.float("extrapolation_value", 0),
  };
}

function coefficients(ratio: number, s: ReturnType<typeof settings>): number[] {
  if (s.mode === "linear") return [1 - ratio, ratio];
  if (s.mode === "cubic") {
    const A = s.cubicA, r = ratio, q = 1 - ratio;
    return [
      ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A,
      ((A + 2) * r - (A + 3)) * r * r + 1,
      ((A + 2) * q - (A + 3)) * q * q + 1,
      ((A * (q + 1) - 5 * A) * (q + 1) + 8 * A) * (q + 1) - 4 * A,
    ];
  }
  if (Number.isInteger(ratio)) return [0, 1];
  switch (s.nearest) {
    case "round_prefer_floor": return [Number(ratio <= 0.5), Number(ratio > 0.5)];
    case "round_prefer_ceil": return [Number(ratio < 0.5), Number(ratio >= 0.5)];
    case "floor": return [1, 0];
    case "ceil": return [0, 1];
  }
  throw new OpError(`nearest_mode "${s.nearest}" is not one of round_prefer_floor, round_prefer_ceil, floor, ceil`);
}

/** The weights of one axis: input size I to output size O at `scale`, as the reference's interpolate_1d. */
function axisPlan(I: number, O: number, scale: number, s: ReturnType<typeof settings>, roi: [number, number]): AxisPlan {
  const weights = new Float32Array(O * I);
  const outside: boolean[] = [];
  const width = scale * I;
  for (let x = 0; x < O; x++) {
    let ori: number;
    switch (s.transform) {
      case "align_corners": ori = width === 1 ? 0 : (x * (I - 1)) / (width - 1); break;
      case "asymmetric": ori = x / scale; break;
      case "pytorch_half_pixel": ori = width === 1 ? -0.5 : (x + 0.5) / scale - 0.5; break;
      case "tf_half_pixel_for_nn": ori = (x + 0.5) / scale; break;
      case "tf_crop_and_resize":
        ori = (width === 1 ? ((roi[1] - roi[0]) * (I - 1)) / 2 : (x * (roi[1] - roi[0]) * (I - 1)) / (width - 1)) + roi[0] * (I - 1);
        break;
      default: ori = (x + 0.5) / scale - 0.5;
    }
    if (s.transform === "tf_crop_and_resize" && (ori < 0 || ori > I - 1)) {
      outside.push(true);
      continue;
    }
    outside.push(false);
    const floor = Math.floor(ori);
    const coeffs = coefficients(Number.isInteger(ori) ? 1 : ori - floor, s);
    const n = coeffs.length;
    // The n indexes nearest to ori (the smaller first among equals), in an edge-padded input.
    const pad = Math.ceil(n / 2);
    const candidates: number[] = [];
    for (let i = floor - n; i <= floor + n; i++) if (i >= -pad && i < I + pad) candidates.push(i);
    const chosen = candidates.sort((p, q) => Math.abs(ori - p) - Math.abs(ori - q) || p - q).slice(0, n).sort((p, q) => p - q);
    if (s.excludeOutside) {
      chosen.forEach((i, k) => { if (i < 0 || i >= I) coeffs[k] = 0; });
      const sum = coeffs.reduce((p, q) => p + q, 0);
      coeffs.forEach((c, k) => (coeffs[k] = c / sum));
    }
    chosen.forEach((i, k) => {
      const at = x * I + Math.max(0, Math.min(I - 1, i));
      weights[at] = weights[at]! + coeffs[k]!;
    });
  }
  return { weights, outside, size: O };
}

/** Output sizes, and per-axis scales, from `sizes` or `scales` (known on the host). */
function target(x: ValueInfo, scales: ValueInfo | null | undefined, sizes: ValueInfo | null | undefined): { shape: Dim[]; scales: (number | null)[] } | null {
  const rank = x.shape!.length;
  if (sizes && sizes.shape![0] !== 0) {
    if (!sizes.data) return null;
    const out = sizes.data as number[];
    if (out.length !== rank) throw new OpError(`sizes has ${out.length} entries for an input of rank ${rank}`);
    return { shape: out, scales: out.map((o, i) => (typeof x.shape![i] === "number" ? o / (x.shape![i] as number) : null)) };
  }
  if (!scales || !scales.data) return scales ? null : (() => { throw new OpError("Resize needs scales or sizes"); })();
  const sc = scales.data as number[];
  if (sc.length !== rank) throw new OpError(`scales has ${sc.length} entries for an input of rank ${rank}`);
  if (sc.some((v) => !(v > 0))) throw new OpError(`scales [${sc.join(", ")}] must be positive`);
  return { shape: x.shape!.map((d, i) => (typeof d === "number" ? Math.floor(d * sc[i]!) : null)), scales: sc };
}

function resizeOp(upsample: boolean): ImportOp {
  // Resize: X, roi, scales, sizes (opset 11+) or X, scales (opset 10); Upsample: X, scales.
  const inputsOf = (ins: readonly (ValueInfo | null | undefined)[], ctx: OpContext) =>
    upsample || ctx.opset < 11 ? { roi: null, scales: ins[1], sizes: null } : { roi: ins[1], scales: ins[2], sizes: ins[3] };
  return {
    // Resize-10's second input (scales) is required; from 11 the second (roi) may be empty.
    inputs: upsample ? [2, 2] : [1, 4],
    attributes: upsample
      ? { mode: "string" }
      : { mode: "string", coordinate_transformation_mode: "string", nearest_mode: "string", cubic_coeff_a: "float", exclude_outside: "int", extrapolation_value: "float" },
    hostInputs: [1, 2, 3],
    infer(ins, a, ctx) {
      const x = ins[0]!;
      if (!isFloat(x.dtype)) throw new Refusal(`element type ${x.dtype}: gradlab resizes floats only`);
      settings(a, ctx, upsample);
      const { scales, sizes } = inputsOf(ins, ctx);
      const t = target(x, scales, sizes);
      return [{ dtype: x.dtype, shape: t ? t.shape : x.shape!.map(() => null) }];
    },
    run([x], a, ctx) {
      const s = settings(a, ctx, upsample);
      const { roi, scales, sizes } = inputsOf(ctx.ins, ctx);
      const t = target(ctx.ins[0]!, scales, sizes)!;
      const rank = x!.rank;
      const roiValues = (roi?.data as number[] | undefined) ?? [];
      if (s.transform === "tf_crop_and_resize" && roiValues.length !== 2 * rank) throw new OpError(`tf_crop_and_resize needs roi with ${2 * rank} entries, got ${formatDims([roiValues.length])}`);
      let y = x!;
      for (let axis = rank - 1; axis >= 0; axis--) {
        const I = y.shape[axis]!, O = t.shape[axis] as number;
        const scale = t.scales[axis]!;
        if (I === O && scale === 1 && s.transform !== "tf_crop_and_resize") continue;
        const plan = axisPlan(I, O, scale, s, [roiValues[axis] ?? 0, roiValues[axis + rank] ?? 1]);
        const perm = [...Array(rank).keys()];
        perm[axis] = rank - 1;
        perm[rank - 1] = axis;
        const moved = axis === rank - 1 ? y : tf.transpose(y, perm);
        const rows = tf.reshape(moved, [-1, I]) as tf.Tensor2D;
        let out: tf.Tensor = tf.matMul(rows, tf.tensor2d(plan.weights, [O, I]), false, true);
        if (plan.outside.some(Boolean)) out = tf.add(out, tf.mul(tf.tensor1d(plan.outside.map(Number)), s.extrapolation));
        out = tf.reshape(out, [...moved.shape.slice(0, -1), O]);
        y = axis === rank - 1 ? out : tf.transpose(out, perm);
      }
      return y === x ? tf.clone(x!) : y;
    },
  };
}

export const RESIZE_OPS: Record<string, ImportOp> = {
  Resize: resizeOp(false),
  Upsample: resizeOp(true),
};
