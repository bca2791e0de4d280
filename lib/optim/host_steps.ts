/**
 * The optimizer steps as one loop per parameter over the tensors' own storage, for the backends
 * that keep it in host memory (cpu, wasm; host/host_tensors.ts). The tfjs-kernel path runs about
 * a dozen element-wise kernels per parameter per step, each a dispatch of a few µs; on a small
 * model that is most of the training step, and a loop does the same arithmetic in nanoseconds.
 *
 * Every operation is rounded to float32 (Math.fround) in the order the kernel path and torch run
 * them, so the two paths give bit-identical parameters: a float32 +, −, ×, ÷ or √ equals the
 * float64 result rounded once to float32, and the hyper-parameters are rounded as tf.scalar
 * rounds them.
 */
import type { Parameter } from "../nn/parameter";
import { shapesEqual } from "../shape";

const f = Math.fround;

/** A float32 parameter whose gradient has its shape: what the host loops take. */
export function hostSteppable(p: Parameter): boolean {
  const g = p.grad;
  return g !== null && g.dtype === "float32" && p.value.dtype === "float32" && shapesEqual(g.shape, p.value.shape);
}

export interface SGDHost {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

/**
 * torch's SGD on one parameter: p, g and (with momentum) buf are its storage. `first` is the step
 * that creates the momentum buffer (buf = d, undampened).
 */
export function sgdHostStep(p: Float32Array, g: Float32Array, buf: Float32Array | null, h: SGDHost, first: boolean): void {
  const lr = f(h.lr);
  const m = f(h.momentum);
  const wd = f(h.weightDecay);
  const dampen = f(1 - h.dampening);
  const sign = h.maximize ? -1 : 1;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]!;
    let d = sign * g[i]!;
    if (wd !== 0) d = f(d + f(pi * wd));
    if (buf !== null) {
      let b: number;
      if (first) b = d;
      else b = f(f(buf[i]! * m) + (h.dampening === 0 ? d : f(d * dampen)));
      buf[i] = b;
      d = h.nesterov ? f(d + f((first ? d : b) * m)) : b;
    }
    p[i] = f(pi - f(d * lr));
  }
}

export interface AdamHost {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupled: boolean;
  maximize: boolean;
  /** The step number this step makes (1 on the first). */
  step: number;
}

/** torch's Adam / AdamW on one parameter; vmax is max_exp_avg_sq under amsgrad, else null. */
export function adamHostStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, h: AdamHost): void {
  const b1 = f(h.beta1);
  const oneMinusB1 = f(1 - h.beta1);
  const b2 = f(h.beta2);
  const oneMinusB2 = f(1 - h.beta2);
  // Host float64 scalars, as torch computes them, then rounded as tf.scalar rounds them.
  const stepSize = f(h.lr / (1 - h.beta1 ** h.step));
  const bc2Sqrt = f(Math.sqrt(1 - h.beta2 ** h.step));
  const eps = f(h.eps);
  const wd = f(h.weightDecay);
  const decay = f(1 - h.lr * h.weightDecay);
  const coupledDecay = h.weightDecay !== 0 && !h.decoupled;
  const decoupledDecay = h.weightDecay !== 0 && h.decoupled;
  const sign = h.maximize ? -1 : 1;
  for (let i = 0; i < p.length; i++) {
    let pi = p[i]!;
    let gi = sign * g[i]!;
    if (decoupledDecay) pi = f(pi * decay);
    else if (coupledDecay) gi = f(gi + f(pi * wd));
    const mi = f(f(m[i]! * b1) + f(gi * oneMinusB1));
    const vi = f(f(v[i]! * b2) + f(f(gi * oneMinusB2) * gi));
    m[i] = mi;
    v[i] = vi;
    let second = vi;
    if (vmax !== null) {
      // Math.max, like tf.maximum and torch.maximum, propagates NaN from either side.
      second = Math.max(vmax[i]!, vi);
      vmax[i] = second;
    }
    const denom = f(f(f(Math.sqrt(second)) / bc2Sqrt) + eps);
    p[i] = f(pi - f(f(mi * stepSize) / denom));
  }
}
