/** Module and Parameter: dotted parameter names, state dicts through JSON, load errors that change nothing, grads, disposal. */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { backward } from "../lib/autograd/backward";
import { Linear } from "../lib/nn/linear";
import { Module } from "../lib/nn/module";
import { Parameter } from "../lib/nn/parameter";
import { StateDictError, type StateDict } from "../lib/nn/state_dict";
import { Generator } from "../lib/random";
import { describeEachBackend } from "./support/backends";

/** A small MLP, as one would write it with torch.nn.ModuleList: 3 → 4 → 2. */
class TwoLayer extends Module {
  readonly layers: Linear[];

  constructor(generator: Generator) {
    super();
    this.layers = [new Linear(3, 4, { generator }), new Linear(4, 2, { generator })];
  }

  forward(x: tf.Tensor): tf.Tensor {
    return this.layers[1]!.forward(tf.relu(this.layers[0]!.forward(x)));
  }
}

/** Nesting one level deeper, with a bare Parameter among the modules. */
class Wrapped extends Module {
  readonly body: TwoLayer;
  readonly scale: Parameter;
  readonly head: Linear;

  constructor(generator: Generator) {
    super();
    this.body = new TwoLayer(generator);
    const ones = tf.ones([2]);
    this.scale = new Parameter(ones); // a copy: `ones` stays ours to free
    ones.dispose();
    this.head = new Linear(2, 1, { generator });
  }

  forward(x: tf.Tensor): tf.Tensor {
    return this.head.forward(tf.mul(this.body.forward(x), this.scale.value));
  }
}

const NAMES = ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"];

/** Every parameter's values, read from the device. */
const snapshot = (m: Module) => m.namedParameters().map(([name, p]) => [name, p.value.arraySync()]);

/** A valid state dict for TwoLayer, different from any seeded init. */
function validState(): Record<string, unknown> {
  return {
    "layers.0.weight": [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]],
    "layers.0.bias": [0.5, -0.5, 1.5, -1.5],
    "layers.1.weight": [[1, 0, -1, 0], [0, 1, 0, -1]],
    "layers.1.bias": [0.25, -0.25],
  };
}

function forwardValues(m: Module, x: tf.Tensor): number[][] {
  return tf.tidy(() => m.forward(x).arraySync() as number[][]);
}

