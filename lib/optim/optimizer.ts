/**
 * What gradlab's optimizers share, as torch.optim.Optimizer: the parameter list checked once, one
 * param group whose hyper-parameters a scheduler may change between steps, per-parameter state
 * (buffers as tf.Variables updated in place, counters as numbers), and state dicts in torch's layout
 * ({state: {"0": {...}}, param_groups: [{lr, …, params: [0, 1, …]}]}) so that saving and resuming
 * gives the same trajectory. Every argument is checked before anything changes; an error names the
 * optimizer, the argument, what was given and what was expected.
 */
import * as tf from "@tensorflow/tfjs";
import { hostBackend, type HostBackend } from "../host/host_tensors";
import { Parameter } from "../nn/parameter";
import { checkShape, flattenNested, StateDictError, type NestedNumbers } from "../nn/state_dict";
import { requireSyncRead } from "../sync_read";
import { hostSteppable } from "./host_steps";

/** One hyper-parameter: its key in torch's state dict, what it must be, and the check. */
export interface HyperSpec {
  key: string;
  expected: string;
  ok(value: unknown): boolean;
}

export const finiteAtLeast0: Omit<HyperSpec, "key"> = {
  expected: "a finite number ≥ 0",
  ok: (v) => typeof v === "number" && Number.isFinite(v) && v >= 0,
};
export const boolean: Omit<HyperSpec, "key"> = { expected: "true or false", ok: (v) => typeof v === "boolean" };

/** A param group: the parameters and the hyper-parameters they are stepped with. */
export type ParamGroup<H> = H & {
  readonly params: readonly Parameter[];
  /** Set by the first scheduler made for the optimizer (torch's group["initial_lr"]). */
  initialLr?: number;
};

/** Per-parameter state: buffers (tf.Variables, the parameter's shape) and counters. */
export type ParamState = Record<string, tf.Variable | number>;

/** An optimizer's state dict, JSON-ready, in torch's layout plus the optimizer's name. */
export interface OptimizerStateDict {
  optimizer: string;
  state: Record<string, Record<string, NestedNumbers>>;
  param_groups: Record<string, unknown>[];
}

/** torch writes these group keys too; they describe its implementation, not the trajectory. */
const TORCH_ONLY_GROUP_KEYS = new Set(["foreach", "capturable", "differentiable", "fused"]);

export abstract class Optimizer<H extends { lr: number }> {
  /** One group, as torch's optimizer.param_groups for a plain parameter list. */
  readonly paramGroups: [ParamGroup<H>];
  protected readonly state = new Map<Parameter, ParamState>();
  readonly #name: string;
  readonly #spec: { readonly [K in keyof H]: HyperSpec };
  readonly #scalars = new Map<string, { value: number; tensor: tf.Scalar }>();

  protected constructor(name: string, params: readonly Parameter[], defaults: H, options: Partial<H> | undefined, spec: { readonly [K in keyof H]: HyperSpec }) {
    this.#name = name;
    this.#spec = spec;
    if (options !== undefined && (options === null || typeof options !== "object")) {
      throw new TypeError(`${name}: options must be an object, got ${options === null ? "null" : typeof options}`);
    }
    const given = options ?? {};
    const unknown = Object.keys(given).filter((k) => !(k in spec));
    if (unknown.length > 0) {
      throw new TypeError(`${name}: unknown option${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")}; expected ${Object.keys(spec).join(", ")}`);
    }
    const hyper = { ...defaults };
    for (const [k, v] of Object.entries(given)) if (v !== undefined) (hyper as Record<string, unknown>)[k] = v;
    this.checkHyper(hyper, (k) => `${name}: ${k}`);
    this.paramGroups = [{ ...hyper, params: checkParams(name, params) }];
  }

