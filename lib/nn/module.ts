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

  /**
   * The modules held directly by this one, in declaration order: properties, and the items of
   * arrays, Maps and plain objects among them (the same places namedParameters() looks).
   */
  childModules(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** [name, module] for each module held directly by this one ("layers.0", "heads.a", …). */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    const visit = (value: unknown, name: string, path: object[]): void => {
      if (value instanceof Module) out.push([name, value]);
      else for (const [key, item] of containerEntries(value, name, this, path)) visit(item, `${name}.${key}`, [...path, value as object]);
    };
    for (const [key, value] of this.namedMembers()) visit(value, key, [this]);
    return out;
  }

  /**
   * The members parameters and sub-modules are looked for in, as [name, value]: by default the
   * module's own enumerable properties, in declaration order. Containers (Sequential, ModuleList,
   * ModuleDict) override it to name their items "0", "1", … or by key, as torch does.
   */
  protected namedMembers(): [string, unknown][] {
    return Object.entries(this);
  }

  /**
   * [name, parameter] pairs, depth first, in declaration order. A parameter reached twice (tied
   * weights) is listed once, under its first name, as torch's named_parameters(); pass
   * `removeDuplicate: false` for every name (what stateDict() writes). A Parameter held where no
   * name can be given to it (a Set, a class that is not a Module) and a bare trainable tf.Variable
   * throw an error naming it, rather than being silently left out of training.
   */
  namedParameters(prefix = "", options: { removeDuplicate?: boolean } = {}): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    walkParameters(this, this, prefix, [], out, new Set(), options.removeDuplicate ?? true);
    return out;
  }

  /** @internal namedMembers() as seen from the walk over another module (it is protected). */
  static membersOf(m: Module): [string, unknown][] {
    return m.namedMembers();
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
    for (const [name, p] of this.namedParameters("", { removeDuplicate: false })) out[name] = p.value.arraySync() as StateDict[string];
    return out;
  }

  /** Parameter values as JSON-ready nested arrays, read asynchronously (every backend). */
  async stateDictAsync(): Promise<StateDict> {
    const named = this.namedParameters("", { removeDuplicate: false });
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
    const params = new Map(this.namedParameters("", { removeDuplicate: false }));
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

  /** torch's repr for a module without arguments, "ReLU()"; layers with arguments override it. */
  toString(): string {
    return `${this.constructor.name}()`;
  }
}

/**
 * Depth first over `module`'s members: Parameters are named, sub-modules walked (or asked, when they
 * list their own parameters, as OnnxModel does), containers opened. `path` holds what encloses the
 * current value, to tell a cycle (a child that refers to its parent) from a shared module.
 */
function walkParameters(
  owner: Module,
  module: Module,
  prefix: string,
  path: object[],
  out: [string, Parameter][],
  seen: Set<Parameter>,
  removeDuplicate: boolean,
): void {
  const add = (name: string, p: Parameter) => {
    if (removeDuplicate && seen.has(p)) return;
    seen.add(p);
    out.push([name, p]);
  };
  const visit = (value: unknown, name: string, inside: object[]): void => {
    if (value instanceof Parameter) add(name, value);
    else if (value instanceof Module) {
      if (inside.includes(value)) {
        throw new ModuleStructureError(`${describeModule(owner)}: "${name}" refers back to a module that contains it (a cycle); keep such a reference out of the module's enumerable properties (a #private field)`);
      }
      if (value.namedParameters !== Module.prototype.namedParameters) {
        for (const [n, p] of value.namedParameters(`${name}.`, { removeDuplicate })) add(n, p);
      } else {
        walkParameters(owner, value, `${name}.`, inside, out, seen, removeDuplicate);
      }
    } else {
      for (const [key, item] of containerEntries(value, name, owner, inside)) visit(item, `${name}.${key}`, [...inside, value as object]);
    }
  };
  for (const [key, value] of Module.membersOf(module)) visit(value, prefix + key, [...path, module]);
}

/** A module whose structure cannot be walked: a cycle, or a Parameter held where it cannot be named. */
export class ModuleStructureError extends Error {
  override name = "ModuleStructureError";
}

/**
 * The named items of a container a module may hold parameters in: arrays ("0", "1", …), Maps with
 * string or number keys, and plain objects. Anything else holds none, except that a Parameter
 * found where it cannot be named, or a bare trainable tf.Variable, is an error naming it.
 */
function containerEntries(value: unknown, name: string, owner: Module, path: object[]): [string, unknown][] {
  if (value === null || typeof value !== "object") return [];
  if (value instanceof tf.Tensor) {
    if (value instanceof tf.Variable && value.trainable) {
      throw new ModuleStructureError(`${describeModule(owner)}: "${name}" is a trainable tf.Variable, which namedParameters() cannot see; wrap its value in a Parameter (new Parameter(tensor)) so optimizers and state dicts find it`);
    }
    return [];
  }
  if (path.includes(value)) return []; // a container that holds itself: walked once already
  if (Array.isArray(value)) return value.map((item, i) => [String(i), item]);
  if (value instanceof Map) {
    const out: [string, unknown][] = [];
    for (const [key, item] of value) {
      if (typeof key === "string" || typeof key === "number") out.push([String(key), item]);
      else if (item instanceof Parameter || item instanceof Module) {
        throw new ModuleStructureError(`${describeModule(owner)}: Map "${name}" holds a ${item.constructor.name} under a key of type ${typeof key}, which cannot name it; use string keys`);
      }
    }
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return Object.entries(value);
  // Not a container gradlab names things in: a Parameter found inside would be silently missed.
  const items = value instanceof Set ? [...value] : Object.values(value);
  const held = items.findIndex((item) => item instanceof Parameter || item instanceof Module);
  if (held >= 0) {
    const kind = value instanceof Set ? "a Set" : `a ${proto?.constructor?.name ?? "object"}, which is not a Module`;
    throw new ModuleStructureError(`${describeModule(owner)}: "${name}" holds a ${items[held] instanceof Parameter ? "Parameter" : "Module"} inside ${kind}, so it has no name and would be missed by parameters() and stateDict(); hold it in a Module, an array, a Map or a plain object`);
  }
  return [];
}

function describeModule(m: Module): string {
  return m.constructor.name;
}
