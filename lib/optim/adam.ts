/**
 * torch.optim.Adam (1.13, its default single-tensor path), step for step: per parameter, a step
 * count and the moments exp_avg and exp_avg_sq (and max_exp_avg_sq with amsgrad), in torch's order
 * of float operations:
 *   g = ±grad (+ wd·p);  m = β₁·m + (1−β₁)·g;  v = β₂·v + (1−β₂)·g·g;  [v̂ = max(v̂, v)]
 *   denom = √v / √(1−β₂ᵗ) + ε;  p = p − (lr/(1−β₁ᵗ))·m / denom
 * The bias corrections are computed in float64 on the host, as torch does. AdamW (adamw.ts) is the
 * same step with decoupled weight decay.
 */
import * as tf from "@tensorflow/tfjs";
import type { Parameter } from "../nn/parameter";
import { ownStorage, type HostBackend } from "../host/host_tensors";
import { gemmAvailable } from "../host/gemm/sgemm";
import { adamHostStep, type AdamHost } from "./host_steps";
import { adamStepWasm } from "./optim_wasm";
import { add, div, maximum, mul, neg, sqrt, sub } from "./kernels";
import { boolean, finiteAtLeast0, Optimizer, type HyperSpec } from "./optimizer";

export interface AdamOptions {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

export const ADAM_SPEC: { readonly [K in keyof AdamOptions]: HyperSpec } = {
  lr: { key: "lr", ...finiteAtLeast0 },
  betas: {
    key: "betas",
    expected: "two numbers, each in [0, 1)",
    ok: (v) => Array.isArray(v) && v.length === 2 && v.every((b) => typeof b === "number" && b >= 0 && b < 1),
  },
  eps: { key: "eps", ...finiteAtLeast0 },
  weightDecay: { key: "weight_decay", ...finiteAtLeast0 },
  amsgrad: { key: "amsgrad", ...boolean },
  maximize: { key: "maximize", ...boolean },
};

/**
 * Adam and AdamW: the same moments, weight decay coupled (added to the gradient) or decoupled
 * (the parameter decayed first, p = p·(1 − lr·wd)).
 */
export abstract class AdamFamily extends Optimizer<AdamOptions> {
  protected abstract readonly decoupled: boolean;

  protected stateKeys(group: AdamOptions) {
    return { counters: ["step"], buffers: ["exp_avg", "exp_avg_sq", ...(group.amsgrad ? ["max_exp_avg_sq"] : [])] };
  }

  /** Updates every parameter that has a gradient (a parameter without one keeps its step count). */
  step(): void {
    const group = this.paramGroups[0];
    if (this.stepOnHost((host, p) => this.#hostStep(host, p))) return;
    const { lr, eps, weightDecay, amsgrad, maximize } = group;
    const [beta1, beta2] = group.betas;
    tf.tidy(() => {
      for (const p of group.params) {
        if (p.grad === null) continue;
        let st = this.state.get(p);
        if (st === undefined) {
          st = { step: 0, exp_avg: zerosLike(p), exp_avg_sq: zerosLike(p) };
          if (amsgrad) st.max_exp_avg_sq = zerosLike(p);
          this.state.set(p, st);
        }
        const value = p.value;
        const step = (st.step as number) + 1;
        st.step = step;
        let g = maximize ? neg(p.grad) : p.grad;
        if (weightDecay !== 0) {
          if (this.decoupled) value.assign(mul(value, this.scalar("decay", 1 - lr * weightDecay)));
          else g = add(g, mul(value, this.scalar("weightDecay", weightDecay)));
        }
        const m = st.exp_avg as tf.Variable;
        const v = st.exp_avg_sq as tf.Variable;
        m.assign(add(mul(m, this.scalar("beta1", beta1)), mul(g, this.scalar("1-beta1", 1 - beta1))));
        // addcmul_(g, g, value=1−β₂) is (value·g)·g: ATen's kernel multiplies left to right.
        v.assign(add(mul(v, this.scalar("beta2", beta2)), mul(mul(g, this.scalar("1-beta2", 1 - beta2)), g)));
        const stepSize = lr / (1 - beta1 ** step);
        const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
        let second: tf.Tensor = v;
        if (amsgrad) {
          const vmax = st.max_exp_avg_sq as tf.Variable;
          vmax.assign(maximum(vmax, v));
          second = vmax;
        }
        const denom = add(div(sqrt(second), this.scalar("biasCorrection2Sqrt", biasCorrection2Sqrt)), this.scalar("eps", eps));
        // addcdiv_(m, denom, value=−step_size) is p + (value·m)/denom.
        value.assign(sub(value, div(mul(m, this.scalar("stepSize", stepSize)), denom)));
      }
    });
  }

  /** One parameter's step as one loop over its storage, bit-identical to the kernel path above. */
  #hostStep(host: HostBackend, p: Parameter): void {
    const group = this.paramGroups[0];
    let st = this.state.get(p);
    if (st === undefined) {
      st = { step: 0, exp_avg: zerosLike(p), exp_avg_sq: zerosLike(p) };
      if (group.amsgrad) st.max_exp_avg_sq = zerosLike(p);
      this.state.set(p, st);
    }
    const step = (st.step as number) + 1;
    st.step = step;
    const m = st.exp_avg as tf.Variable;
    const v = st.exp_avg_sq as tf.Variable;
    const vmax = group.amsgrad ? (st.max_exp_avg_sq as tf.Variable) : null;
    ownStorage(host, p.value);
    ownStorage(host, m);
    ownStorage(host, v);
    if (vmax !== null) ownStorage(host, vmax);
    // Every allocation is done: the views stay valid through the loop (wasm's heap may move on allocation).
    const hyper = this.#hostHyper;
    hyper.lr = group.lr;
    hyper.beta1 = group.betas[0];
    hyper.beta2 = group.betas[1];
    hyper.eps = group.eps;
    hyper.weightDecay = group.weightDecay;
    hyper.maximize = group.maximize;
    hyper.decoupled = this.decoupled;
    hyper.step = step;
    (gemmAvailable() ? adamStepWasm : adamHostStep)(host.f32(p.value), host.f32(p.grad!), host.f32(m), host.f32(v), vmax === null ? null : host.f32(vmax), hyper);
    host.written(p.value);
    host.written(m);
    host.written(v);
    if (vmax !== null) host.written(vmax);
  }

  /** Reused by every host step (a training step may make thousands; no garbage per parameter). */
  readonly #hostHyper: AdamHost = { lr: 0, beta1: 0, beta2: 0, eps: 0, weightDecay: 0, decoupled: false, maximize: false, step: 0 };
}

export class Adam extends AdamFamily {
  protected readonly decoupled = false;

  /** torch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay. */
  constructor(params: readonly Parameter[], options: Partial<AdamOptions> = {}) {
    super("Adam", params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false }, options, ADAM_SPEC);
  }
}

function zerosLike(p: Parameter): tf.Variable {
  return tf.tidy(() => tf.variable(tf.zerosLike(p.value), false));
}