  /** The optimizer's hyper-parameters are valid, or one error naming the first that is not. */
  protected checkHyper(hyper: Record<string, unknown>, label: (key: string) => string): void {
    for (const [k, s] of Object.entries(this.#spec) as [string, HyperSpec][]) {
      const v = hyper[k];
      if (!s.ok(v)) throw new RangeError(`${label(k)} must be ${s.expected}, got ${describeValue(v)}`);
    }
    this.checkCombination(hyper as H, label);
  }

  /** Constraints between hyper-parameters (SGD's Nesterov); none by default. */
  protected checkCombination(_hyper: H, _label: (key: string) => string): void {}

  /** The state keys a parameter has after a step with these hyper-parameters: buffers and counters. */
  protected abstract stateKeys(group: H): { buffers: readonly string[]; counters: readonly string[] };

  /** Updates every parameter that has a gradient. */
  abstract step(): void;

  /**
   * On a host backend (cpu, wasm), when every gradient is one the host loops take, steps each
   * parameter that has a gradient with `hostStep` and returns true; otherwise returns false and
   * changes nothing, and the optimizer runs its tfjs-kernel path.
   */
  protected stepOnHost(hostStep: (host: HostBackend, p: Parameter) => void): boolean {
    const host = hostBackend();
    const params = this.paramGroups[0].params;
    if (host === null || !params.every((p) => p.grad === null || hostSteppable(p))) return false;
    for (const p of params) if (p.grad !== null) hostStep(host, p);
    return true;
  }

  /** Clears the gradients of this optimizer's parameters. */
  zeroGrad(): void {
    for (const p of this.paramGroups[0].params) p.clearGrad();
  }

  /**
   * The scalar tensor for one role in the step ("lr", "beta1", "stepSize"), remade only when its
   * value changes (a scheduler's new lr, a bias correction's next step): one tensor per role, so
   * the tensor count stays flat however long the schedule. Freed by dispose().
   */
  protected scalar(role: string, value: number): tf.Scalar {
    const cached = this.#scalars.get(role);
    if (cached !== undefined && cached.value === value) return cached.tensor;
    cached?.tensor.dispose();
    const tensor = tf.keep(tf.scalar(value));
    this.#scalars.set(role, { value, tensor });
    return tensor;
  }

  /** State and hyper-parameters as JSON-ready values, read synchronously (cpu, wasm, tfjs-node). */
  stateDict(): OptimizerStateDict {
    requireSyncRead(`${this.#name}.stateDict()`, `await ${this.#name.toLowerCase()}.stateDictAsync()`);
    return this.#stateDictWith((v) => v.arraySync() as NestedNumbers);
  }

  /** State and hyper-parameters as JSON-ready values, read asynchronously (every backend). */
  async stateDictAsync(): Promise<OptimizerStateDict> {
    const buffers = new Map<tf.Variable, NestedNumbers>();
    const all = [...this.state.values()].flatMap((s) => Object.values(s).filter((v): v is tf.Variable => typeof v !== "number"));
    await Promise.all(all.map(async (v) => buffers.set(v, (await v.array()) as NestedNumbers)));
    return this.#stateDictWith((v) => buffers.get(v)!);
  }

  #stateDictWith(read: (v: tf.Variable) => NestedNumbers): OptimizerStateDict {
    const group = this.paramGroups[0];
    const state: OptimizerStateDict["state"] = {};
    group.params.forEach((p, i) => {
      const s = this.state.get(p);
      if (s === undefined) return;
      state[String(i)] = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === "number" ? v : read(v)]));
    });
    const hyper: Record<string, unknown> = {};
    for (const [k, s] of Object.entries(this.#spec) as [string, HyperSpec][]) {
      const v = (group as Record<string, unknown>)[k];
      hyper[s.key] = Array.isArray(v) ? [...v] : v;
    }
    if (group.initialLr !== undefined) hyper.initial_lr = group.initialLr;
    return { optimizer: this.#name, state, param_groups: [{ ...hyper, params: group.params.map((_, i) => i) }] };
  }

  /**
   * Restores hyper-parameters and state from stateDict()'s output (or torch's, as JSON). All of it
   * is checked — the optimizer it came from, the keys, the parameter count, every shape — before
   * anything changes.
   */
  loadStateDict(stateDict: unknown): void {
    const where = `${this.#name}.loadStateDict`;
    const fail = (message: string): never => {
      throw new StateDictError(`${where}: ${message}`);
    };
    if (!isPlainObject(stateDict)) fail(`expected an optimizer state dict ({state, param_groups}), got ${describeValue(stateDict)}`);
    const sd = stateDict as Record<string, unknown>;
    if (sd.optimizer !== undefined && sd.optimizer !== this.#name) fail(`this is the state of ${describeValue(sd.optimizer)}; expected that of ${this.#name}`);
    if (!isPlainObject(sd.state) || !Array.isArray(sd.param_groups)) fail(`expected "state" (an object) and "param_groups" (an array), got keys ${Object.keys(sd).join(", ") || "none"}`);
    const groups = sd.param_groups as unknown[];
    if (groups.length !== 1) fail(`param_groups has ${groups.length} groups; expected 1 (gradlab's optimizers hold one)`);
    if (!isPlainObject(groups[0])) fail(`param_groups[0] is ${describeValue(groups[0])}; expected an object`);
    const saved = groups[0] as Record<string, unknown>;
    const group = this.paramGroups[0];

    const specs = Object.entries(this.#spec) as [string, HyperSpec][];
    const expectedKeys = [...specs.map(([, s]) => s.key), "params"];
    const extra = Object.keys(saved).filter((k) => !expectedKeys.includes(k) && k !== "initial_lr" && !TORCH_ONLY_GROUP_KEYS.has(k));
    const missing = expectedKeys.filter((k) => !(k in saved));
    if (extra.length > 0 || missing.length > 0) {
      fail(`param_groups[0] has keys ${Object.keys(saved).join(", ")}, which are not ${this.#name}'s (${missing.length ? `missing ${missing.join(", ")}` : `unexpected ${extra.join(", ")}`}): a state dict of another optimizer?`);
    }
    const indices = saved.params;
    const n = group.params.length;
    if (!Array.isArray(indices) || indices.length !== n || indices.some((v, i) => v !== i)) {
      fail(`param_groups[0].params is ${JSON.stringify(indices)}; expected the ${n} indices 0…${n - 1} of this optimizer's parameters`);
    }
    const hyper: Record<string, unknown> = {};
    for (const [k, s] of specs) hyper[k] = saved[s.key];
    this.checkHyper(hyper, (k) => `${where}: param_groups[0].${this.#spec[k as keyof H].key}`);
    const initialLr = saved.initial_lr;
    if (initialLr !== undefined && !finiteAtLeast0.ok(initialLr)) fail(`param_groups[0].initial_lr must be ${finiteAtLeast0.expected}, got ${describeValue(initialLr)}`);

    const { buffers, counters } = this.stateKeys(hyper as H);
    const staged = new Map<Parameter, Record<string, { shape: number[]; values: Float32Array } | number>>();
    for (const [index, entry] of Object.entries(sd.state as Record<string, unknown>)) {
      const i = Number(index);
      if (!Number.isInteger(i) || i < 0 || i >= n || String(i) !== index) fail(`state has an entry for parameter ${JSON.stringify(index)}; expected indices 0…${n - 1}`);
      if (!isPlainObject(entry)) fail(`state["${index}"] is ${describeValue(entry)}; expected an object`);
      const e = entry as Record<string, unknown>;
      const present = Object.keys(e).filter((k) => e[k] !== null);
      const want = [...counters, ...buffers];
      if (present.length !== want.length || want.some((k) => !present.includes(k))) {
        fail(`state["${index}"] has ${present.join(", ") || "nothing"}; expected ${want.join(", ")} (for these hyper-parameters): a state dict of another optimizer or configuration?`);
      }
      const p = group.params[i]!;
      const out: Record<string, { shape: number[]; values: Float32Array } | number> = {};
      for (const k of counters) {
        const c = e[k];
        if (typeof c !== "number" || !Number.isInteger(c) || c < 0) fail(`state["${index}"].${k} must be an integer ≥ 0, got ${describeValue(c)}`);
        out[k] = c as number;
      }
      for (const k of buffers) {
        const label = `optimizer state ["${index}"].${k}`;
        const flat = flattenNested(e[k], label);
        checkShape(label, flat.shape, p.shape);
        out[k] = flat;
      }
      staged.set(p, out);
    }

    // Everything checked: apply.
    for (const [k] of specs) (group as Record<string, unknown>)[k] = Array.isArray(hyper[k]) ? [...(hyper[k] as unknown[])] : hyper[k];
    if (initialLr !== undefined) group.initialLr = initialLr as number;
    this.#disposeState();
    for (const [p, entry] of staged) {
      const s: ParamState = {};
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v === "number") s[k] = v;
        else {
          const t = tf.tensor(v.values, v.shape);
          s[k] = tf.variable(t, false);
          t.dispose();
        }
      }
      this.state.set(p, s);
    }
  }

  #disposeState(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (typeof v !== "number") v.dispose();
    this.state.clear();
  }

  /** Frees the optimizer's state and cached scalars (not the parameters). */
  dispose(): void {
    this.#disposeState();
    for (const s of this.#scalars.values()) s.tensor.dispose();
    this.#scalars.clear();
  }
}

