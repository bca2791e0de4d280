/**
 * torch.optim.SGD, step for step: weight decay added to the gradient, a momentum buffer that starts
 * as a copy of the first gradient (no dampening on that step), optional dampening, Nesterov and
 * maximize. Buffers are tf.Variables updated in place, so a step allocates nothing that outlives it;
 * the state dict holds them as torch's "momentum_buffer".
 */
import * as tf from "@tensorflow/tfjs";
import type { Parameter } from "../nn/parameter";
import { ownStorage, tensorFromInfo, type HostBackend } from "../host/host_tensors";
import { shapesEqual } from "../shape";
import { gemmAvailable } from "../host/gemm/sgemm";
import { sgdHostStep } from "./host_steps";
import { sgdStepWasm } from "./optim_wasm";
import { add, mul, sub } from "./kernels";
import { boolean, finiteAtLeast0, Optimizer, type HyperSpec } from "./optimizer";

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
}

const SGD_SPEC: { readonly [K in keyof SGDOptions]-?: HyperSpec } = {
  lr: { key: "lr", ...finiteAtLeast0 },
  momentum: { key: "momentum", ...finiteAtLeast0 },
  dampening: { key: "dampening", ...finiteAtLeast0 },
  weightDecay: { key: "weight_decay", ...finiteAtLeast0 },
  nesterov: { key: "nesterov", ...boolean },
  maximize: { key: "maximize", ...boolean },
};

export class SGD extends Optimizer<Required<SGDOptions>> {
  /** lr has no default, as in torch. */
  constructor(params: readonly Parameter[], options: SGDOptions) {
    super("SGD", params, { lr: undefined as unknown as number, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false }, options, SGD_SPEC);
  }

  protected override checkCombination(h: Required<SGDOptions>, label: (key: string) => string): void {
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      throw new RangeError(`${label("nesterov")}: Nesterov momentum requires a momentum > 0 and zero dampening, got momentum ${h.momentum} and dampening ${h.dampening}`);
    }
  }

  protected stateKeys(h: Required<SGDOptions>) {
    return { buffers: h.momentum !== 0 ? ["momentum_buffer"] : [], counters: [] };
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
    const group = this.paramGroups[0];
    if (this.stepOnHost((host, p) => this.#hostStep(host, p))) return;
    const { momentum, nesterov, maximize, weightDecay, dampening } = group;
    const s = { lr: this.scalar("lr", group.lr), momentum: this.scalar("momentum", momentum), dampen: this.scalar("dampen", 1 - dampening), weightDecay: this.scalar("weightDecay", weightDecay) };
    const engine = tf.engine();
    tf.tidy(() => {
      for (const p of group.params) {
        if (p.grad === null) continue;
        const value = p.value;
        const g = maximize ? (engine.runKernel(tf.Neg, { x: p.grad }) as tf.Tensor) : p.grad;
        let d: tf.Tensor;
        if (momentum === 0) {
          d = weightDecay !== 0 ? add(g, mul(value, s.weightDecay)) : g;
        } else {
          const buffer = this.state.get(p)?.momentum_buffer as tf.Variable | undefined;
          if (buffer === undefined) {
            d = weightDecay !== 0 ? add(g, mul(value, s.weightDecay)) : g;
            this.state.set(p, { momentum_buffer: tf.variable(d, false) });
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
        value.assign(sub(value, mul(d, s.lr)));
      }
    });
  }

  /** One parameter's step as one loop over its storage, bit-identical to the kernel path above. */
  #hostStep(host: HostBackend, p: Parameter): void {
    const group = this.paramGroups[0];
    let buffer = this.state.get(p)?.momentum_buffer as tf.Variable | undefined;
    const first = group.momentum !== 0 && buffer === undefined;
    if (first) {
      const storage = tensorFromInfo(host.alloc(p.shape));
      buffer = tf.variable(storage, false);
      storage.dispose();
      this.state.set(p, { momentum_buffer: buffer });
    }
    ownStorage(host, p.value);
    if (buffer !== undefined) ownStorage(host, buffer);
    // Every allocation is done: the views stay valid through the loop (wasm's heap may move on allocation).
    (gemmAvailable() ? sgdStepWasm : sgdHostStep)(host.f32(p.value), host.f32(p.grad!), buffer === undefined ? null : host.f32(buffer), group, first);
    host.written(p.value);
    if (buffer !== undefined) host.written(buffer);
  }
}
