/**
 * The Module base, as torch.nn.Module: parameters and sub-modules are found among a module's own
 * properties, in declaration order, so `namedParameters()` and `stateDict()` keys match what the
 * same class would give in PyTorch ("weight", "bias", "layers.0.weight", …).
 */
import * as tf from "@tensorflow/tfjs";
import { requireSyncRead } from "../sync_read";
import { Parameter } from "./parameter";
import { checkShape, flattenNested, StateDictError, type StateDict } from "./state_dict";

export abstract class Module {
  abstract forward(...inputs: tf.Tensor[]): tf.Tensor;

  /** Training or evaluation mode (torch's `module.training`): Dropout and the like read it. */
  training = true;

  /** Sets training mode on this module and every sub-module (torch's `train(mode)`); returns this. */
  train(mode = true): this {
    this.training = mode;
    for (const child of this.childModules()) child.train(mode);
    return this;
  }

  /** Evaluation mode (torch's `eval()`): the same as train(false). */
  eval(): this {
    return this.train(false);
  }

  /** The modules held directly by this one, in declaration order. */
  childModules(): Module[] {
    const out: Module[] = [];
    for (const value of Object.values(this)) {
      if (value instanceof Module) out.push(value);
      else if (Array.isArray(value)) for (const item of value) if (item instanceof Module) out.push(item);
    }
    return out;
  }

  /** [name, parameter] pairs, depth first, in declaration order. */
  namedParameters(prefix = ""): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [key, value] of Object.entries(this)) {
      collect(value, prefix + key, out);
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /**
   * Parameter values as JSON-ready nested arrays, read synchronously: on cpu, wasm, tfjs-node and
   * webgpu in a browser. stateDictAsync() reads them on every backend.
   */
  stateDict(): StateDict {
    requireSyncRead("stateDict()", "await model.stateDictAsync()");
    const out: StateDict = {};
    for (const [name, p] of this.namedParameters()) out[name] = p.value.arraySync() as StateDict[string];
    return out;
  }

  /** Parameter values as JSON-ready nested arrays, read asynchronously (every backend). */
  async stateDictAsync(): Promise<StateDict> {
    const named = this.namedParameters();
    const values = await Promise.all(named.map(([, p]) => p.value.array()));
    return Object.fromEntries(named.map(([name], i) => [name, values[i] as StateDict[string]]));
  }

  /**
   * Loads values by name. Every entry is checked (missing or unexpected keys, shapes, non-finite
   * numbers) before any parameter changes, so a bad file leaves the model as it was.
   */
  loadStateDict(state: unknown, options: { strict?: boolean } = {}): void {
    const strict = options.strict ?? true;
    if (state === null || typeof state !== "object" || Array.isArray(state)) {
      const got = state === null ? "null" : Array.isArray(state) ? "an array" : typeof state;
      throw new StateDictError(`a state dict must be an object of parameter name → nested number arrays, got ${got}`);
    }
    const entries = state as Record<string, unknown>;
    const params = new Map(this.namedParameters());
    const missing = [...params.keys()].filter((k) => !(k in entries));
    const unexpected = Object.keys(entries).filter((k) => !params.has(k));
    if (strict && (missing.length > 0 || unexpected.length > 0)) {
      const parts = [];
      if (missing.length) parts.push(`missing keys: ${missing.map((k) => `"${k}"`).join(", ")}`);
      if (unexpected.length) parts.push(`unexpected keys: ${unexpected.map((k) => `"${k}"`).join(", ")}`);
      throw new StateDictError(`state dict does not match the model (${parts.join("; ")}); expected keys: ${[...params.keys()].map((k) => `"${k}"`).join(", ")}`);
    }
    const staged: [Parameter, number[], Float32Array][] = [];
    for (const [name, p] of params) {
      if (!(name in entries)) continue;
      const { shape, values } = flattenNested(entries[name], name);
      checkShape(name, shape, p.shape);
      staged.push([p, shape, values]);
    }
    for (const [p, shape, values] of staged) {
      const value = tf.tensor(values, shape);
      p.value.assign(value);
      value.dispose();
    }
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.clearGrad();
  }

  dispose(): void {
    for (const p of this.parameters()) p.dispose();
  }
}

function collect(value: unknown, name: string, out: [string, Parameter][]): void {
  if (value instanceof Parameter) out.push([name, value]);
  else if (value instanceof Module) out.push(...value.namedParameters(`${name}.`));
  else if (Array.isArray(value)) value.forEach((item, i) => {
    if (item instanceof Parameter || item instanceof Module) collect(item, `${name}.${i}`, out);
  });
}
