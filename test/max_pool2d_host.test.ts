/**
 * max_pool2d's compiled loop (lib/host/gemm/pool.c, maxPoolInModule) against its JavaScript twin
 * (maxPoolLoops, PyTorch's cpu_max_pool line for line), bit for bit: the SIMD path of windows two
 * columns wide at stride 2 (four windows at a time, rows of any length) and the generic loop, on
 * random data, ties, ±0, NaN, ±∞ and all −∞ windows, with padding, dilation and ceil_mode; and
 * backward's compiled scatter against its JavaScript loop, overlapping windows' sums included.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { poolGeometry } from "../lib/ops/max_pool2d";
import { maxPoolBackInModule, maxPoolBackLoops, maxPoolInModule, maxPoolLoops } from "../lib/ops/max_pool2d_host";
import type { Geometry } from "../lib/ops/pool_windows";
import type { Pads, Pair } from "../lib/ops/window";
import { Generator } from "../lib/random";

/** torch's geometry (output size, ceil_mode's last window) for an input shape and pooling arguments. */
function geometry(input: [number, number, number, number], kernel: Pair, stride: Pair, pads: Pads = [0, 0, 0, 0], dilation: Pair = [1, 1], ceilMode = false): Geometry {
  const x = tf.zeros(input) as tf.Tensor4D;
  try {
    return poolGeometry("max_pool2d", x, kernel, stride, pads, dilation, ceilMode);
  } finally {
    x.dispose();
  }
}

type Fill = (rng: Generator, i: number) => number;
const FILLS: Record<string, Fill> = {
  random: (rng) => rng.normal(),
  // A coarse grid: many equal maxima in a window, so which one's index is kept shows.
  ties: (rng) => Math.round(rng.normal() * 1.5) / 2,
  "±0": (rng) => (rng.uniform() < 0.5 ? -0 : 0),
  "NaN, ±∞": (rng, i) => (i % 7 === 3 ? Number.NaN : i % 11 === 5 ? Number.NEGATIVE_INFINITY : i % 13 === 1 ? Number.POSITIVE_INFINITY : Math.round(rng.normal())),
  "mostly −∞": (rng, i) => (i % 9 === 4 ? Number.NaN : rng.uniform() < 0.9 ? Number.NEGATIVE_INFINITY : 1),
  "all −∞": () => Number.NEGATIVE_INFINITY,
};

function assertTwinsAgree(g: Geometry, seed: number): void {
  const size = g.input.reduce((a, b) => a * b, 1);
  const outs = g.input[0] * g.input[1] * g.out[0] * g.out[1];
  for (const [name, fill] of Object.entries(FILLS)) {
    const rng = new Generator(seed);
    const xs = Float32Array.from({ length: size }, (_, i) => fill(rng, i));
    const [ys1, ys2] = [new Float32Array(outs), new Float32Array(outs)];
    // Filled with what neither writes, so an output left unwritten shows.
    const [am1, am2] = [new Int32Array(outs).fill(-7), new Int32Array(outs).fill(-7)];
    maxPoolLoops(xs, ys1, am1, g);
    maxPoolInModule(xs, ys2, am2, g);
    const what = `${name}, ${JSON.stringify(g)}`;
    // deepEqual compares with Object.is: −0 and 0 differ, NaN equals NaN.
    assert.deepEqual(Array.from(ys2), Array.from(ys1), `maxima: ${what}`);
    assert.deepEqual(Array.from(am2), Array.from(am1), `argmax: ${what}`);
  }
}

it("2×2 windows at stride 2 (the SIMD path): the compiled loop and its JavaScript twin agree bit for bit, on every row length", () => {
  // Output widths 1 to 13: under four windows (scalar), multiples of four, and the overlapping last four.
  for (let w = 2; w <= 27; w++) assertTwinsAgree(geometry([1, 1, 4, w], [2, 2], [2, 2]), w);
  // Batches and channels of planes, LeNet's two pools among them, odd sizes (a trailing row and column left out).
  for (const input of [[2, 3, 8, 8], [3, 6, 28, 28], [2, 16, 10, 10], [2, 3, 7, 9], [1, 5, 11, 17], [4, 1, 2, 2]] as [number, number, number, number][]) {
    assertTwinsAgree(geometry(input, [2, 2], [2, 2]), input[3]);
  }
});

