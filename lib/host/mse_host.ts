/**
 * MSELoss on host storage (cpu, wasm) for the common case — input and target of one shape, float32,
 * non-empty — as two loops instead of five tfjs kernels: forward writes input − target (what
 * backward needs) and the squares or their sum in one pass; backward scales it by 2·dy (÷ n for
 * "mean") for the input and negates that for the target. Sums run in float64, rounded once.
 */
import type * as tf from "@tensorflow/tfjs";
import { tensorFromInfo, type HostBackend } from "./host_tensors";

export type MseReduction = "mean" | "sum" | "none";

export function mseForwardHost(host: HostBackend, input: tf.Tensor, target: tf.Tensor, reduction: MseReduction): { value: tf.Tensor; diff: tf.Tensor } {
  const n = input.size;
  const diffInfo = host.alloc(input.shape);
  const outInfo = host.alloc(reduction === "none" ? input.shape : []);
  const x = host.f32(input);
  const y = host.f32(target);
  const diff = host.f32(diffInfo);
  const out = host.f32(outInfo);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = Math.fround(x[i]! - y[i]!);
    diff[i] = d;
    const sq = Math.fround(d * d);
    if (reduction === "none") out[i] = sq;
    else sum += sq;
  }
  if (reduction !== "none") out[0] = reduction === "mean" ? sum / n : sum;
  return { value: tensorFromInfo(outInfo), diff: tensorFromInfo(diffInfo) };
}

/** [d/d input, d/d target] for dy (a scalar, or the input's shape under "none"). */
export function mseBackwardHost(host: HostBackend, dy: tf.Tensor, diff: tf.Tensor, reduction: MseReduction): [tf.Tensor, tf.Tensor] {
  const n = diff.size;
  const gInfo = host.alloc(diff.shape);
  const tInfo = host.alloc(diff.shape);
  const d = host.f32(diff);
  const dys = host.f32(dy);
  const g = host.f32(gInfo);
  const t = host.f32(tInfo);
  // dy/(n/2) equals 2·(dy/n) exactly (a power-of-two scale): the float32 numbers of mean → square.
  const scalar = reduction === "mean" ? Math.fround(dys[0]! / Math.fround(n / 2)) : Math.fround(dys[0]! * 2);
  for (let i = 0; i < n; i++) {
    const scale = reduction === "none" ? Math.fround(dys[i]! * 2) : scalar;
    const gi = Math.fround(d[i]! * scale);
    g[i] = gi;
    t[i] = -gi;
  }
  return [tensorFromInfo(gInfo), tensorFromInfo(tInfo)];
}
