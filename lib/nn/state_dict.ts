/**
 * State dicts as JSON: `{"weight": [[…]], "bias": […]}`, parameter name → nested number arrays,
 * as the train task reads (--init) and writes (--out).
 */
import { formatShape, sizeOf, type Shape } from "../shape";

export type NestedNumbers = number | NestedNumbers[];
export type StateDict = Record<string, NestedNumbers>;

/** Thrown when a state dict does not fit the model; names the key and both shapes. */
export class StateDictError extends Error {
  override name = "StateDictError";
}

/** Shape and row-major values of a nested array, or an error naming where it went wrong. */
export function flattenNested(value: unknown, key: string): { shape: number[]; values: Float32Array } {
  const shape: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const values = new Float32Array(sizeOf(shape));
  let offset = 0;
  const walk = (node: unknown, depth: number, path: string) => {
    if (depth === shape.length) {
      if (typeof node !== "number" || !Number.isFinite(node)) {
        const got = typeof node === "number" ? String(node) : JSON.stringify(node);
        throw new StateDictError(`state dict entry "${key}"${path}: expected a finite number, got ${got}`);
      }
      values[offset++] = node;
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw new StateDictError(
        `state dict entry "${key}"${path}: ragged array (expected ${shape[depth]} elements at depth ${depth}, got ${Array.isArray(node) ? node.length : JSON.stringify(node)})`,
      );
    }
    node.forEach((child, i) => walk(child, depth + 1, `${path}[${i}]`));
  };
  walk(value, 0, "");
  return { shape, values };
}

export function checkShape(key: string, got: Shape, expected: Shape): void {
  if (got.length !== expected.length || got.some((d, i) => d !== expected[i])) {
    throw new StateDictError(`state dict entry "${key}" has shape ${formatShape(got)}, but the model's parameter has shape ${formatShape(expected)}`);
  }
}
