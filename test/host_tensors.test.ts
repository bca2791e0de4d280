/**
 * lib/host/host_tensors.ts on cpu and wasm: storage views of tensors however they were made (a
 * cast from int32 or bool included, which tfjs-backend-cpu stores in the source's typed array),
 * new tensors from host storage, and the switches the ops consult.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import * as F from "../lib/nn/functional";
import { hostBackend, hostBackendFor, setHostKernels, tensorFromInfo } from "../lib/host/host_tensors";
import { describeEachBackend } from "./support/backends";
import { withHostKernels } from "./support/host_paths";

describeEachBackend("host tensors", (backend) => {
  it("f32 and i32 read every kind of tensor, casts from int32 and bool among them, and writes through f32 change the tensor", () => {
    const host = hostBackend()!;
    assert.equal(host.name, backend);
    const made: [string, tf.Tensor][] = [
      ["cast from int32", tf.cast(tf.tensor([1, 2, 3], [3], "int32"), "float32")],
      ["cast from bool", tf.cast(tf.tensor([1, 0, 1], [3], "bool"), "float32")],
      ["variable", tf.variable(tf.tensor([1, 2, 3]))],
      ["slice", tf.slice(tf.tensor([0, 1, 2, 3]), [1], [3])],
    ];
    for (const [what, t] of made) {
      const expected = Array.from(t.dataSync());
      const view = host.f32(t);
      assert.ok(view instanceof Float32Array, what);
      assert.deepEqual(Array.from(view), expected, what);
      view[0] = 42;
      assert.equal(t.dataSync()[0], 42, `${what}: a write through the view`);
    }
    const ints = [tf.cast(tf.tensor([1, 0], [2], "bool"), "int32"), tf.argMax(tf.tensor([[1, 3], [4, 2]]), 1)];
    assert.deepEqual(ints.map((t) => Array.from(host.i32(t))), [[1, 0], [1, 0]]);
    assert.throws(() => host.f32(ints[0]!), /^TypeError: gradlab host kernels: expected float32 storage, got int32$/);
    tf.dispose([...made.map(([, t]) => t), ...ints]);
  });

  it("the ops take such tensors: crossEntropy of a cast input and a cast target", () => {
    const x = tf.cast(tf.tensor([[1, 2], [3, 4]], [2, 2], "int32"), "float32");
    const t = tf.cast(tf.tensor([0, 1]), "int32");
    const [onHost, generic] = [true, false].map((on) => withHostKernels(on, () => F.crossEntropy(x, t).dataSync()[0]!));
    assert.ok(Math.abs(onHost! - generic!) < 1e-6, `${onHost} vs ${generic}`);
    tf.dispose([x, t]);
  });

  it("alloc + tensorFromInfo make one tracked tensor that dispose frees", () => {
    const host = hostBackend()!;
    const before = tf.memory().numTensors;
    const info = host.alloc([2, 3]);
    host.f32(info).set([1, 2, 3, 4, 5, 6]);
    const t = tensorFromInfo(info);
    assert.deepEqual([t.shape, Array.from(t.dataSync())], [[2, 3], [1, 2, 3, 4, 5, 6]]);
    assert.equal(tf.memory().numTensors, before + 1);
    t.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it("setHostKernels: off gives no host backend; \"any size\" lifts the wasm limits; the previous setting comes back", () => {
    assert.equal(hostBackendFor(10, 100)?.name, backend);
    assert.equal(hostBackendFor(1000, 100)?.name, backend === "cpu" ? "cpu" : undefined);
    const previous = setHostKernels("any size");
    try {
      assert.equal(hostBackendFor(1000, 100)?.name, backend);
      assert.equal(setHostKernels(false), "any size");
      assert.equal(hostBackend(), null);
    } finally {
      setHostKernels(previous);
    }
    assert.equal(hostBackend()?.name, backend);
  });
});
