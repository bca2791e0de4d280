/** LinearF.apply's forward against X·Wᵀ + b computed on the host in float64, on every backend. */
import * as tf from "@tensorflow/tfjs";
import { LinearF } from "../../lib/ops/linear";
import { assertAllClose, BACKENDS, backendTest, hostLinear, linearCases, shapeOf, useBackend } from "./_support";

for (const backend of BACKENDS) {
  Deno.test(backendTest("LinearF forward equals host float64 X·Wᵀ + b", backend, async () => {
    await useBackend(backend);
    for (const c of linearCases(1)) {
      const y = tf.tidy(() =>
        LinearF.apply(
          tf.tensor2d(c.x, [c.batch, c.inFeatures]),
          tf.tensor2d(c.w, [c.outFeatures, c.inFeatures]),
          tf.tensor1d(c.b),
        )
      );
      const ref = hostLinear(c);
      try {
        if (y.shape.join("×") !== `${c.batch}×${c.outFeatures}`) throw new Error(`${shapeOf(c)}: output shape [${y.shape}]`);
        assertAllClose(`forward ${shapeOf(c)}`, await y.data(), ref.y, ref.scale);
      } finally {
        y.dispose();
      }
    }
  }));
}
