/**
 * Non-finite values (NaN, ±Infinity) in a model's parameters: found, named and refused before
 * they are saved or exported, where PyTorch would write them silently. Training stops at the
 * first one with a NonFiniteError (see runSeedExperiment's stopOnNonFinite); export and predict
 * check the parameters with findNonFiniteParameter.
 */
import type { Module } from "./module";

export class NonFiniteError extends Error {
  override name = "NonFiniteError";
}

export interface NonFiniteEntry {
  /** The parameter's name, as in the state dict ("weight", "bias", "layers.0.weight", …). */
  name: string;
  /** The entry's index in the parameter, e.g. [0, 1] for weight[0][1]. */
  index: number[];
  value: number;
}

/** The first non-finite entry of the model's parameters, in state-dict order, or null when all are finite. */
export async function findNonFiniteParameter(model: Module): Promise<NonFiniteEntry | null> {
  for (const [name, p] of model.namedParameters()) {
    const values = await p.value.data();
    const flat = (values as Float32Array).findIndex((v) => !Number.isFinite(v));
    if (flat !== -1) return { name, index: unravel(flat, p.shape), value: values[flat] as number };
  }
  return null;
}

/** "weight[0][1] = NaN" */
export function formatEntry(entry: NonFiniteEntry): string {
  return `${entry.name}${entry.index.map((i) => `[${i}]`).join("")} = ${entry.value}`;
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length);
  let rest = flat;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    index[axis] = rest % shape[axis]!;
    rest = Math.floor(rest / shape[axis]!);
  }
  return index;
}
