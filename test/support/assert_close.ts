/** Element-wise closeness with a message that names the worst element. */
import assert from "node:assert/strict";

export type Nested = number | Nested[];

export function flatten(value: Nested | ArrayLike<number>): number[] {
  if (typeof value === "number") return [value];
  return Array.from(value as ArrayLike<Nested>).flatMap((v) => flatten(v));
}

export function assertClose(actual: Nested | ArrayLike<number>, expected: Nested | ArrayLike<number>, tol: { atol?: number; rtol?: number }, what = "value"): void {
  const a = flatten(actual);
  const e = flatten(expected);
  assert.equal(a.length, e.length, `${what}: ${a.length} elements, expected ${e.length}`);
  const atol = tol.atol ?? 0;
  const rtol = tol.rtol ?? 0;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const excess = Math.abs(a[i]! - e[i]!) - (atol + rtol * Math.abs(e[i]!));
    if (!(excess <= worstExcess)) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    assert.fail(`${what}: element ${worst} is ${a[worst]}, expected ${e[worst]} (|diff| ${Math.abs(a[worst]! - e[worst]!)}, atol ${atol}, rtol ${rtol})`);
  }
}

/** Host-side float64 reference of X·Wᵀ + b. */
export function hostLinear(x: number[][], w: number[][], b: number[]): number[][] {
  return x.map((row) => w.map((wr, j) => wr.reduce((s, wij, i) => s + wij * row[i]!, b[j]!)));
}

/** The largest absolute difference over the largest |ours|: ONNX Runtime vs gradlab, one number. */
export function normwise(theirs: ArrayLike<number>, ours: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ours.length; i++) {
    diff = Math.max(diff, Math.abs(theirs[i]! - ours[i]!));
    scale = Math.max(scale, Math.abs(ours[i]!));
  }
  return diff / scale;
}
