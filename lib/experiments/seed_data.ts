/**
 * The seed's data: one sample of y = 2·x1 + 3·x2 + 4 per step, x ~ U[0, 1)², or rows read from a
 * user's file ({"x": [[x1, x2], …], "y"?: […]}).
 */
import { defaultGenerator, type Generator } from "../random";

export interface Samples {
  /** Row-major [rows, width]. */
  x: Float32Array;
  y: Float32Array;
  rows: number;
  width: number;
}

export const seedRule = (x1: number, x2: number): number => 2 * x1 + 3 * x2 + 4;

export function randomSamples(rows: number, generator: Generator = defaultGenerator): Samples {
  const x = new Float32Array(rows * 2);
  const y = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    // Rounded to float32 before the target is computed, as the seed's torch.Tensor(...) does.
    x[2 * i] = generator.uniform();
    x[2 * i + 1] = generator.uniform();
    y[i] = seedRule(x[2 * i]!, x[2 * i + 1]!);
  }
  return { x, y, rows, width: 2 };
}

/** Validates a parsed data file; every message names the field and what was expected. */
export function samplesFromJson(data: unknown, source = "data"): Samples {
  const fail = (what: string): never => {
    throw new DataFileError(`${source}: ${what}; expected {"x": [[x1, x2], …]} with an optional "y": [y, …]`);
  };
  if (data === null || typeof data !== "object" || Array.isArray(data)) fail(`the top level must be an object, got ${Array.isArray(data) ? "an array" : typeof data}`);
  const { x, y } = data as { x?: unknown; y?: unknown };
  if (!Array.isArray(x) || x.length === 0) fail(`"x" must be a non-empty array of rows`);
  const rows = (x as unknown[]).length;
  const first = (x as unknown[])[0];
  const width = Array.isArray(first) ? first.length : 0;
  if (width === 0) fail(`"x"[0] must be a non-empty array of numbers`);
  const xs = new Float32Array(rows * width);
  (x as unknown[]).forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== width) fail(`"x"[${i}] must be an array of ${width} numbers (the width of row 0), got ${JSON.stringify(row)}`);
    (row as unknown[]).forEach((v, j) => {
      if (typeof v !== "number" || !Number.isFinite(v)) fail(`"x"[${i}][${j}] must be a finite number, got ${JSON.stringify(v)}`);
      xs[i * width + j] = v as number;
    });
  });
  const ys = new Float32Array(rows);
  if (y === undefined) {
    if (width !== 2) fail(`without "y", targets follow the seed's rule y = 2·x1 + 3·x2 + 4, which needs rows of 2 numbers, got ${width}`);
    for (let i = 0; i < rows; i++) ys[i] = seedRule(xs[2 * i]!, xs[2 * i + 1]!);
  } else {
    if (!Array.isArray(y) || y.length !== rows) fail(`"y" must be an array of ${rows} numbers (one per row of "x"), got ${Array.isArray(y) ? `${y.length} entries` : JSON.stringify(y)}`);
    (y as unknown[]).forEach((v, i) => {
      if (typeof v !== "number" || !Number.isFinite(v)) fail(`"y"[${i}] must be a finite number, got ${JSON.stringify(v)}`);
      ys[i] = v as number;
    });
  }
  return { x: xs, y: ys, rows, width };
}

export class DataFileError extends Error {
  override name = "DataFileError";
}
