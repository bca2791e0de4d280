/**
 * relu, leakyRelu, sigmoid, tanh, gelu, softmax, logSoftmax: outputs and gradients against torch
 * (test/fixtures/activation_reference.json), gradcheck on ten shapes × three scales, their
 * modules, bad input, and memory across calls.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import * as F from "../lib/nn/functional";
import { GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh } from "../lib/nn/activation";
import type { GradcheckOptions } from "../lib/gradcheck/gradcheck";
import { GeluF } from "../lib/ops/gelu";
import { LeakyReluF } from "../lib/ops/leaky_relu";
import { LogSoftmaxF } from "../lib/ops/log_softmax";
import { ReluF } from "../lib/ops/relu";
import { SigmoidF } from "../lib/ops/sigmoid";
import { SoftmaxF } from "../lib/ops/softmax";
import { TanhF } from "../lib/ops/tanh";
import { Generator } from "../lib/random";
import { setWarningHandler, resetWarnings } from "../lib/warnings";
import { assertClose } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";
import { assertPathsAgree, onBothPaths } from "./support/host_paths";
import { assertGradcheck, assertMemoryFlat, assertRejects, awayFromZero, GRADCHECK_SHAPES, SCALES } from "./support/layer_checks";
import { FLOAT32_OP_RTOL } from "./support/tolerances";

interface Case {
  op: keyof typeof FUNCTIONAL;
  args: { negativeSlope?: number; approximate?: "none" | "tanh"; dim?: number };
  shape: number[];
  input: number[];
  output: number[];
  upstream: number[];
  grad: number[];
}
const { cases } = JSON.parse(readFileSync(new URL("./fixtures/activation_reference.json", import.meta.url), "utf8")) as { cases: Case[] };

type Args = Case["args"];
const FUNCTIONAL = {
  relu: (x: tf.Tensor) => F.relu(x),
  leakyRelu: (x: tf.Tensor, a: Args) => F.leakyRelu(x, a.negativeSlope),
  sigmoid: (x: tf.Tensor) => F.sigmoid(x),
  tanh: (x: tf.Tensor) => F.tanh(x),
  gelu: (x: tf.Tensor, a: Args) => F.gelu(x, { approximate: a.approximate! }),
  softmax: (x: tf.Tensor, a: Args) => F.softmax(x, a.dim),
  logSoftmax: (x: tf.Tensor, a: Args) => F.logSoftmax(x, a.dim),
};

/** The ops themselves, with their non-tensor arguments bound, as gradcheck takes them. */
const OPS: [string, (x: tf.Tensor, rank: number) => tf.Tensor, GradcheckOptions?, { maxScale: number }?][] = [
  ["Relu", (x) => ReluF.apply(x)],
  ["LeakyRelu(0.1)", (x) => LeakyReluF.apply(x, 0.1)],
  ["LeakyRelu(-2)", (x) => LeakyReluF.apply(x, -2)],
  ["Sigmoid", (x) => SigmoidF.apply(x)],
  ["Tanh", (x) => TanhF.apply(x)],
  // tfjs's erf is Abramowitz–Stegun 7.1.26 (absolute error 1.5e-7): finite differences of the
  // forward see that polynomial's slope, off by up to 5e-6 from the true Φ(x) + x·φ(x) that
  // backward computes (and torch agrees with backward: the fixture test above, to 1e-5). In the
  // tail (|x| ≳ 3, scale 4) the polynomial's slope is off by more than the true slope itself
  // (at x = −4.3: forward's slope 7.6e-6, the true one −1.4e-4), which gradcheck's small steps
  // rightly report: there the fixture test above is the check.
  ["Gelu(none)", (x) => GeluF.apply(x, "none"), { atol: 1e-5 }, { maxScale: 1 }],
  ["Gelu(tanh)", (x) => GeluF.apply(x, "tanh")],
  // Round-off inside the forward that gradcheck's estimate (from the output's terms) cannot see:
  // an output far below the max (log-probability −15) rounds on its own scale while its
  // derivative in a small input is ~1e-5, and the max's own log(1 + s) rounds 1 + s on 1's
  // scale. A larger step lifts finite differences above the first (gradcheck bounds the larger
  // truncation itself, from the step at 2h); a 1e-6 floor covers the second. The torch fixture
  // above checks the same gradients to rtol 1e-5.
  ["Softmax(0)", (x) => SoftmaxF.apply(x, 0), { eps: 2e-2, atol: 1e-6 }],
  ["Softmax(last)", (x, rank) => SoftmaxF.apply(x, rank - 1), { eps: 2e-2, atol: 1e-6 }],
  // log-softmax's log(Σ exp) rounds Σ on 1's scale (the max's own term), so an output's change
  // from a small-probability input (p ~ 1e-3 at scale 4) is quantised at ε·1 ≈ 1.2e-7 over each
  // step: an error of ~1e-5 absolute that the output's own magnitude does not reveal.
  ["LogSoftmax(0)", (x) => LogSoftmaxF.apply(x, 0), { eps: 2e-2, atol: 2e-5 }],
  ["LogSoftmax(last)", (x, rank) => LogSoftmaxF.apply(x, rank - 1), { eps: 2e-2, atol: 2e-5 }],
  ["Softmax(1)", (x, rank) => SoftmaxF.apply(x, Math.min(1, rank - 1)), { eps: 2e-2, atol: 1e-6 }],
  ["LogSoftmax(1)", (x, rank) => LogSoftmaxF.apply(x, Math.min(1, rank - 1)), { eps: 2e-2, atol: 2e-5 }],
];

