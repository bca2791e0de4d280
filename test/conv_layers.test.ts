/**
 * The modules Conv2d, MaxPool2d, AvgPool2d and Flatten: a small CNN built from them loads torch's
 * state dict and gives torch's output and gradients (test/fixtures/conv_pool_reference.json);
 * with gradlab's host loops and with tfjs's kernels; Conv2d's torch init; parameters and their
 * names; argument checks at construction and forward.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { backward } from "../lib/autograd/backward";
import { setHostKernels } from "../lib/host/host_tensors";
import { Conv2d } from "../lib/nn/conv";
import { Flatten } from "../lib/nn/flatten";
import { Linear } from "../lib/nn/linear";
import { Module } from "../lib/nn/module";
import { AvgPool2d, MaxPool2d } from "../lib/nn/pooling";
import { Generator } from "../lib/random";
import { flatten, type Nested } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";
import { closeTo, REFERENCE } from "./support/conv_pool_reference";

const MODEL = (REFERENCE as unknown as { model: { stateDict: Record<string, Nested>; input: Nested; dy: Nested; output: Nested; inputGrad: Nested; grads: Record<string, Nested> } }).model;

/** test/fixtures/make_conv_pool_reference.py's SmallCNN, attribute for attribute. */
class SmallCNN extends Module {
  readonly conv1 = new Conv2d(1, 4, 3, { padding: 1 });
  readonly pool1 = new MaxPool2d(2);
  readonly conv2 = new Conv2d(4, 6, 3, { groups: 2, dilation: 2, padding: "same", bias: false });
  readonly pool2 = new AvgPool2d(3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false });
  readonly flatten = new Flatten();
  readonly fc = new Linear(6 * 3 * 3, 3);
  forward(x: tf.Tensor): tf.Tensor {
    const h = this.pool1.forward(tf.relu(this.conv1.forward(x)));
    return this.fc.forward(this.flatten.forward(this.pool2.forward(tf.relu(this.conv2.forward(h)))) as tf.Tensor2D);
  }
}

