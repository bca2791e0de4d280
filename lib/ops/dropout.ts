/**
 * dropout(x, p, training): in training, each element is kept with probability 1 − p and scaled by
 * 1/(1 − p) (torch's inverted dropout: noise = bernoulli(1 − p) / (1 − p), y = x·noise), else 0;
 * in evaluation, y = x. Backward multiplies dy by the same saved noise.
 *
 * The mask comes from gradlab's seeded Generator (lib/random.ts), drawn on the host: the op takes
 * a seed as an attribute, so one call's mask is a pure function of it (gradcheck re-runs forward
 * and sees the same mask). Masks follow the same law as torch's but cannot match them bit for
 * bit: torch draws from its own Philox/MT19937 streams. On cpu, and on wasm for small tensors, the
 * mask is drawn straight into a tensor's storage and forward and backward are one loop each.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import type { SymbolicGraph, SymbolicValue } from "../onnx/symbolic";
import { hostBackendFor, tensorFromInfo } from "../host/host_tensors";
import { defaultGenerator, Generator } from "../random";
import { checkBoolean, checkFloatTensor, checkOptions } from "./argument_checks";

/** Host loops on wasm up to this many elements (measured crossover with an upload and a Mul kernel: 1024 to 2048). */
const WASM_HOST_LIMIT = 1024;

export const DropoutF = defineFunction<[tf.Tensor, number, boolean, number]>({
  name: "Dropout",
  inputNames: ["input", "p", "training", "seed"],
  forward(ctx, x, p, training, seed) {
    if (!training || p === 0) return x;
    if (p === 1) return tf.zerosLike(x);
    const host = hostBackendFor(x.size, WASM_HOST_LIMIT);
    if (!host) {
      const noise = tf.tensor(dropoutNoise(x.size, p, seed), x.shape);
      ctx.saveForBackward(noise);
      return tf.mul(x, noise);
    }
    // The mask is drawn straight into a tensor's storage (no upload), and y = x·noise in the same pass.
    const [noiseInfo, info] = [host.alloc(x.shape), host.alloc(x.shape)];
    const [noise, xs, ys] = [dropoutNoise(x.size, p, seed, host.f32(noiseInfo)), host.f32(x), host.f32(info)];
    for (let i = 0; i < xs.length; i++) ys[i] = xs[i]! * noise[i]!;
    ctx.saveForBackward(tensorFromInfo(noiseInfo));
    return tensorFromInfo(info);
  },
  backward(ctx, dy) {
    const [p, training] = [ctx.attrs[1] as number, ctx.attrs[2] as boolean];
    if (!training || p === 0) return dy;
    if (p === 1) return tf.zerosLike(dy);
    const [noise] = ctx.saved as [tf.Tensor];
    const host = hostBackendFor(dy.size, WASM_HOST_LIMIT);
    if (!host) return tf.mul(dy, noise);
    const info = host.alloc(dy.shape);
    const [dys, ns, dx] = [host.f32(dy), host.f32(noise), host.f32(info)];
    for (let i = 0; i < dys.length; i++) dx[i] = dys[i]! * ns[i]!;
    return tensorFromInfo(info);
  },
  symbolic: (g, x, p, training) => dropoutOnnx(g, x, p, training),
  lower: (g, x, p, training) => dropoutOnnx(g, x, p, training),
});

/** 1/(1 − p) with probability 1 − p, else 0; a uniform draw u keeps its element when u ≥ p. Written into `out`. */
export function dropoutNoise(n: number, p: number, seed: number, out: Float32Array = new Float32Array(n)): Float32Array {
  const uniforms = new Generator(seed).fillUniform(new Float64Array(n));
  const scale = Math.fround(1 / (1 - p));
  // scale·[u ≥ p], without a branch: a random mask mispredicts one a third of the time or more.
  for (let i = 0; i < n; i++) out[i] = scale * +(uniforms[i]! >= p);
  return out;
}

/** Evaluation: Identity. Training: ONNX's Dropout in training mode (its own random mask). */
function dropoutOnnx(g: SymbolicGraph, x: SymbolicValue, p: number, training: boolean): SymbolicValue {
  if (!training || p === 0) return g.op("Identity", x);
  const ratio = g.op("Constant", { value_float_f: p });
  const mode = g.op("Cast", g.op("Constant", { value_int_i: 1 }), { to_i: 9 });
  return g.op("Dropout", x, ratio, mode);
}

export interface DropoutOptions {
  /** Where the masks come from (default: gradlab's default generator, seeded by manualSeed). */
  generator?: Generator;
}

/** torch.nn.functional.dropout(input, p=0.5, training=True). */
export function dropout(input: tf.Tensor, p = 0.5, training = true, options: DropoutOptions = {}): tf.Tensor {
  checkFloatTensor("dropout", "input", input);
  checkDropoutProbability("dropout", p);
  checkBoolean("dropout", "training", training);
  checkOptions("dropout", options, ["generator"]);
  const generator = options.generator ?? defaultGenerator;
  if (!(generator instanceof Generator)) throw new TypeError(`dropout: generator must be a gradlab Generator, got ${typeof generator}`);
  // One draw from the caller's stream per masked call: successive calls get different masks, and
  // re-seeding the generator replays them.
  const seed = training && p > 0 && p < 1 ? generator.nextUint32() : 0;
  return DropoutF.apply(input, p, training, seed);
}

/** torch's own check and words. */
export function checkDropoutProbability(op: string, p: unknown): number {
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) throw new RangeError(`${op}: dropout probability has to be between 0 and 1, but got ${String(p)}`);
  return p;
}
