/**
 * torch.optim.SGD, step for step: weight decay added to the gradient, a momentum buffer that starts
 * as a copy of the first gradient (no dampening on that step), optional dampening, Nesterov and
 * maximize. Buffers are tf.Variables updated in place, so a step allocates nothing that outlives it.
 */
import * as tf from "@tensorflow/tfjs";
import type { Parameter } from "../nn/parameter";

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
}

export class SGD {
  readonly options: Readonly<Required<SGDOptions>>;
  readonly #params: readonly Parameter[];
  readonly #buffers = new Map<Parameter, tf.Variable>();
  /** Hyper-parameters as tensors made once, not per step. */
  readonly #scalars: { lr: tf.Scalar; momentum: tf.Scalar; dampen: tf.Scalar; weightDecay: tf.Scalar };

  constructor(params: readonly Parameter[], options: SGDOptions) {
    const o = { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...options };
    for (const key of ["lr", "momentum", "dampening", "weightDecay"] as const) {
      if (typeof o[key] !== "number" || !Number.isFinite(o[key]) || o[key] < 0) {
        throw new RangeError(`SGD: ${key} must be a finite number ≥ 0, got ${o[key]}`);
      }
    }
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new RangeError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening");
    }
    if (params.length === 0) throw new RangeError("SGD: got an empty parameter list");
    this.options = Object.freeze(o);
    this.#params = [...params];
    this.#scalars = tf.tidy(() => ({
      lr: tf.keep(tf.scalar(o.lr)),
      momentum: tf.keep(tf.scalar(o.momentum)),
      dampen: tf.keep(tf.scalar(1 - o.dampening)),
      weightDecay: tf.keep(tf.scalar(o.weightDecay)),
    }));
  }

  /** Clears the gradients of this optimizer's parameters. */
  zeroGrad(): void {
    for (const p of this.#params) p.clearGrad();
  }

  /** Updates every parameter that has a gradient. */
  step(): void {
    const { momentum, nesterov, maximize, weightDecay, dampening } = this.options;
    const s = this.#scalars;
    tf.tidy(() => {
      for (const p of this.#params) {
        if (p.grad === null) continue;
        let d: tf.Tensor = maximize ? tf.neg(p.grad) : p.grad;
        if (weightDecay !== 0) d = tf.add(d, tf.mul(p.value, s.weightDecay));
        if (momentum !== 0) {
          const buffer = this.#buffers.get(p);
          if (buffer === undefined) {
            this.#buffers.set(p, tf.variable(d, false));
          } else {
            const decayed = tf.mul(buffer, s.momentum);
            buffer.assign(tf.add(decayed, dampening === 0 ? d : tf.mul(d, s.dampen)));
          }
          const buf = this.#buffers.get(p)!;
          d = nesterov ? tf.add(d, tf.mul(buf, s.momentum)) : buf;
        }
        p.value.assign(tf.sub(p.value, tf.mul(d, s.lr)));
      }
    });
  }

  dispose(): void {
    for (const b of this.#buffers.values()) b.dispose();
    this.#buffers.clear();
    Object.values(this.#scalars).forEach((t) => t.dispose());
  }
}
