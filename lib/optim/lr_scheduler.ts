/**
 * torch.optim.lr_scheduler (1.13): StepLR and CosineAnnealingLR, with torch's recursive ("chainable")
 * formulas evaluated in the same float64 order, so the learning rates are torch's to the last bit
 * or two (Math.cos and libm's cos may differ by an ulp). Construction performs torch's initial
 * step (epoch 0); call step() once per epoch, after optimizer.step(). State dicts hold what torch's
 * do, so a resumed run continues the same schedule.
 */
import { StateDictError } from "../nn/state_dict";
import { describeValue, finiteAtLeast0, Optimizer } from "./optimizer";

/** A scheduler's state dict: torch's keys, plus the scheduler's name. */
export type SchedulerStateDict = { scheduler: string; last_epoch: number; base_lrs: number[]; _step_count: number; _last_lr: number[] } & Record<string, unknown>;

/** torch writes these too; they do not change the schedule. */
const TORCH_ONLY_KEYS = new Set(["verbose", "_get_lr_called_within_step"]);

export abstract class LRScheduler {
  lastEpoch = -1;
  baseLrs: number[];
  protected stepCount = 0;
  #lastLr: number[] = [];

  protected constructor(
    readonly optimizer: Optimizer<{ lr: number }>,
    readonly name: string,
    /** The scheduler's own hyper-parameters: torch's key, value (already checked). */
    protected readonly own: Record<string, number>,
  ) {
    if (!(optimizer instanceof Optimizer)) throw new TypeError(`${name}: optimizer must be a gradlab Optimizer (SGD, Adam, AdamW), got ${describeValue(optimizer)}`);
    for (const group of optimizer.paramGroups) group.initialLr ??= group.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
    this.step();
  }

  /** The learning rates for the epoch just begun, from the groups' current ones (torch's get_lr). */
  protected abstract getLr(): number[];

