/**
 * setBackend("webgpu") by name takes whatever adapter there is, a software one included, and says
 * which; and its tf.addN sums more inputs than one shader can bind (lib/webgpu/add_n.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { addNInputLimit } from "../../lib/webgpu/add_n";
import { ADAPTER, backendTest, useBackend } from "./_support";

Deno.test(backendTest('setBackend("webgpu") uses the adapter navigator.gpu offers', "webgpu", async () => {
  const info = await useBackend("webgpu");
  if (!info.device.includes(ADAPTER.description)) throw new Error(`device ${JSON.stringify(info.device)} does not name the adapter ${ADAPTER.description}`);
  if (/\bsoftware adapter\b/.test(info.device) !== ADAPTER.software) {
    throw new Error(`device ${JSON.stringify(info.device)}: the adapter is ${ADAPTER.software ? "" : "not "}a software one`);
  }
}));

Deno.test(backendTest("tf.addN past the device's storage-buffer limit sums right on Deno's WebGPU too", "webgpu", async () => {
  await useBackend("webgpu");
  const limit = addNInputLimit(tf.backend() as unknown as Parameters<typeof addNInputLimit>[0]);
  for (const count of [limit, limit + 1, 3 * limit + 2]) {
    const xs = Array.from({ length: count }, (_, i) => tf.tensor1d([i + 1, 0.5]));
    const sum = tf.addN(xs);
    const got = Array.from(await sum.data());
    const expected = [(count * (count + 1)) / 2, count / 2];
    tf.dispose([sum, ...xs]);
    if (got.join() !== expected.join()) throw new Error(`${count} inputs (limit ${limit}): got ${got}, expected ${expected}`);
  }
}));
