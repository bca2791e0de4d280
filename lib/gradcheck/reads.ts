/**
 * gradcheck's computations, written once for both ways of reading a tensor's values back.
 *
 * tfjs reads synchronously (dataSync) on cpu, wasm and tfjs-node, and on webgpu only in a browser
 * (tfjs-backend-webgpu's sync read goes through OffscreenCanvas, which Node and Deno lack); it
 * reads asynchronously (data()) everywhere. So each step that needs values is a generator that
 * yields the tensors it wants read and is resumed with their float32 values: runSync drives it
 * with dataSync, runAsync with data(), and the arithmetic between reads is shared.
 */
import * as tf from "@tensorflow/tfjs";

/** A computation that yields tensors to read and receives their values, in the same order. */
export type Reads<T> = Generator<readonly tf.Tensor[], T, Float32Array[]>;

export function runSync<T>(steps: Reads<T>): T {
  let next = steps.next(undefined as unknown as Float32Array[]);
  while (!next.done) {
    let values: Float32Array[];
    try {
      values = (next.value as readonly tf.Tensor[]).map((t) => t.dataSync() as Float32Array);
    } catch (error) {
      next = steps.throw(error);
      continue;
    }
    next = steps.next(values);
  }
  return next.value as T;
}

export async function runAsync<T>(steps: Reads<T>): Promise<T> {
  let next = steps.next(undefined as unknown as Float32Array[]);
  while (!next.done) {
    let values: Float32Array[];
    try {
      values = (await Promise.all((next.value as readonly tf.Tensor[]).map((t) => t.data()))) as Float32Array[];
    } catch (error) {
      next = steps.throw(error);
      continue;
    }
    next = steps.next(values);
  }
  return next.value as T;
}
