/**
 * The model API (issue 11, item 3): Sequential, ModuleList and ModuleDict name their children as
 * torch does; parameters are found in nested modules, arrays, Maps and plain objects, or an error
 * names the one that cannot be; train()/eval() reach every sub-module; Linear without bias.
 * Torch's own keys and outputs for these containers are checked in torch_weights.test.ts.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { gradcheck } from "../lib/gradcheck/gradcheck";
import { exportOnnx } from "../lib/onnx/export";
import { Linear } from "../lib/nn/linear";
import { Module, ModuleStructureError } from "../lib/nn/module";
import { ModuleDict } from "../lib/nn/module_dict";
import { ModuleList } from "../lib/nn/module_list";
import { Parameter } from "../lib/nn/parameter";
import { Sequential } from "../lib/nn/sequential";
import { LinearNoBiasF } from "../lib/ops/linear_no_bias";
import { Generator } from "../lib/random";
import { assertClose } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";
import { TfReLU } from "./support/tf_activations";

const names = (m: Module) => m.namedParameters().map(([n]) => n);
const scalarParam = (v: number) => Parameter.adopt(tf.scalar(v));

/** Parameters and modules in every kind of container gradlab names things in. */
class Holder extends Module {
  readonly plain = { w: scalarParam(1), inner: { deep: [scalarParam(2)] } };
  readonly map = new Map<string, Module | Parameter>([["enc", new Linear(2, 2)], ["gain", scalarParam(3)]]);
  readonly nested = [[scalarParam(4)], [new Linear(1, 1, { bias: false })]];
  readonly config = { lr: 0.1, name: "not a parameter", when: new Date(0) };

  forward(x: tf.Tensor): tf.Tensor {
    return x;
  }
}

class Bare extends Module {
  constructor(readonly held: unknown) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    return x;
  }
}

type Ort = typeof import("onnxruntime-node");
const ort: Ort | null = await import("onnxruntime-node").then((m) => ((m as { default?: Ort }).default ?? m) as Ort).catch(() => null);

