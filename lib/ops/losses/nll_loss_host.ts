/**
 * nll_loss as loops over host memory (cpu and wasm): each row reads one element, so the generic
 * path's one-hot mask [M, C], its multiplies and sums are all overhead here. Per row m with
 * target t, kept unless t = ignoreIndex: loss = −w_t·x[m, t]; backward writes −r·w_t at [m, t]
 * and zeros elsewhere.
 */
import type * as tf from "@tensorflow/tfjs";
import type { FunctionCtx } from "../../function";
import { tensorFromInfo, type HostBackend } from "../../host/host_tensors";
import type { Reduction } from "../argument_checks";
import { classRows, classWeights, reducedLoss, rowGradients } from "./class_rows_host";
import { targetShapeFor } from "./class_targets";

interface HostState {
  host: HostBackend;
  inputShape: readonly number[];
  denominator: number;
}

export function nllLossHostForward(host: HostBackend, ctx: FunctionCtx, x: tf.Tensor, target: tf.Tensor, reduction: Reduction, ignoreIndex: number, weight: tf.Tensor | undefined): tf.Tensor {
  const { batch, classes, inner, rows } = classRows(x.shape);
  const w = classWeights(host, weight, classes);
  const xs = host.f32(x);
  const ts = host.i32(target);
  const perRow = new Float64Array(rows);
  let denominator = 0;
  let m = 0;
  for (let n = 0; n < batch; n++) {
    for (let s = 0; s < inner; s++, m++) {
      const t = ts[m]!;
      // Out of range only through NllLossF.apply itself (the functional rejects it): an empty one-hot row, as on the generic path.
      if (t === ignoreIndex || t < 0 || t >= classes) continue;
      perRow[m] = -w[t]! * xs[n * classes * inner + s + t * inner]!;
      denominator += w[t]!;
    }
  }
  ctx.attributes.set("host", { host, inputShape: x.shape, denominator } satisfies HostState);
  ctx.saveForBackward(target, ...(weight ? [weight] : []));
  return reducedLoss(host, perRow, reduction, targetShapeFor(x.shape), denominator);
}

/** The input's gradient, after nllLossHostForward (ctx.attributes has "host"). */
export function nllLossHostBackward(ctx: FunctionCtx, dy: tf.Tensor): tf.Tensor {
  const { host, inputShape, denominator } = ctx.attributes.get("host") as HostState;
  const [reduction, ignoreIndex] = ctx.attrs.slice(2, 4) as [Reduction, number];
  const [target, weight] = ctx.saved as [tf.Tensor, tf.Tensor | undefined];
  const { batch, classes, inner, rows } = classRows(inputShape);
  const w = classWeights(host, weight, classes);
  const r = rowGradients(host, dy, reduction, rows, denominator);
  // Every allocation before the views: on wasm a new allocation may move the heap under them.
  const info = host.alloc(inputShape);
  const [ts, dx] = [host.i32(target), host.f32(info)];
  dx.fill(0);
  let m = 0;
  for (let n = 0; n < batch; n++) {
    for (let s = 0; s < inner; s++, m++) {
      const t = ts[m]!;
      if (t === ignoreIndex || t < 0 || t >= classes) continue;
      dx[n * classes * inner + s + t * inner] = -r[m]! * w[t]!;
    }
  }
  return tensorFromInfo(info);
}
