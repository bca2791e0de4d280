/** Shape helpers shared by the contract checks: one formatting, so every message reads the same. */

export type Shape = readonly number[];

export function formatShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function sizeOf(shape: Shape): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** NumPy/PyTorch broadcasting of two shapes, or null when they do not broadcast. */
export function broadcastShapes(a: Shape, b: Shape): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/**
 * The leading axes whose sum turns `shape` into `target` (e.g. [4, 3] → [3] by summing axis 0),
 * or null. Used to tell a user that a gradient was not reduced over the axes its input was
 * broadcast along, the commonest mistake in a hand-written backward.
 */
export function reductionAxesTo(shape: Shape, target: Shape): number[] | null {
  if (shape.length < target.length) return null;
  const lead = shape.length - target.length;
  const axes: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (i < lead) axes.push(i);
    else if (target[i - lead] === 1 && shape[i] !== 1) axes.push(i);
    else if (target[i - lead] !== shape[i]) return null;
  }
  return axes.length > 0 ? axes : null;
}