describeEachBackend("conv layers", () => {
  for (const host of [true, false]) it(`a small CNN of Conv2d, MaxPool2d, AvgPool2d, Flatten and Linear loads torch's state dict and gives torch's output and gradients (${host ? "host loops" : "tfjs kernels"})`, () => {
    const previous = setHostKernels(host);
    try {
      smallCnnMatchesTorch();
    } finally {
      setHostKernels(previous);
    }
  });

  function smallCnnMatchesTorch(): void {
    const net = new SmallCNN();
    assert.deepEqual(
      net.namedParameters().map(([name, p]) => [name, p.shape]),
      Object.entries(MODEL.stateDict).map(([name, v]) => [name, shapeOf(v)]),
    );
    net.loadStateDict(MODEL.stateDict);
    const x = tf.tensor(flatten(MODEL.input), shapeOf(MODEL.input));
    const dy = tf.tensor(flatten(MODEL.dy), shapeOf(MODEL.dy));
    const y = net.forward(x);
    closeTo(y.dataSync(), MODEL.output, "output");
    backward(() => tf.sum(tf.mul(net.forward(x), dy)), net.parameters()).dispose();
    for (const [name, p] of net.namedParameters()) closeTo(p.grad!.dataSync(), MODEL.grads[name]!, `gradient of ${name}`);
    const [dx] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(net.forward(a), dy)))([x]);
    closeTo(dx!.dataSync(), MODEL.inputGrad, "gradient of the input");
    for (const p of net.parameters()) p.clearGrad();
    tf.dispose([x, dy, y, dx!]);
    net.dispose();
  }

  it("Conv2d's init is torch's: weight and bias within ±1/√(in/groups · KH · KW), spread over it; bias: false has none", () => {
    for (const [inC, outC, k, groups] of [[4, 8, 3, 1], [6, 4, [2, 5], 2], [3, 6, 1, 3]] as const) {
      const layer = new Conv2d(inC, outC, k as number, { groups, generator: new Generator(1) });
      const [kh, kw] = typeof k === "number" ? [k, k] : k;
      assert.deepEqual(layer.weight.shape, [outC, inC / groups, kh, kw]);
      assert.deepEqual(layer.bias!.shape, [outC]);
      const bound = 1 / Math.sqrt((inC / groups) * kh * kw);
      for (const [name, t] of [["weight", layer.weight.value], ["bias", layer.bias!.value]] as const) {
        const values = Array.from(t.dataSync());
        assert.ok(values.every((v) => Math.abs(v) <= bound), `${name} outside ±${bound}`);
        if (values.length >= 32) assert.ok(Math.min(...values) < -bound / 2 && Math.max(...values) > bound / 2, `${name} range [${Math.min(...values)}, ${Math.max(...values)}] for bound ${bound}`);
      }
      layer.dispose();
    }
    const noBias = new Conv2d(2, 3, 3, { bias: false });
    assert.equal(noBias.bias, null);
    assert.deepEqual(noBias.namedParameters().map(([n]) => n), ["weight"]);
    noBias.dispose();
    const same = (seed: number) => Array.from(new Conv2d(2, 3, 3, { generator: new Generator(seed) }).weight.value.dataSync());
    assert.deepEqual(same(5), same(5));
  });

  it("pooling and Flatten modules have no parameters and apply their functionals", () => {
    const x = tf.tensor(new Generator(2).uniformArray(2 * 3 * 6 * 6, -1, 1), [2, 3, 6, 6]);
    for (const layer of [new MaxPool2d(2), new AvgPool2d(3, { stride: 1, padding: 1 }), new Flatten()]) {
      assert.deepEqual(layer.parameters(), []);
    }
    assert.deepEqual(new MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }).forward(x).shape, [2, 3, 4, 4]);
    assert.deepEqual(new AvgPool2d([2, 3]).forward(x).shape, [2, 3, 3, 2]);
    assert.deepEqual(new Flatten().forward(x).shape, [2, 108]);
    assert.deepEqual(new Flatten(0, 1).forward(x).shape, [6, 6, 6]);
    assert.equal(String(new Conv2d(2, 4, 3, { padding: 1 })), "Conv2d(2, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
    x.dispose();
  });

  it("rejects impossible arguments at construction, and inputs of the wrong shape, naming the layer", () => {
    const cases: [() => unknown, RegExp][] = [
      [() => new Conv2d(0, 4, 3), /^Conv2d: in_channels must be an integer ≥ 1, got 0$/],
      [() => new Conv2d(2, 4.5, 3), /^Conv2d: out_channels must be an integer ≥ 1, got 4.5$/],
      [() => new Conv2d(2, 4, 0), /^Conv2d: kernel_size must be an integer ≥ 1 or a pair of them, got 0$/],
      [() => new Conv2d(3, 4, 3, { groups: 2 }), /^Conv2d: in_channels 3 must be divisible by groups 2$/],
      [() => new Conv2d(4, 3, 3, { groups: 2 }), /^Conv2d: out_channels 3 must be divisible by groups 2$/],
      [() => new Conv2d(2, 4, 3, { padding: "same", stride: 2 }), /^Conv2d: padding "same" needs stride 1 \(as in PyTorch\), got stride \[2, 2\]$/],
      [() => new Conv2d(2, 4, 3, { padding: -1 }), /^Conv2d: padding must be an integer ≥ 0 or a pair of them, got -1$/],
      [() => new Conv2d(2, 4, 3, { paddding: 1 } as never), /^Conv2d: unknown option "paddding"; expected any of stride, padding, dilation, groups, bias, paddingMode, generator$/],
      [() => new Conv2d(2, 4, 3, { paddingMode: "reflect" as "zeros" }), /^Conv2d: padding_mode must be "zeros" \(the only one implemented\), got "reflect"$/],
      [() => new MaxPool2d(2, { padding: 2 }), /^MaxPool2d: padding \(2, 2\) is more than half of kernel_size \(2, 2\); expected padding ≤ kernel_size \/ 2 \(as PyTorch\)$/],
      [() => new MaxPool2d(2, { ceilMode: "yes" as never }), /^MaxPool2d: ceil_mode must be a boolean, got "yes"$/],
      [() => new AvgPool2d(2, { divisorOverride: 0 }), /^AvgPool2d: divisor_override must be an integer ≥ 1, got 0$/],
      [() => new AvgPool2d([2, -1]), /^AvgPool2d: kernel_size must be an integer ≥ 1 or a pair of them, got \[2, -1\]$/],
      [() => new Flatten(1.5), /^Flatten: start_dim must be an integer, got 1.5$/],
    ];
    const before = tf.memory().numTensors;
    for (const [call, message] of cases) assert.throws(call, { message });
    assert.equal(tf.memory().numTensors, before, "a constructor that throws allocates nothing");
    const conv = new Conv2d(2, 4, 3, { padding: 1 });
    const x = tf.zeros([1, 3, 5, 5]);
    assert.throws(() => conv.forward(x), { message: /^Conv2d\(2, 4, kernel_size=\(3, 3\), stride=\(1, 1\), padding=\(1, 1\)\): expected input of shape \[batch, 2, height, width\], got \[1, 3, 5, 5\]$/ });
    tf.dispose(x);
    conv.dispose();
  });
});

function shapeOf(v: Nested): number[] {
  return Array.isArray(v) ? [v.length, ...shapeOf(v[0]!)] : [];
}
