/**
 * torch.nn.ModuleDict: modules by name, in insertion order, named by their keys in state dicts
 * ("encoder.weight"); no forward of its own.
 */
import type * as tf from "@tensorflow/tfjs";
import { describeChildren, requireModule } from "./containers";
import { Module } from "./module";

export class ModuleDict extends Module {
  readonly #items = new Map<string, Module>();

  constructor(modules: Record<string, Module> | Map<string, Module> | Iterable<[string, Module]> = {}) {
    super();
    this.update(modules);
  }

  /** ModuleDict is not callable, as in torch: pick the modules in the parent's forward. */
  forward(..._inputs: tf.Tensor[]): tf.Tensor {
    throw new TypeError("ModuleDict has no forward: call the module you want (dict.get(\"name\").forward(x)) in the parent module's forward");
  }

  get size(): number {
    return this.#items.size;
  }

  get(key: string): Module {
    const m = this.#items.get(key);
    if (m === undefined) throw new RangeError(`ModuleDict: no module named ${JSON.stringify(key)}; it has ${[...this.#items.keys()].map((k) => JSON.stringify(k)).join(", ") || "none"}`);
    return m;
  }

  has(key: string): boolean {
    return this.#items.has(key);
  }

  /** Adds or replaces (keeping its place, as torch's OrderedDict); returns this. */
  set(key: string, module: Module): this {
    if (typeof key !== "string" || key === "" || key.includes(".")) {
      throw new RangeError(`ModuleDict: a key must be a non-empty string without ".", got ${JSON.stringify(key)}`);
    }
    this.#items.set(key, requireModule("ModuleDict", `module "${key}"`, module));
    return this;
  }

  delete(key: string): boolean {
    return this.#items.delete(key);
  }

  update(modules: Record<string, Module> | Map<string, Module> | Iterable<[string, Module]>): this {
    if (modules === null || typeof modules !== "object") throw new TypeError(`ModuleDict: modules must be an object, Map or iterable of [key, Module] pairs, got ${modules === null ? "null" : typeof modules}`);
    const entries = Symbol.iterator in modules ? [...(modules as Iterable<[string, Module]>)] : Object.entries(modules);
    // Checked before any is added, so a bad entry leaves the dict as it was.
    entries.forEach(([key, m]) => {
      if (typeof key !== "string" || key === "" || key.includes(".")) throw new RangeError(`ModuleDict: a key must be a non-empty string without ".", got ${JSON.stringify(key)}`);
      requireModule("ModuleDict", `module "${key}"`, m);
    });
    for (const [key, m] of entries) this.#items.set(key, m);
    return this;
  }

  keys(): string[] {
    return [...this.#items.keys()];
  }

  values(): Module[] {
    return [...this.#items.values()];
  }

  entries(): [string, Module][] {
    return [...this.#items.entries()];
  }

  [Symbol.iterator](): Iterator<[string, Module]> {
    return this.#items.entries();
  }

  protected override namedMembers(): [string, unknown][] {
    return this.entries();
  }

  override toString(): string {
    return describeChildren("ModuleDict", this.entries());
  }
}
