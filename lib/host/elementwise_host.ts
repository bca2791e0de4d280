/**
 * Element-wise maps on host storage (cpu, wasm): one loop and one allocation instead of one tfjs
 * kernel per operation (relu's backward, dy·step(y), is two).
 */
import type * as tf from "@tensorflow/tfjs";
import { tensorFromInfo, type HostBackend } from "./host_tensors";

/** A float32 tensor the loops take, on a host backend. */
export function hostFloat(host: HostBackend | null, ...tensors: tf.Tensor[]): host is HostBackend {
  return host !== null && tensors.every((t) => t.dtype === "float32");
}

/** out[i] = fn(a[i]) for a float32 tensor. */
export function mapHost(host: HostBackend, a: tf.Tensor, fn: (x: number) => number): tf.Tensor {
  const info = host.alloc(a.shape);
  const x = host.f32(a);
  const out = host.f32(info);
  for (let i = 0; i < out.length; i++) out[i] = fn(x[i]!);
  return tensorFromInfo(info);
}

/** out[i] = fn(a[i], b[i]) for two float32 tensors of one shape. */
export function zipHost(host: HostBackend, a: tf.Tensor, b: tf.Tensor, fn: (x: number, y: number) => number): tf.Tensor {
  const info = host.alloc(a.shape);
  const x = host.f32(a);
  const y = host.f32(b);
  const out = host.f32(info);
  for (let i = 0; i < out.length; i++) out[i] = fn(x[i]!, y[i]!);
  return tensorFromInfo(info);
}
