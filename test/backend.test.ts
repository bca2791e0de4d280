/** Backend selection in Node: what "auto" picks here and why, and clear errors. */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { backendInfo, setBackend, type BackendChoice } from "../lib/backend";

it("auto skips what is not installed or not a real GPU, says why, and lands on wasm here", async () => {
  const logged: string[] = [];
  const info = await setBackend("auto", { log: (m) => logged.push(m) });
  // This machine has neither tfjs-node nor a hardware WebGPU adapter; wasm is always installed.
  assert.equal(info.name, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.match(info.device, /^CPU \(wasm/);
  assert.match(info.skipped.join("\n"), /^tensorflow: neither @tensorflow\/tfjs-node-gpu nor @tensorflow\/tfjs-node is installed$/m);
  assert.match(info.skipped.join("\n"), /^webgpu: /m);
  assert.equal(logged.length, 1);
  assert.match(logged[0]!, /^gradlab: backend wasm on CPU \(wasm.*\(skipped tensorflow: .*webgpu: /);
  assert.deepEqual(backendInfo(), info);
});

it("switches to cpu and back, and reports it", async () => {
  assert.equal((await setBackend("cpu")).name, "cpu");
  assert.equal(tf.getBackend(), "cpu");
  assert.equal((await setBackend("wasm")).name, "wasm");
});

it("names what is missing when a backend is asked for by name", async () => {
  await assert.rejects(setBackend("tensorflow"), /setBackend\("tensorflow"\): no backend could be started: tensorflow: neither @tensorflow\/tfjs-node-gpu nor @tensorflow\/tfjs-node is installed/);
  await assert.rejects(setBackend("gpu" as BackendChoice), /setBackend: unknown backend "gpu"; expected one of auto, tensorflow, webgpu, wasm, cpu/);
  // A failed request leaves the previous backend in place.
  assert.equal(tf.getBackend(), "wasm");
});