/** The ops (by their OPS name) with a host path on cpu, and on wasm for the small tensors of these tests: all but gelu. */
const HOST_OPS = OPS.map(([name]) => name).filter((name) => !name.startsWith("Gelu"));
const SOFTMAX_OPS = HOST_OPS.filter((name) => name.includes("Softmax"));

describeEachBackend("activations", () => {
  it(`match torch's outputs and gradients (${cases.length} cases: 7 ops, their arguments, 10 shapes, 3 scales), on the host and the tfjs path`, () => onBothPaths(() => {
    for (const c of cases) {
      const what = `${c.op}(${JSON.stringify(c.args)}) on ${JSON.stringify(c.shape)}`;
      const x = tf.tensor(c.input, c.shape);
      const up = tf.tensor(c.upstream, c.shape);
      const y = FUNCTIONAL[c.op](x, c.args);
      const scale = Math.max(1, ...c.input.map(Math.abs));
      assert.deepEqual(y.shape, c.shape, what);
      assertClose(y.dataSync(), c.output, { rtol: FLOAT32_OP_RTOL, atol: 2e-6 * scale }, `${what}: output`);
      const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(FUNCTIONAL[c.op](a, c.args), up)))(x);
      const upScale = Math.max(...c.upstream.map(Math.abs));
      assertClose(dx.dataSync(), c.grad, { rtol: FLOAT32_OP_RTOL, atol: 2e-6 * scale * upScale }, `${what}: gradient`);
      tf.dispose([x, up, y, dx]);
    }
  }));

  it("host and tfjs paths agree: outputs and gradients on 11 shapes (an empty one too) × 2 scales, with ±∞ and 0 for the one-pass ops", () => {
    const g = new Generator(13);
    for (const [name, op] of OPS.filter(([name]) => HOST_OPS.includes(name))) {
      for (const shape of [...GRADCHECK_SHAPES, [0, 3]]) {
        for (const scale of [1, 6]) {
          const values = awayFromZero(g, shape, scale).dataSync().slice();
          if (!SOFTMAX_OPS.includes(name)) [Infinity, -Infinity, 0].slice(0, values.length).forEach((v, i) => (values[i] = v));
          const x = tf.tensor(values, shape);
          const up = tf.tensor(g.uniformArray(x.size, -1, 1), shape);
          const run = () => [op(x, shape.length), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(op(a, shape.length), up)))(x)];
          assertPathsAgree(run, { rtol: 1e-5, atol: 1e-6 * scale }, `${name} ${JSON.stringify(shape)} ×${scale}`);
          tf.dispose([x, up]);
        }
      }
    }
  });

  it("gradcheck passes for every op on 10 shapes × 3 scales", () => {
    const g = new Generator(3);
    for (const [name, op, options, limits] of OPS) {
      for (const shape of GRADCHECK_SHAPES) {
        for (const scale of SCALES.filter((s) => s <= (limits?.maxScale ?? Infinity))) {
          const x = awayFromZero(g, shape, scale);
          assertGradcheck((a) => op(a, shape.length), [x], `${name} ${JSON.stringify(shape)} ×${scale}`, options);
          x.dispose();
        }
      }
    }
  });

  it("relu's host backward passes dy where the output is NaN, as torch's threshold_backward", () => {
    const x = tf.tensor([Number.NaN, -1, 0, 2]);
    const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(F.relu(a), tf.tensor([3, 3, 3, 3]))))(x);
    assert.deepEqual(Array.from(dx.dataSync()), [3, 0, 0, 3]);
    tf.dispose([x, dx]);
  });

  it("modules apply their functional with torch's defaults", () => {
    const x = tf.tensor([[-2, -0.5, 0, 0.5, 3]]);
    const same = (m: { forward(x: tf.Tensor): tf.Tensor }, f: (x: tf.Tensor) => tf.Tensor, what: string) => {
      const [a, b] = [m.forward(x), f(x)];
      assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()), what);
      tf.dispose([a, b]);
    };
    same(new ReLU(), F.relu, "ReLU");
    same(new LeakyReLU(), (t) => F.leakyRelu(t, 0.01), "LeakyReLU() slope 0.01");
    same(new LeakyReLU(0.3), (t) => F.leakyRelu(t, 0.3), "LeakyReLU(0.3)");
    same(new Sigmoid(), F.sigmoid, "Sigmoid");
    same(new Tanh(), F.tanh, "Tanh");
    same(new GELU(), (t) => F.gelu(t), "GELU()");
    same(new GELU({ approximate: "tanh" }), (t) => F.gelu(t, { approximate: "tanh" }), "GELU(tanh)");
    same(new Softmax(1), (t) => F.softmax(t, 1), "Softmax(1)");
    same(new LogSoftmax(-1), (t) => F.logSoftmax(t, -1), "LogSoftmax(-1)");
    assert.equal(new LeakyReLU(0.1).toString(), "LeakyReLU(negative_slope=0.1)");
    assert.equal(new Softmax(1).toString(), "Softmax(dim=1)");
    assert.equal(new GELU({ approximate: "tanh" }).toString(), "GELU(approximate='tanh')");
    assert.equal(new ReLU().parameters().length, 0);
    x.dispose();
  });

  it("softmax without dim uses torch's implicit choice, with torch's deprecation warning", () => {
    const seen: string[] = [];
    const previous = setWarningHandler((m) => seen.push(m));
    resetWarnings();
    try {
      const x = tf.tensor([[1, 2, 3], [4, 5, 7]]);
      const [implicit, explicit] = [F.softmax(x), F.softmax(x, 1)];
      assert.deepEqual(Array.from(implicit.dataSync()), Array.from(explicit.dataSync()));
      const [l3, e3] = tf.tidy(() => [F.logSoftmax(tf.ones([2, 2, 2])), F.logSoftmax(tf.ones([2, 2, 2]), 0)]);
      assert.deepEqual(Array.from(l3!.dataSync()), Array.from(e3!.dataSync()));
      assert.deepEqual(seen, [
        "Implicit dimension choice for softmax has been deprecated. Change the call to include dim=X as an argument.",
        "Implicit dimension choice for log_softmax has been deprecated. Change the call to include dim=X as an argument.",
      ]);
      tf.dispose([x, implicit, explicit, l3!, e3!]);
    } finally {
      setWarningHandler(previous);
    }
  });

  it("softmax of a scalar is 1 and its log 0, as torch", () => {
    const x = tf.scalar(3.5);
    const [s, l] = [F.softmax(x, 0), F.logSoftmax(x, -1)];
    assert.deepEqual([s.shape, l.shape], [[], []]);
    assert.deepEqual([s.dataSync()[0], l.dataSync()[0]], [1, 0]);
    tf.dispose([x, s, l]);
  });

  it("bad input: one error naming the op, the argument, what was given and what was expected", () => {
    const x = tf.ones([2, 3]);
    const ints = tf.ones([2, 3], "int32");
    assertRejects(() => F.relu(ints), TypeError, /^relu: input must have dtype float32, got int32 \(shape \[2, 3\]\)$/);
    assertRejects(() => F.sigmoid([1, 2] as unknown as tf.Tensor), TypeError, /^sigmoid: input must be a tf\.Tensor, got an array of length 2$/);
    assertRejects(() => F.leakyRelu(x, Number.NaN), TypeError, /^leakyRelu: negativeSlope must be a finite number, got a number \(NaN\)$/);
    assertRejects(() => F.gelu(x, { approximate: "erf" as "none" }), RangeError, /^gelu: approximate must be "none" or "tanh", got "erf"$/);
    assertRejects(() => F.gelu(x, { approximation: "tanh" } as never), TypeError, /^gelu: unknown option "approximation"; expected one of "approximate"$/);
    assertRejects(() => F.softmax(x, 2), RangeError, /^softmax: dim must be an integer in \[-2, 1\] for an input of rank 2, got 2$/);
    assertRejects(() => F.logSoftmax(x, 0.5), RangeError, /^logSoftmax: dim must be an integer in \[-2, 1\] for an input of rank 2, got 0\.5$/);
    assertRejects(() => new LeakyReLU(Number.POSITIVE_INFINITY), TypeError, /^LeakyReLU: negativeSlope must be a finite number, got a number \(Infinity\)$/);
    const v = tf.ones([3]);
    assertRejects(() => new Softmax(1).forward(v), RangeError, /^softmax: dim must be an integer in \[-1, 0\] for an input of rank 1, got 1$/);
    tf.dispose([x, ints, v]);
  });

  it("memory is flat across forward + gradient calls, on the host and the tfjs path", () => onBothPaths(() => {
    const x = tf.randomNormal([4, 5]);
    for (const [name, op] of OPS) {
      assertMemoryFlat(() => {
        const [y, dx] = tf.tidy(() => [op(x, 2), tf.grad((a: tf.Tensor) => tf.sum(op(a, 2)))(x)]);
        assert.ok(y && dx, name);
        tf.dispose([y!, dx!]);
      });
    }
    x.dispose();
  }));
});