describeEachBackend("containers and parameter discovery", () => {
  it("Sequential names its children 0, 1, … and skips parameter-free ones, as torch's state_dict", () => {
    const g = new Generator(0);
    const seq = new Sequential(new Linear(3, 4, { generator: g }), new TfReLU(), new Linear(4, 2, { generator: g, bias: false }));
    assert.deepEqual(names(seq), ["0.weight", "0.bias", "2.weight"]);
    assert.deepEqual(Object.keys(seq.stateDict()), ["0.weight", "0.bias", "2.weight"]);
    assert.equal(seq.length, 3);
    assert.ok(seq.at(-1) === seq.at(2));
    assert.throws(() => seq.at(3), /Sequential: index 3 is out of range for 3 modules/);
    assert.equal(String(seq), "Sequential(\n  (0): Linear(in=3, out=4)\n  (1): TfReLU()\n  (2): Linear(in=4, out=2, bias=false)\n)");
    seq.append(new Linear(2, 1, { generator: g }));
    assert.deepEqual(names(seq).slice(3), ["3.weight", "3.bias"]);
    seq.dispose();
  });

  it("Sequential applies its modules in order", () => {
    const g = new Generator(1);
    const a = new Linear(3, 4, { generator: g });
    const b = new Linear(4, 2, { generator: g });
    const seq = new Sequential(a, new TfReLU(), b);
    const x = tf.tensor2d(new Generator(2).uniformArray(15, -1, 1), [5, 3]);
    const expected = tf.tidy(() => b.forward(tf.relu(a.forward(x))).arraySync());
    assert.deepEqual(tf.tidy(() => seq.forward(x).arraySync()), expected);
    x.dispose();
    seq.dispose();
  });

  it("Sequential from named modules uses the names as keys (torch's OrderedDict form)", () => {
    const seq = new Sequential({ fc1: new Linear(2, 3), act: new TfReLU(), fc2: new Linear(3, 1) });
    assert.deepEqual(names(seq), ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
    const fromMap = new Sequential(new Map([["only", new Linear(2, 2, { bias: false })]]));
    assert.deepEqual(names(fromMap), ["only.weight"]);
    seq.dispose();
    fromMap.dispose();
  });

  it("ModuleList and ModuleDict name by index and key, nest, and have no forward", () => {
    class Net extends Module {
      readonly layers = new ModuleList([new Linear(2, 2), new Linear(2, 2)]);
      readonly heads = new ModuleDict({ a: new Linear(2, 1), b: new Sequential(new Linear(2, 1, { bias: false })) });
      forward(x: tf.Tensor): tf.Tensor {
        return x;
      }
    }
    const net = new Net();
    assert.deepEqual(names(net), ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "heads.a.weight", "heads.a.bias", "heads.b.0.weight"]);
    net.layers.insert(0, new Linear(2, 2, { bias: false }));
    assert.deepEqual(names(net).slice(0, 3), ["layers.0.weight", "layers.1.weight", "layers.1.bias"]);
    net.heads.set("a", new Linear(2, 1, { bias: false })); // replaced in place, keeping its position
    assert.deepEqual(names(net).slice(-2), ["heads.a.weight", "heads.b.0.weight"]);
    assert.throws(() => net.layers.forward(tf.zeros([1, 2])), /ModuleList has no forward/);
    assert.throws(() => net.heads.forward(tf.zeros([1, 2])), /ModuleDict has no forward/);
    assert.throws(() => net.heads.get("c"), /ModuleDict: no module named "c"; it has "a", "b"/);
    net.dispose();
  });

  it("finds parameters in plain objects, Maps and nested arrays, in declaration order", () => {
    const h = new Holder();
    assert.deepEqual(names(h), ["plain.w", "plain.inner.deep.0", "map.enc.weight", "map.enc.bias", "map.gain", "nested.0.0", "nested.1.0.weight"]);
    assert.equal(h.parameters().length, 7);
    assert.deepEqual(h.childModules().map(String), ["Linear(in=2, out=2)", "Linear(in=1, out=1, bias=false)"]);
    // A state dict round trip reaches them all.
    const state = h.stateDict();
    assert.equal(state["map.gain"], 3);
    const fresh = new Holder();
    fresh.loadStateDict({ ...state, "plain.w": 10 });
    assert.equal((fresh.plain.w.value.arraySync() as number), 10);
    h.dispose();
    fresh.dispose();
  });

  it("train()/eval() reach modules in containers, Maps and plain objects", () => {
    const inMap = new Linear(1, 1);
    const inObject = new Linear(1, 1);
    const inList = new Linear(1, 1);
    const m = new Bare({ a: new Map([["x", inMap]]), b: { c: inObject }, list: new ModuleList([new Sequential(inList)]) });
    m.eval();
    assert.deepEqual([m, inMap, inObject, inList].map((x) => x.training), [false, false, false, false]);
    m.train();
    assert.deepEqual([m, inMap, inObject, inList].map((x) => x.training), [true, true, true, true]);
    m.dispose();
  });

  it("a tied parameter is listed once by namedParameters() and under every name by stateDict(), as torch", () => {
    const shared = new Linear(2, 2);
    class Tied extends Module {
      readonly encoder = shared;
      readonly decoder = { weight: shared.weight };
      forward(x: tf.Tensor): tf.Tensor {
        return x;
      }
    }
    const t = new Tied();
    assert.deepEqual(names(t), ["encoder.weight", "encoder.bias"]);
    assert.deepEqual(Object.keys(t.stateDict()), ["encoder.weight", "encoder.bias", "decoder.weight"]);
    t.dispose();
  });

  const unnamed: [string, () => unknown, RegExp][] = [
    ["a Parameter in a Set", () => new Set([scalarParam(1)]), /Bare: "held" holds a Parameter inside a Set, so it has no name/],
    ["a Parameter in a class that is not a Module", () => ({ box: new (class Box { w = scalarParam(1); })() }), /Bare: "held\.box" holds a Parameter inside a Box, which is not a Module/],
    ["a bare trainable tf.Variable", () => [tf.variable(tf.zeros([2]))], /Bare: "held\.0" is a trainable tf\.Variable, which namedParameters\(\) cannot see; wrap its value in a Parameter/],
    ["a Parameter under a non-string Map key", () => new Map([[{}, scalarParam(1)]]), /Map "held" holds a Parameter under a key of type object/],
  ];
  for (const [what, held, message] of unnamed) {
    it(`${what} is an error naming it, never a silent 0`, () => {
      const m = new Bare(held());
      assert.throws(() => m.parameters(), (e: Error) => e instanceof ModuleStructureError && message.test(e.message));
      assert.throws(() => m.stateDict(), message);
    });
  }

  it("a module that refers back to its parent is an error naming the cycle", () => {
    const child = new Bare(null);
    const parent = new Bare(child);
    (child as unknown as { held: unknown }).held = parent;
    assert.throws(() => parent.parameters(), /Bare: "held\.held" refers back to a module that contains it \(a cycle\)/);
  });

  it("containers refuse what is not a Module, naming it", () => {
    assert.throws(() => new Sequential(new Linear(1, 1), 3 as unknown as Module), /Sequential: argument 1 must be a Module, got number 3/);
    assert.throws(() => new ModuleList([tf.zeros([1]) as unknown as Module]), /ModuleList: modules\[0\] must be a Module, got Tensor/);
    assert.throws(() => new ModuleDict({ "a.b": new Linear(1, 1) }), /ModuleDict: a key must be a non-empty string without "\.", got "a\.b"/);
    const dict = new ModuleDict({ a: new Linear(1, 1) });
    assert.throws(() => dict.update({ b: new Linear(1, 1), c: null as unknown as Module }), /ModuleDict: module "c" must be a Module, got null/);
    assert.deepEqual(dict.keys(), ["a"], "a bad update added some of its entries");
  });

  it("Linear with bias: false has weight only, and its op passes gradcheck", () => {
    const layer = new Linear(3, 2, { bias: false, generator: new Generator(3) });
    assert.equal(layer.bias, null);
    assert.deepEqual(names(layer), ["weight"]);
    const x = tf.tensor2d(new Generator(4).uniformArray(12, -1, 1), [4, 3]);
    const w = layer.weight.value;
    const expected = (x.arraySync() as number[][]).map((row) => (w.arraySync() as number[][]).map((wr) => wr.reduce((s, v, i) => s + v * row[i]!, 0)));
    assertClose(tf.tidy(() => layer.forward(x).arraySync()) as number[][], expected, { atol: 1e-6, rtol: 1e-6 });
    for (const [batch, nIn, nOut] of [[1, 1, 1], [4, 3, 2], [7, 5, 9], [2, 16, 3]] as const) {
      const gx = tf.tensor2d(new Generator(batch).uniformArray(batch * nIn, -2, 2), [batch, nIn]);
      const gw = tf.tensor2d(new Generator(nOut).uniformArray(nOut * nIn, -2, 2), [nOut, nIn]);
      const report = gradcheck(LinearNoBiasF, [gx, gw]);
      assert.ok(report.passed, `gradcheck LINEAR_NOBIAS [${batch},${nIn}]·[${nOut},${nIn}]ᵀ failed`);
      tf.dispose([gx, gw]);
    }
    assert.throws(() => new Linear(2, 2, { bias: "no" as unknown as boolean }), /Linear: bias must be true or false, got "no"/);
    x.dispose();
    layer.dispose();
  });

  it("a Sequential of Linear layers, one without bias, exports to ONNX and ONNX Runtime gives its outputs", { skip: ort === null ? "onnxruntime-node cannot be loaded here" : false }, async () => {
    const g = new Generator(7);
    const model = new Sequential(new Linear(3, 4, { generator: g }), new Linear(4, 2, { generator: g, bias: false }));
    const rows = [[1, 2, 3], [-1, 0, 0.5], [0.25, -2, 1]];
    const ours = tf.tidy(() => Array.from(model.forward(tf.tensor2d(rows)).dataSync()));
    for (const customOps of ["function", "standard"] as const) {
      const bytes = await exportOnnx(model, undefined, { customOps, example: tf.zeros([1, 3]), dynamicAxes: { x: { 0: "batch" }, y: { 0: "batch" } } });
      const session = await ort!.InferenceSession.create(bytes);
      const out = await session.run({ x: new ort!.Tensor("float32", Float32Array.from(rows.flat()), [3, 3]) });
      await session.release();
      assertClose(Array.from(out.y!.data as Float32Array), ours, { rtol: 1e-6, atol: 1e-7 }, `ORT (${customOps}) vs gradlab`);
    }
    model.dispose();
  });
});
