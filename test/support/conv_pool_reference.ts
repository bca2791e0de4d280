/** test/fixtures/conv_pool_reference.json (torch 1.13, float64) and the closeness the conv and pooling tests ask of it. */
import { readFileSync } from "node:fs";
import { assertClose, flatten, type Nested } from "./assert_close";
import { FLOAT32_OP_RTOL } from "./tolerances";

export interface OpCase<Options> {
  inputShape: number[];
  options: Options;
  input: Nested;
  dy: Nested;
  output: Nested;
  outputShape: number[];
  /** torch's gradients of sum(output · dy), one per tensor argument. */
  grads: Nested[];
}
export interface ConvCase<Options> extends OpCase<Options> {
  weightShape: number[];
  bias: boolean;
  weight: Nested;
  biasValue: Nested | null;
}
export interface PoolCase<Options> extends OpCase<Options> {
  kernelSize: number | [number, number];
  kind?: "normal" | "ties" | "negative";
}
export interface FlattenCase {
  inputShape: number[];
  startDim: number;
  endDim: number;
  outputShape: number[];
}

export const REFERENCE = JSON.parse(readFileSync(new URL("../fixtures/conv_pool_reference.json", import.meta.url), "utf8")) as {
  conv2d: ConvCase<Record<string, unknown>>[];
  maxPool2d: PoolCase<Record<string, unknown>>[];
  avgPool2d: PoolCase<Record<string, unknown>>[];
  flatten: FlattenCase[];
};

/** float32 sums against float64: relative to each value, with a floor relative to the tensor's largest entry (the terms' scale). */
export function closeTo(actual: ArrayLike<number>, expected: Nested | ArrayLike<number>, what: string): void {
  const e = flatten(expected);
  const scale = Math.max(1e-30, ...e.map(Math.abs));
  assertClose(actual, e, { rtol: FLOAT32_OP_RTOL, atol: 4 * FLOAT32_OP_RTOL * scale }, what);
}

/** torch's snake_case keyword arguments as gradlab's camelCase options. */
export function camelOptions(options: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]));
}