/** The parameter list, checked: an array of distinct Parameters, at least one. */
function checkParams(name: string, params: unknown): Parameter[] {
  if (params instanceof Parameter) {
    throw new TypeError(`${name}: params must be an array of Parameters (e.g. model.parameters()), got a single Parameter; wrap it in [ ]`);
  }
  if (params === null || typeof params !== "object" || typeof (params as Partial<Iterable<unknown>>)[Symbol.iterator] !== "function") {
    throw new TypeError(`${name}: params must be an array of Parameters (e.g. model.parameters()), got ${describeValue(params)}`);
  }
  const list = [...(params as Iterable<unknown>)];
  if (list.length === 0) throw new RangeError(`${name}: params is an empty parameter list; expected at least one Parameter (e.g. model.parameters())`);
  const seen = new Map<Parameter, number>();
  list.forEach((p, i) => {
    if (!(p instanceof Parameter)) throw new TypeError(`${name}: params[${i}] is ${describeValue(p)}; expected a Parameter`);
    const first = seen.get(p);
    if (first !== undefined) throw new RangeError(`${name}: params[${i}] is the same Parameter as params[${first}]; expected each parameter once`);
    seen.set(p, i);
  });
  return list as Parameter[];
}

function isPlainObject(v: unknown): boolean {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return v.length <= 4 && v.every((x) => typeof x === "number" || typeof x === "boolean") ? `[${v.join(", ")}]` : `an array of length ${v.length}`;
  if (typeof v === "object") {
    const name = v.constructor?.name ?? "object";
    return `${/^[aeiou]/i.test(name) ? "an" : "a"} ${name}`;
  }
  return typeof v;
}
