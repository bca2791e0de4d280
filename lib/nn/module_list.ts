/**
 * torch.nn.ModuleList: modules held in a list, named "0", "1", … in state dicts ("0.weight"), with
 * no forward of its own: the parent's forward decides how they are applied.
 */
import type * as tf from "@tensorflow/tfjs";
import { describeChildren, requireModule } from "./containers";
import { Module } from "./module";

export class ModuleList extends Module {
  readonly #items: Module[] = [];

  constructor(modules: Iterable<Module> = []) {
    super();
    this.extend(modules);
  }

  /** ModuleList is not callable, as in torch: iterate over it in the parent's forward. */
  forward(..._inputs: tf.Tensor[]): tf.Tensor {
    throw new TypeError("ModuleList has no forward: iterate over it (for (const layer of list) x = layer.forward(x)) in the parent module's forward");
  }

  get length(): number {
    return this.#items.length;
  }

  /** The i-th module; negative counts from the end. */
  at(index: number): Module {
    const i = index < 0 ? this.#items.length + index : index;
    const item = this.#items[i];
    if (!Number.isInteger(index) || item === undefined) throw new RangeError(`ModuleList: index ${index} is out of range for ${this.#items.length} modules`);
    return item;
  }

  append(module: Module): this {
    this.#items.push(requireModule("ModuleList.append", "module", module));
    return this;
  }

  extend(modules: Iterable<Module>): this {
    if (modules === null || typeof (modules as Partial<Iterable<Module>>)[Symbol.iterator] !== "function") {
      throw new TypeError(`ModuleList: modules must be an iterable of Modules, got ${modules === null ? "null" : typeof modules}`);
    }
    const added = [...modules].map((m, i) => requireModule("ModuleList", `modules[${i}]`, m));
    this.#items.push(...added);
    return this;
  }

  /** Inserts before `index` (torch's insert); later modules' names shift, as in torch. */
  insert(index: number, module: Module): this {
    if (!Number.isInteger(index) || index < -this.#items.length || index > this.#items.length) {
      throw new RangeError(`ModuleList.insert: index ${index} is out of range for ${this.#items.length} modules`);
    }
    this.#items.splice(index < 0 ? this.#items.length + index : index, 0, requireModule("ModuleList.insert", "module", module));
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.#items[Symbol.iterator]();
  }

  protected override namedMembers(): [string, unknown][] {
    return this.#items.map((m, i) => [String(i), m]);
  }

  override toString(): string {
    return describeChildren("ModuleList", this.#items.map((m, i) => [String(i), m]));
  }
}
