/**
 * torch.optim.SGD, step for step: weight decay added to the gradient, a momentum buffer that starts
 * as a copy of the first gradient (no dampening on that step), optional dampening, Nesterov and
 * maximize. Buffers are tf.Variables updated in place, so a step allocates nothing that outlives it.
 */
import * as tf from "@tensorflow/tfjs";
import type { Parameter } from "../nn/parameter";
import { shapesEqual } from "../shape";

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

  /**
   * Updates every parameter that has a gradient, in PyTorch's order of float operations:
   *   d = g + wd·p;  buf = m·buf + (1 − dampening)·d (buf = d on the first step);
   *   d = nesterov ? d + m·buf : buf;  p = p − lr·d   (g negated first when maximizing).
   * Kernels run through the engine directly (no op-wrapper scope per call), and the common case
   * (momentum without dampening or Nesterov) adds g, wd·p and m·buf in one AddN: it accumulates in
   * that order, so buf is rounded exactly as torch's (g + wd·p) then m·buf + d.
   */
  step(): void {
    const { momentum, nesterov, maximize, weightDecay, dampening } = this.options;
    const s = this.#scalars;
    const engine = tf.engine();
    const mul = (a: tf.Tensor, b: tf.Tensor) => engine.runKernel(tf.Multiply, { a, b }) as tf.Tensor;
    const add = (a: tf.Tensor, b: tf.Tensor) => engine.runKernel(tf.Add, { a, b }) as tf.Tensor;
    tf.tidy(() => {
      for (const p of this.#params) {
        if (p.grad === null) continue;
        const value = p.value;
        const g = maximize ? (engine.runKernel(tf.Neg, { x: p.grad }) as tf.Tensor) : p.grad;
        let d: tf.Tensor;
        if (momentum === 0) {
          d = weightDecay !== 0 ? add(g, mul(value, s.weightDecay)) : g;
        } else {
          const buffer = this.#buffers.get(p);
          if (buffer === undefined) {
            d = weightDecay !== 0 ? add(g, mul(value, s.weightDecay)) : g;
            this.#buffers.set(p, tf.variable(d, false));
            if (nesterov) d = add(d, mul(d, s.momentum));
          } else if (dampening === 0 && !nesterov && shapesEqual(g.shape, value.shape)) {
            const decayed = mul(buffer, s.momentum);
            buffer.assign(
              weightDecay !== 0
                ? (engine.runKernel(tf.AddN, [g, mul(value, s.weightDecay), decayed] as unknown as tf.NamedTensorMap) as tf.Tensor)
                : add(g, decayed),
            );
            d = buffer;
          } else {
            d = weightDecay !== 0 ? add(g, mul(value, s.weightDecay)) : g;
            const decayed = mul(buffer, s.momentum);
            buffer.assign(add(decayed, dampening === 0 ? d : mul(d, s.dampen)));
            d = nesterov ? add(d, mul(buffer, s.momentum)) : buffer;
          }
        }
        value.assign(engine.runKernel(tf.Sub, { a: value, b: mul(d, s.lr) }) as tf.Tensor);
      }
    });
  }

  dispose(): void {
    for (const b of this.#buffers.values()) b.dispose();
    this.#buffers.clear();
    Object.values(this.#scalars).forEach((t) => t.dispose());
  }
}
