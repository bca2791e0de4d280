/** Linear: forward against a float64 host reference, its two inits, seeding, and its argument checks. */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { Linear } from "../lib/nn/linear";
import { Generator } from "../lib/random";
import { assertClose, flatten, hostLinear } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";
import { FLOAT32_OP_RTOL } from "./support/tolerances";

const read2d = (t: tf.Tensor) => t.arraySync() as number[][];
const read1d = (t: tf.Tensor) => t.arraySync() as number[];

describeEachBackend("Linear", () => {
  it("forward equals X·Wᵀ + b computed on the host in float64 (1×2→1, 37×5→3, 8×16→4)", () => {
    const g = new Generator(21);
    for (const [batch, inF, outF] of [[1, 2, 1], [37, 5, 3], [8, 16, 4]] as const) {
      const layer = new Linear(inF, outF, { generator: g });
      const x = tf.tensor2d(g.uniformArray(batch * inF, -2, 2), [batch, inF]);
      const y = layer.forward(x);
      assert.deepEqual(y.shape, [batch, outF]);
      const xs = read2d(x);
      const w = read2d(layer.weight.value);
      const b = read1d(layer.bias.value);
      const expected = hostLinear(xs, w, b);
      // float32 round-off is relative to the size of the terms summed, not to a result that may cancel.
      const scale = Math.max(...xs.flatMap((row) => w.map((wr, j) => wr.reduce((s, wij, i) => s + Math.abs(wij * row[i]!), Math.abs(b[j]!)))));
      assertClose(read2d(y), expected, { rtol: FLOAT32_OP_RTOL, atol: FLOAT32_OP_RTOL * scale }, `Linear(${inF}, ${outF}) on batch ${batch}`);
      tf.dispose([x, y]);
      layer.dispose();
    }
  });

  it('init "uniform" draws weight [out, in] and bias [out] from [0, 1)', () => {
    const layer = new Linear(7, 5, { init: "uniform", generator: new Generator(1) });
    assert.deepEqual(layer.weight.shape, [5, 7]);
    assert.deepEqual(layer.bias.shape, [5]);
    const values = [...flatten(read2d(layer.weight.value)), ...read1d(layer.bias.value)];
    assert.equal(values.length, 40);
    for (const v of values) assert.ok(v >= 0 && v < 1, `uniform init gave ${v}, outside [0, 1)`);
    layer.dispose();
  });

  it("the default init is torch.nn.Linear's: weight and bias within ±1/√in, negative values included", () => {
    const inF = 16;
    const layer = new Linear(inF, 32, { generator: new Generator(2) });
    const bound = 1 / Math.sqrt(inF);
    const weight = flatten(read2d(layer.weight.value));
    const bias = read1d(layer.bias.value);
    assert.equal(weight.length, 32 * 16);
    assert.equal(bias.length, 32);
    for (const [name, values] of [["weight", weight], ["bias", bias]] as const) {
      for (const v of values) assert.ok(Math.abs(v) <= bound, `${name} value ${v} outside ±${bound}`);
      assert.ok(values.some((v) => v < 0), `${name}: no negative value, so not the kaiming-uniform init`);
    }
    // 512 draws spread over the whole interval, not squeezed into part of it.
    assert.ok(Math.min(...weight) < -bound / 2 && Math.max(...weight) > bound / 2, `weight range [${Math.min(...weight)}, ${Math.max(...weight)}] for bound ${bound}`);
    layer.dispose();
  });

  it("the same Generator seed gives identical weights; a different seed gives different ones", () => {
    const make = (seed: number) => {
      const layer = new Linear(4, 3, { generator: new Generator(seed) });
      const values = [read2d(layer.weight.value), read1d(layer.bias.value)];
      layer.dispose();
      return values;
    };
    assert.deepEqual(make(5), make(5));
    assert.notDeepEqual(make(5), make(6));
  });

  it("rejects inputs of the wrong rank or width, naming the layer and both shapes", () => {
    const layer = new Linear(2, 1, { generator: new Generator(3) });
    const cases: [number[], RegExp][] = [
      [[3], /^Linear\(in=2, out=1\): expected input of shape \[batch, 2\], got \[3\]$/],
      [[3, 3], /^Linear\(in=2, out=1\): expected input of shape \[batch, 2\], got \[3, 3\]$/],
      [[1, 3, 2], /^Linear\(in=2, out=1\): expected input of shape \[batch, 2\], got \[1, 3, 2\]$/],
    ];
    for (const [shape, message] of cases) {
      const x = tf.ones(shape);
      assert.throws(() => layer.forward(x), (e: Error) => {
        assert.ok(e instanceof RangeError, `${e.name} for input ${shape}, expected a RangeError`);
        assert.match(e.message, message);
        return true;
      });
      x.dispose();
    }
    layer.dispose();
  });

  it("rejects feature counts that are not positive integers, and unknown inits, with RangeErrors", () => {
    const escape = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
    for (const n of [0, 1.5, -1, Number.NaN]) {
      assert.throws(() => new Linear(n, 1), { name: "RangeError", message: escape(`Linear: inFeatures must be a positive integer, got ${n}`) });
      assert.throws(() => new Linear(1, n), { name: "RangeError", message: escape(`Linear: outFeatures must be a positive integer, got ${n}`) });
    }
    assert.throws(
      () => new Linear(2, 1, { init: "normal" as "uniform" }),
      (e: Error) => e instanceof RangeError && /^Linear: init must be "uniform" or "kaiming", got "normal"$/.test(e.message),
    );
  });

  it("a constructor that throws allocates nothing", () => {
    const before = tf.memory().numTensors;
    assert.throws(() => new Linear(2, 0));
    assert.throws(() => new Linear(2, 1, { init: "normal" as "uniform" }));
    assert.equal(tf.memory().numTensors, before);
  });
});
