/**
 * LinearF's hand-written backward against tfjs autodiff of the same expression,
 * tf.add(tf.matMul(x, w, false, true), b): gradients of sum(y * u) for a random u, every backend.
 */
import * as tf from "@tensorflow/tfjs";
import { LinearF } from "../../lib/ops/linear";
import { Generator } from "../../lib/random";
import { assertAllClose, BACKENDS, backendTest, linearCases, shapeOf, useBackend } from "./_support";

for (const backend of BACKENDS) {
  Deno.test(backendTest("LinearF backward equals tfjs autodiff", backend, async () => {
    await useBackend(backend);
    const g = new Generator(2);
    for (const c of linearCases(3)) {
      const u = Float32Array.from(g.normalArray(c.batch * c.outFeatures));
      const grads = tf.tidy(() => {
        const x = tf.tensor2d(c.x, [c.batch, c.inFeatures]);
        const w = tf.tensor2d(c.w, [c.outFeatures, c.inFeatures]);
        const b = tf.tensor1d(c.b);
        const ut = tf.tensor2d(u, [c.batch, c.outFeatures]);
        const custom = tf.grads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(LinearF.apply(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D), ut))
        )([x, w, b]);
        const auto = tf.grads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D, false, true), b), ut))
        )([x, w, b]);
        return { custom, auto };
      });
      try {
        const scales = gradientScales(c.x, c.w, u, c.batch, c.inFeatures, c.outFeatures);
        ["x", "weight", "bias"].forEach((name, i) => {
          if (grads.custom[i]!.shape.join() !== grads.auto[i]!.shape.join()) {
            throw new Error(`d${name} ${shapeOf(c)}: shape [${grads.custom[i]!.shape}], autodiff gives [${grads.auto[i]!.shape}]`);
          }
        });
        for (const [i, name] of ["x", "weight", "bias"].entries()) {
          assertAllClose(`d${name} ${shapeOf(c)}`, await grads.custom[i]!.data(), await grads.auto[i]!.data(), scales[i]!);
        }
      } finally {
        tf.dispose([...grads.custom, ...grads.auto]);
      }
    }
  }));
}

/** Σ of |terms| of each gradient entry (dX = U·W, dW = Uᵀ·X, db = Σ_batch U): what its rounding is relative to. */
function gradientScales(x: Float32Array, w: Float32Array, u: Float32Array, n: number, k: number, m: number): Float64Array[] {
  const dx = new Float64Array(n * k);
  const dw = new Float64Array(m * k);
  const db = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < m; o++) {
      const uo = Math.abs(u[i * m + o]!);
      db[o]! += uo;
      for (let j = 0; j < k; j++) {
        dx[i * k + j]! += uo * Math.abs(w[o * k + j]!);
        dw[o * k + j]! += uo * Math.abs(x[i * k + j]!);
      }
    }
  }
  return [dx, dw, db];
}