  /** Advances one epoch and sets each group's lr. */
  step(): void {
    this.stepCount += 1;
    this.lastEpoch += 1;
    const values = this.getLr();
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = values[i]!));
    this.#lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The learning rates the last step() set (torch's get_last_lr()). */
  getLastLr(): number[] {
    return [...this.#lastLr];
  }

  stateDict(): SchedulerStateDict {
    return { scheduler: this.name, ...this.own, base_lrs: [...this.baseLrs], last_epoch: this.lastEpoch, _step_count: this.stepCount, _last_lr: [...this.#lastLr] };
  }

  /** Restores the schedule's position; every entry is checked before anything changes. */
  loadStateDict(state: unknown): void {
    const fail = (message: string): never => {
      throw new StateDictError(`${this.name}.loadStateDict: ${message}`);
    };
    if (state === null || typeof state !== "object" || Array.isArray(state)) fail(`expected a scheduler state dict, got ${describeValue(state)}`);
    const s = state as Record<string, unknown>;
    if (s.scheduler !== undefined && s.scheduler !== this.name) fail(`this is the state of ${describeValue(s.scheduler)}; expected that of ${this.name}`);
    const keys = [...Object.keys(this.own), "base_lrs", "last_epoch", "_step_count", "_last_lr"];
    const missing = keys.filter((k) => !(k in s));
    const extra = Object.keys(s).filter((k) => !keys.includes(k) && k !== "scheduler" && !TORCH_ONLY_KEYS.has(k));
    if (missing.length || extra.length) fail(`it has keys ${Object.keys(s).join(", ")}; expected ${keys.join(", ")}${missing.length ? ` (missing ${missing.join(", ")})` : ` (unexpected ${extra.join(", ")})`}: a state dict of another scheduler?`);
    const groups = this.optimizer.paramGroups.length;
    for (const k of ["base_lrs", "_last_lr"]) {
      const v = s[k];
      if (!Array.isArray(v) || v.length !== groups || !v.every((x) => finiteAtLeast0.ok(x))) fail(`${k} must be ${groups} finite number(s) ≥ 0 (one per param group), got ${describeValue(v)}`);
    }
    for (const k of ["last_epoch", "_step_count"]) {
      const v = s[k];
      if (typeof v !== "number" || !Number.isInteger(v) || v < (k === "last_epoch" ? -1 : 0)) fail(`${k} must be an integer ≥ ${k === "last_epoch" ? -1 : 0}, got ${describeValue(v)}`);
    }
    for (const k of Object.keys(this.own)) this.checkOwn(k, s[k], (m) => fail(m));
    for (const k of Object.keys(this.own)) this.own[k] = s[k] as number;
    this.baseLrs = [...(s.base_lrs as number[])];
    this.lastEpoch = s.last_epoch as number;
    this.stepCount = s._step_count as number;
    this.#lastLr = [...(s._last_lr as number[])];
  }

  /** Checks one of the scheduler's own hyper-parameters (torch's key). */
  protected abstract checkOwn(key: string, value: unknown, fail: (message: string) => never): void;
}

function positiveInteger(owner: string, arg: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new RangeError(`${owner}: ${arg} must be an integer ≥ 1, got ${describeValue(v)}`);
  return v;
}

function nonNegative(owner: string, arg: string, v: unknown): number {
  if (!finiteAtLeast0.ok(v)) throw new RangeError(`${owner}: ${arg} must be ${finiteAtLeast0.expected}, got ${describeValue(v)}`);
  return v as number;
}

function checkOptions(owner: string, options: object, allowed: string[]): void {
  if (options === null || typeof options !== "object") throw new TypeError(`${owner}: options must be an object, got ${describeValue(options)}`);
  const unknown = Object.keys(options).filter((k) => !allowed.includes(k));
  if (unknown.length) throw new TypeError(`${owner}: unknown option ${unknown.map((k) => JSON.stringify(k)).join(", ")}; expected ${allowed.join(", ")}`);
}

/** torch.optim.lr_scheduler.StepLR: lr multiplied by gamma every stepSize epochs. */
export class StepLR extends LRScheduler {
  constructor(optimizer: Optimizer<{ lr: number }>, stepSize: number, options: { gamma?: number } = {}) {
    checkOptions("StepLR", options, ["gamma"]);
    const own = { step_size: positiveInteger("StepLR", "stepSize", stepSize), gamma: nonNegative("StepLR", "gamma", options.gamma ?? 0.1) };
    super(optimizer, "StepLR", own);
  }

  protected getLr(): number[] {
    const { step_size, gamma } = this.own as { step_size: number; gamma: number };
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0 || this.lastEpoch % step_size !== 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * gamma);
  }

  protected checkOwn(key: string, value: unknown, fail: (message: string) => never): void {
    try {
      if (key === "step_size") positiveInteger("StepLR", "step_size", value);
      else nonNegative("StepLR", key, value);
    } catch (e) {
      fail((e as Error).message.replace(/^StepLR: /, ""));
    }
  }
}

/**
 * torch.optim.lr_scheduler.CosineAnnealingLR: lr follows half a cosine from the initial lr down to
 * etaMin over tMax epochs, then back up (SGDR without restarts), by torch's recursive formula.
 */
export class CosineAnnealingLR extends LRScheduler {
  constructor(optimizer: Optimizer<{ lr: number }>, tMax: number, options: { etaMin?: number } = {}) {
    checkOptions("CosineAnnealingLR", options, ["etaMin"]);
    const own = { T_max: positiveInteger("CosineAnnealingLR", "tMax", tMax), eta_min: nonNegative("CosineAnnealingLR", "etaMin", options.etaMin ?? 0) };
    super(optimizer, "CosineAnnealingLR", own);
  }

  protected getLr(): number[] {
    const { T_max: tMax, eta_min: etaMin } = this.own as { T_max: number; eta_min: number };
    const groups = this.optimizer.paramGroups;
    const epoch = this.lastEpoch;
    if (epoch === 0) return groups.map((g) => g.lr);
    if (this.stepCount === 1 && epoch > 0) {
      return this.baseLrs.map((base) => etaMin + ((base - etaMin) * (1 + Math.cos((epoch * Math.PI) / tMax))) / 2);
    }
    if (pythonMod(epoch - 1 - tMax, 2 * tMax) === 0) {
      return groups.map((g, i) => g.lr + ((this.baseLrs[i]! - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2);
    }
    return groups.map((g) => ((1 + Math.cos((Math.PI * epoch) / tMax)) / (1 + Math.cos((Math.PI * (epoch - 1)) / tMax))) * (g.lr - etaMin) + etaMin);
  }

  protected checkOwn(key: string, value: unknown, fail: (message: string) => never): void {
    try {
      if (key === "T_max") positiveInteger("CosineAnnealingLR", "T_max", value);
      else nonNegative("CosineAnnealingLR", key, value);
    } catch (e) {
      fail((e as Error).message.replace(/^CosineAnnealingLR: /, ""));
    }
  }
}

/** Python's %: the result has the divisor's sign (torch's formula relies on it for negative epochs − 1 − T_max). */
function pythonMod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
