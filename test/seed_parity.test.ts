/**
 * The seed's whole training against PyTorch: same initial weights, same 300 inputs
 * (test/fixtures/seed_reference.json, made by Debian's torch 1.13 in float64); gradlab in float32.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { runSeedExperiment } from "../lib/experiments/seed";
import { samplesFromJson } from "../lib/experiments/seed_data";
import { assertClose } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";
import { captureWarnings } from "./support/capture_warnings";
import { SEED_LOSS_ATOL, SEED_LOSS_RTOL, SEED_WEIGHT_ATOL } from "./support/tolerances";

const torch = JSON.parse(readFileSync(new URL("./fixtures/seed_reference.json", import.meta.url), "utf8")) as {
  config: { lr: number; momentum: number; weight_decay: number; steps: number };
  initial: { weight: number[][]; bias: number[] };
  inputs: number[][];
  targets: number[];
  losses: number[];
  final: { weight: number[][]; bias: number[] };
  prediction: { y: number[][] };
  warning: string;
};

describeEachBackend("the seed's training against PyTorch", () => {
  it("lands within 5e-5 of PyTorch's weights, with the same loss at every step", async () => {
    const { result, warnings } = await captureWarnings(() =>
      runSeedExperiment({
        init: torch.initial,
        data: samplesFromJson({ x: torch.inputs, y: torch.targets }),
        steps: torch.config.steps,
        lr: torch.config.lr,
        momentum: torch.config.momentum,
        weightDecay: torch.config.weight_decay,
      }),
    );
    assert.equal(result.losses.length, 300);
    assertClose(result.losses, torch.losses, { rtol: SEED_LOSS_RTOL, atol: SEED_LOSS_ATOL }, "losses");
    assertClose(result.weight, torch.final.weight, { atol: SEED_WEIGHT_ATOL }, "final weight");
    assertClose(result.bias, torch.final.bias, { atol: SEED_WEIGHT_ATOL }, "final bias");
    assertClose([result.prediction], torch.prediction.y[0]!, { atol: 10 * SEED_WEIGHT_ATOL }, "y at (3, 2)");
    // The seed's label [1] against the model's [1, 1] warns once, in PyTorch's words (operands
    // in the conventional order: the seed passes them swapped, so its sizes read the other way).
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^Using a target size \(torch\.Size\(\[1\]\)\) that is different to the input size \(torch\.Size\(\[1, 1\]\)\)\. This will likely lead to incorrect results due to broadcasting\./);
    result.model.dispose();
  });
}, { webgpu: true });
