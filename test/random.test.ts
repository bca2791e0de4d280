/** The seeded generator: reproducible streams, right ranges. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { defaultGenerator, Generator, manualSeed } from "../lib/random";

it("gives the same stream for the same seed and a different one for another", () => {
  const a = Array.from({ length: 5 }, new Generator(42).uniform.bind(new Generator(42)));
  const g1 = new Generator(42);
  const g2 = new Generator(42);
  const g3 = new Generator(43);
  const s1 = Array.from({ length: 100 }, () => g1.uniform());
  assert.deepEqual(s1, Array.from({ length: 100 }, () => g2.uniform()));
  assert.notDeepEqual(s1, Array.from({ length: 100 }, () => g3.uniform()));
  assert.equal(a.length, 5);
});

it("draws U[0, 1) and N(0, 1) with the right moments", () => {
  const g = new Generator(0);
  const n = 20000;
  const u = Array.from({ length: n }, () => g.uniform());
  assert.ok(u.every((x) => x >= 0 && x < 1));
  const mean = u.reduce((s, x) => s + x, 0) / n;
  assert.ok(Math.abs(mean - 0.5) < 0.01, `uniform mean ${mean}`);
  const z = g.normalArray(n);
  const zMean = z.reduce((s, x) => s + x, 0) / n;
  const zVar = z.reduce((s, x) => s + (x - zMean) ** 2, 0) / n;
  assert.ok(Math.abs(zMean) < 0.03 && Math.abs(zVar - 1) < 0.05, `normal mean ${zMean}, variance ${zVar}`);
  const ints = Array.from({ length: 1000 }, () => g.integer(2, 5));
  assert.deepEqual([...new Set(ints)].sort(), [2, 3, 4, 5]);
});

it("fillUniform gives the numbers uniform() would, one by one, and leaves the stream where they would", () => {
  const [a, b] = [new Generator(9), new Generator(9)];
  const one = Array.from({ length: 1000 }, () => a.uniform());
  assert.deepEqual(Array.from(b.fillUniform(new Float64Array(1000))), one);
  assert.equal(b.nextUint32(), a.nextUint32());
});

it("manualSeed restarts the default generator, as torch.manual_seed does", () => {
  manualSeed(7);
  const first = defaultGenerator.uniform();
  manualSeed(7);
  assert.equal(defaultGenerator.uniform(), first);
  assert.throws(() => manualSeed(Number.NaN), /seed must be a finite number, got NaN/);
});
