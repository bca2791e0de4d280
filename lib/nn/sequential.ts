/**
 * torch.nn.Sequential: modules applied in order, each to the previous one's output. Children are
 * named "0", "1", … (or by the keys given), so state-dict keys are torch's: "0.weight", "2.bias".
 */
import type * as tf from "@tensorflow/tfjs";
import { describeChildren, requireModule } from "./containers";
import { Module } from "./module";

export class Sequential extends Module {
  readonly #children: [string, Module][];

  /** `new Sequential(a, b, c)`, or named: `new Sequential({ fc1: a, act: b })` / a Map (torch's OrderedDict). */
  constructor(...modules: Module[] | [Record<string, Module> | Map<string, Module>]) {
    super();
    const first = modules[0] as unknown;
    const named = modules.length === 1 && !(first instanceof Module) && first !== null && typeof first === "object" && !Array.isArray(first);
    let entries: [string, unknown][];
    if (!named) entries = modules.map((m, i): [string, unknown] => [String(i), m]);
    else if (first instanceof Map) entries = [...first.entries()].map(([k, m]): [string, unknown] => [String(k), m]);
    else entries = Object.entries(first as Record<string, unknown>);
    this.#children = entries.map(([key, m]) => {
      if (key === "" || key.includes(".")) throw new RangeError(`Sequential: a module name must be non-empty and without ".", got ${JSON.stringify(key)}`);
      return [key, requireModule("Sequential", named ? `module "${key}"` : `argument ${key}`, m)];
    });
  }

  forward(x: tf.Tensor): tf.Tensor {
    let out = x;
    for (const [, m] of this.#children) out = m.forward(out);
    return out;
  }

  get length(): number {
    return this.#children.length;
  }

  /** The i-th module; negative counts from the end, as torch's seq[-1]. */
  at(index: number): Module {
    const i = index < 0 ? this.#children.length + index : index;
    const entry = this.#children[i];
    if (!Number.isInteger(index) || entry === undefined) {
      throw new RangeError(`Sequential: index ${index} is out of range for ${this.#children.length} modules`);
    }
    return entry[1];
  }

  /** Adds a module at the end, named by its position (torch's append); returns this. */
  append(module: Module): this {
    this.#children.push([String(this.#children.length), requireModule("Sequential.append", "module", module)]);
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.#children.map(([, m]) => m)[Symbol.iterator]();
  }

  protected override namedMembers(): [string, unknown][] {
    return [...this.#children];
  }

  override toString(): string {
    return describeChildren("Sequential", this.#children);
  }
}
