/**
 * gradcheck never fails a correct op: 1000 seeded trials of the battery's correct backwards
 * (test/support/gradcheck_battery.ts), each at a random input scale from 1e-7 to 1e3 (log-uniform,
 * so every decade is covered, not only the five battery scales), on the cpu backend. Every
 * correct backward is first checked against tfjs's autodiff of the same forward, the independent
 * reference, so a "false alarm" here cannot be a wrong backward.
 */
import assert from "node:assert/strict";
import { before, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../lib/backend";
import { gradcheck } from "../lib/gradcheck/gradcheck";
import { formatGradcheckReport } from "../lib/gradcheck/report";
import { Generator } from "../lib/random";
import { BATTERY, changesGradient, inputsAt } from "./support/gradcheck_battery";

const TRIALS = 1000;
const CORRECT = BATTERY.filter((b) => b.variant === "correct");

before(async () => {
  await setBackend("cpu");
});

it("every correct backward in the battery is tfjs's autodiff gradient (the reference the trials rest on)", () => {
  for (const b of CORRECT) {
    for (const scale of b.scales) {
      const xs = inputsAt(b.shapes, scale, 1);
      assert.equal(changesGradient(b, xs, 2), false, `${b.family} at ${scale}`);
      tf.dispose(xs);
    }
  }
});

it(`passes correct ops in ${TRIALS} seeded trials at scales from 1e-7 to 1e3: no false alarm`, () => {
  const g = new Generator(2026);
  const alarms: string[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    const b = CORRECT[trial % CORRECT.length]!;
    const top = Math.log10(b.scales[b.scales.length - 1]!);
    const scale = 10 ** (-7 + (top + 7) * g.uniform());
    const xs = inputsAt(b.shapes, scale, 10_000 + trial);
    const report = gradcheck(b.op, xs, { seed: trial });
    if (!report.passed) alarms.push(`trial ${trial}, ${b.family} at scale ${scale.toExponential(2)}:\n${formatGradcheckReport(report)}`);
    tf.dispose(xs);
  }
  assert.deepEqual(alarms, []);
});