describeEachBackend("Module", () => {
  it("namedParameters lists parameters depth first, in declaration order, with dotted names", () => {
    const model = new TwoLayer(new Generator(0));
    assert.deepEqual(model.namedParameters().map(([name]) => name), NAMES);
    assert.deepEqual(model.namedParameters().map(([, p]) => p.shape), [[4, 3], [4], [2, 4], [2]]);
    assert.deepEqual(model.namedParameters("model.").map(([name]) => name), NAMES.map((n) => `model.${n}`));

    const wrapped = new Wrapped(new Generator(0));
    assert.deepEqual(
      wrapped.namedParameters().map(([name]) => name),
      [...NAMES.map((n) => `body.${n}`), "scale", "head.weight", "head.bias"],
    );
    model.dispose();
    wrapped.dispose();
  });

  it("parameters() gives the same Parameter objects, in the same order, as namedParameters()", () => {
    const model = new TwoLayer(new Generator(0));
    const params = model.parameters();
    assert.equal(params.length, 4);
    params.forEach((p, i) => assert.ok(p === model.namedParameters()[i]![1], `parameters()[${i}] is not namedParameters()[${i}]`));
    assert.ok(params[0] === model.layers[0]!.weight && params[3] === model.layers[1]!.bias, "parameters() are not the layers' own");
    model.dispose();
  });

  it("stateDict → JSON → loadStateDict on a fresh model gives identical forward outputs", () => {
    const trained = new TwoLayer(new Generator(1));
    const fresh = new TwoLayer(new Generator(2));
    const x = tf.tensor2d(new Generator(3).uniformArray(5 * 3, -2, 2), [5, 3]);
    assert.notDeepEqual(forwardValues(fresh, x), forwardValues(trained, x), "the two seeds gave the same model, so the test proves nothing");

    const state = trained.stateDict();
    assert.deepEqual(Object.keys(state), NAMES);
    const json = JSON.stringify(state);
    fresh.loadStateDict(JSON.parse(json));
    assert.deepEqual(forwardValues(fresh, x), forwardValues(trained, x));
    assert.deepEqual(fresh.stateDict(), state);
    tf.dispose(x);
    trained.dispose();
    fresh.dispose();
  });

  it("stateDict gives nested number arrays of each parameter's shape", () => {
    const model = new TwoLayer(new Generator(4));
    model.loadStateDict(validState());
    assert.deepEqual(model.stateDict(), validState());
    model.dispose();
  });

  const badStates: { what: string; state: (s: Record<string, unknown>) => unknown; message: RegExp }[] = [
    {
      what: "a missing key",
      state: (s) => Object.fromEntries(Object.entries(s).filter(([k]) => k !== "layers.1.bias")),
      message: /missing keys: "layers\.1\.bias".*expected keys: "layers\.0\.weight", "layers\.0\.bias", "layers\.1\.weight", "layers\.1\.bias"/,
    },
    {
      what: "an unexpected key",
      state: (s) => ({ ...s, "layers.2.weight": [[1]] }),
      message: /unexpected keys: "layers\.2\.weight".*expected keys: "layers\.0\.weight"/,
    },
    {
      what: "a wrong shape",
      state: (s) => ({ ...s, "layers.0.bias": [1, 2, 3] }),
      message: /state dict entry "layers\.0\.bias" has shape \[3\], but the model's parameter has shape \[4\]/,
    },
    {
      what: "a transposed weight",
      state: (s) => ({ ...s, "layers.1.weight": [[1, 0], [0, 1], [-1, 0], [0, -1]] }),
      message: /state dict entry "layers\.1\.weight" has shape \[4, 2\], but the model's parameter has shape \[2, 4\]/,
    },
    {
      what: "a ragged nested array",
      state: (s) => ({ ...s, "layers.0.weight": [[1, 2, 3], [4, 5], [7, 8, 9], [10, 11, 12]] }),
      message: /state dict entry "layers\.0\.weight"\[1\]: ragged array \(expected 3 elements at depth 1, got 2\)/,
    },
    {
      what: "a non-number",
      state: (s) => ({ ...s, "layers.0.bias": [0.5, "x", 1.5, -1.5] }),
      message: /state dict entry "layers\.0\.bias"\[1\]: expected a finite number, got "x"/,
    },
    {
      what: "a null where a number belongs",
      state: (s) => ({ ...s, "layers.1.bias": [0.25, null] }),
      message: /state dict entry "layers\.1\.bias"\[1\]: expected a finite number, got null/,
    },
    {
      // Not from a JSON file (JSON has no Infinity), but from a state dict built in code.
      what: "a non-finite number",
      state: (s) => ({ ...s, "layers.1.bias": [0.25, Number.POSITIVE_INFINITY] }),
      message: /state dict entry "layers\.1\.bias"\[1\]: expected a finite number, got Infinity/,
    },
  ];

  for (const { what, state, message } of badStates) {
    it(`loadStateDict with ${what} throws a StateDictError naming it and changes no parameter`, () => {
      const model = new TwoLayer(new Generator(5));
      const before = snapshot(model);
      // The first entry is valid and new: it must not be applied when a later one is bad.
      assert.throws(() => model.loadStateDict(state(validState())), (e: Error) => {
        assert.ok(e instanceof StateDictError, `${e.name}: ${e.message}`);
        assert.match(e.message, message);
        return true;
      });
      assert.deepEqual(snapshot(model), before);
      model.dispose();
    });
  }

  it("loadStateDict refuses anything but a plain object, saying what it got", () => {
    const model = new TwoLayer(new Generator(6));
    const before = snapshot(model);
    const cases: [unknown, RegExp][] = [
      [[1, 2], /a state dict must be an object of parameter name → nested number arrays, got an array/],
      [42, /a state dict must be an object .*, got number/],
      ["weights.json", /a state dict must be an object .*, got string/],
      [undefined, /a state dict must be an object .*, got undefined/],
    ];
    for (const [value, message] of cases) {
      assert.throws(() => model.loadStateDict(value), (e: Error) => {
        assert.ok(e instanceof StateDictError, `${e.name} for ${JSON.stringify(value)}`);
        assert.match(e.message, message, `for ${JSON.stringify(value)}`);
        return true;
      });
    }
    assert.deepEqual(snapshot(model), before);
    model.dispose();
  });

  it("loadStateDict(null) says it got null, not an object", () => {
    const model = new TwoLayer(new Generator(6));
    assert.throws(() => model.loadStateDict(null), (e: Error) => {
      assert.ok(e instanceof StateDictError, `${e.name}: ${e.message}`);
      assert.match(e.message, /a state dict must be an object of parameter name → nested number arrays, got null/);
      return true;
    });
    model.dispose();
  });

  it("strict: false loads the entries given, ignores unknown ones, and still checks shapes", () => {
    const model = new TwoLayer(new Generator(7));
    const before = Object.fromEntries(snapshot(model));
    const { "layers.1.weight": w1, "layers.1.bias": b1 } = validState();
    model.loadStateDict({ "layers.1.weight": w1, "layers.1.bias": b1, "extra.weight": [1] }, { strict: false });
    const after = model.stateDict();
    assert.deepEqual(after["layers.1.weight"], w1);
    assert.deepEqual(after["layers.1.bias"], b1);
    assert.deepEqual(after["layers.0.weight"], before["layers.0.weight"]);
    assert.deepEqual(after["layers.0.bias"], before["layers.0.bias"]);

    assert.throws(() => model.loadStateDict({ "layers.0.bias": [1] }, { strict: false }), /state dict entry "layers\.0\.bias" has shape \[1\], but the model's parameter has shape \[4\]/);
    assert.deepEqual(model.stateDict(), after);
    model.dispose();
  });

  it("zeroGrad clears every gradient that backward accumulated, and frees them", () => {
    const model = new TwoLayer(new Generator(8));
    const x = tf.tensor2d(new Generator(9).uniformArray(4 * 3, -1, 1), [4, 3]);
    // Bias 1 in the first layer keeps every ReLU open, so every parameter gets a gradient.
    model.loadStateDict({ ...model.stateDict(), "layers.0.bias": [5, 5, 5, 5] });
    const before = tf.memory().numTensors;
    const loss = backward(() => tf.sum(model.forward(x)), model.parameters());
    loss.dispose();
    for (const [name, p] of model.namedParameters()) {
      assert.ok(p.grad !== null, `${name} has no gradient after backward`);
      assert.deepEqual(p.grad.shape, p.shape, `${name}'s gradient shape`);
    }
    model.zeroGrad();
    for (const [name, p] of model.namedParameters()) assert.equal(p.grad, null, `${name}.grad after zeroGrad`);
    assert.equal(tf.memory().numTensors, before, "tensors left after zeroGrad");
    x.dispose();
    model.dispose();
  });

  it("loadStateDict allocates no lasting tensor", () => {
    const model = new TwoLayer(new Generator(10));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) model.loadStateDict(validState());
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });

  it("dispose frees every variable: tf.memory() returns to where it started", () => {
    const start = tf.memory();
    const model = new Wrapped(new Generator(11));
    model.loadStateDict(model.stateDict());
    const x = tf.ones([2, 3]);
    backward(() => tf.sum(model.forward(x)), model.parameters()).dispose();
    x.dispose();
    model.dispose();
    const end = tf.memory();
    assert.equal(end.numTensors, start.numTensors, "tensors left after dispose");
    assert.equal(end.numBytes, start.numBytes, "bytes left after dispose");
    for (const [name, p] of model.namedParameters()) assert.ok(p.value.isDisposed, `${name} is not disposed`);
  });
});
