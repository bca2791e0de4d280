/** The seed's training (300 steps, seed 0) converges on every backend: y = 2·x1 + 3·x2 + 4. */
import { runSeedExperiment } from "../../lib/experiments/seed";
import { setWarningHandler } from "../../lib/warnings";
import { BACKENDS, backendTest, mean, useBackend } from "./_support";

for (const backend of BACKENDS) {
  Deno.test(backendTest("seed training converges to w = [2, 3], b = 4", backend, async () => {
    await useBackend(backend);
    // The seed's [1] vs [1, 1] loss warning is expected; keep it out of the test report.
    const previous = setWarningHandler(() => {});
    const result = await runSeedExperiment({ steps: 300, seed: 0 }).finally(() => setWarningHandler(previous));
    result.model.dispose();
    if (result.backend !== backend) throw new Error(`trained on ${result.backend}, expected ${backend}`);
    if (result.losses.length !== 300) throw new Error(`${result.losses.length} losses, expected 300`);
    const first = mean(result.losses.slice(0, 50));
    const last = mean(result.losses.slice(-50));
    if (!(last < first / 100)) throw new Error(`loss did not go down enough: mean of first 50 ${first}, of last 50 ${last}`);
    const [w1, w2] = result.weight[0]!;
    const [b] = result.bias;
    const off = [Math.abs(w1! - 2), Math.abs(w2! - 3), Math.abs(b! - 4)];
    if (!off.every((d) => d < 0.1)) {
      throw new Error(`weights ${JSON.stringify(result.weight)}, bias ${JSON.stringify(result.bias)}; expected within 0.1 of [[2, 3]], [4]`);
    }
  }));
}
