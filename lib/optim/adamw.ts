/**
 * torch.optim.AdamW (1.13): Adam's moments with decoupled weight decay — the parameter is scaled
 * by (1 − lr·wd) before the step, and the gradient is left alone (Loshchilov & Hutter).
 */
import type { Parameter } from "../nn/parameter";
import { ADAM_SPEC, AdamFamily, type AdamOptions } from "./adam";

export type AdamWOptions = AdamOptions;

export class AdamW extends AdamFamily {
  protected readonly decoupled = true;

  /** torch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 1e-2. */
  constructor(params: readonly Parameter[], options: Partial<AdamWOptions> = {}) {
    super("AdamW", params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false }, options, ADAM_SPEC);
  }
}