it("ceil_mode's clipped last windows, taller windows, row padding and row dilation, beside the SIMD path: the twins agree", () => {
  const cases: [[number, number, number, number], Pair, Pair, Pads, Pair, boolean][] = [
    [[2, 2, 5, 5], [2, 2], [2, 2], [0, 0, 0, 0], [1, 1], true],
    [[1, 3, 9, 19], [2, 2], [2, 2], [0, 0, 0, 0], [1, 1], true],
    [[1, 2, 9, 18], [3, 2], [2, 2], [0, 0, 0, 0], [1, 1], false],
    [[1, 2, 9, 18], [3, 2], [1, 2], [1, 0, 1, 0], [1, 1], true],
    [[1, 2, 11, 21], [2, 2], [3, 2], [1, 0, 1, 0], [2, 1], true],
    [[1, 1, 6, 16], [1, 2], [1, 2], [0, 0, 0, 0], [1, 1], false],
    // Bottom and right padding only: the last row and column of windows hang off the input.
    [[2, 2, 9, 17], [2, 2], [2, 2], [0, 0, 1, 1], [1, 1], false],
  ];
  for (const [input, kernel, stride, pads, dilation, ceil] of cases) assertTwinsAgree(geometry(input, kernel, stride, pads, dilation, ceil), input[3]);
});

it("windows the SIMD path does not take (column padding, dilation or stride other than 2, wider windows): the generic compiled loop agrees", () => {
  const cases: [[number, number, number, number], Pair, Pair, Pads, Pair, boolean][] = [
    [[1, 2, 7, 9], [3, 2], [2, 1], [1, 0, 1, 0], [1, 1], false],
    [[1, 1, 9, 9], [3, 3], [2, 2], [1, 1, 1, 1], [2, 2], false],
    [[1, 2, 8, 12], [2, 2], [2, 2], [1, 1, 1, 1], [1, 1], false],
    [[1, 2, 8, 12], [2, 2], [2, 2], [0, 0, 0, 0], [1, 2], false],
    [[2, 3, 9, 13], [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], true],
  ];
  for (const [input, kernel, stride, pads, dilation, ceil] of cases) assertTwinsAgree(geometry(input, kernel, stride, pads, dilation, ceil), input[2]);
});

it("backward's compiled scatter and its JavaScript loop agree bit for bit: overlapping windows' sums, a window with no maximum (−1), non-finite dy", () => {
  const cases: Geometry[] = [
    geometry([3, 6, 28, 28], [2, 2], [2, 2]),
    geometry([2, 3, 9, 11], [3, 3], [1, 1], [1, 1, 1, 1]),
    geometry([1, 2, 7, 10], [3, 2], [2, 1], [0, 0, 0, 0], [2, 1], true),
  ];
  for (const [c, g] of cases.entries()) {
    const rng = new Generator(40 + c);
    const size = g.input.reduce((a, b) => a * b, 1);
    const outs = g.input[0] * g.input[1] * g.out[0] * g.out[1];
    // Ties, so that many windows share a maximum and the sums at one index run in output order.
    const xs = Float32Array.from({ length: size }, () => Math.round(rng.normal()));
    const [ys, argmax] = [new Float32Array(outs), new Int32Array(outs)];
    maxPoolLoops(xs, ys, argmax, g);
    argmax[outs >> 1] = -1;
    const dys = Float32Array.from({ length: outs }, (_, i) => (i === 7 ? Number.NaN : i === 11 ? Number.POSITIVE_INFINITY : rng.normal() * 1e3));
    // Filled with what neither leaves, so an element left unwritten shows.
    const [dx1, dx2] = [new Float32Array(size).fill(5), new Float32Array(size).fill(5)];
    maxPoolBackLoops(dys, argmax, dx1);
    maxPoolBackInModule(dys, argmax, dx2);
    assert.deepEqual(Array.from(dx2), Array.from(dx1), `dx: ${JSON.stringify(g)}`);
  }
});
