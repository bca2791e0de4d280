/**
 * gradcheck's verdict at every input scale: each battery function (test/support/gradcheck_battery.ts)
 * at 1e-7, 1e-4, 1e-2, 1 and 1e3, correct and with each subtle mistake. A correct backward must
 * pass; a mistaken one must fail wherever the mistake really changes the gradient (by ≥ 0.1% of
 * its largest entry, judged against tfjs's autodiff, and by more than float32 can resolve).
 */
import assert from "node:assert/strict";
import { before, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../lib/backend";
import { gradcheck } from "../lib/gradcheck/gradcheck";
import { formatGradcheckReport } from "../lib/gradcheck/report";
import { BATTERY, changesGradient, inputsAt } from "./support/gradcheck_battery";

before(async () => {
  await setBackend("cpu");
});

it(`has at least 40 functions: ${BATTERY.length}`, () => {
  assert.ok(BATTERY.length >= 40);
  assert.ok(new Set(BATTERY.map((b) => b.family)).size >= 10);
});

const families = [...new Set(BATTERY.map((b) => b.family))];
for (const family of families) {
  it(`${family}: right verdict for the correct backward and every mistake, at every scale`, () => {
    const wrong: string[] = [];
    let caught = 0;
    for (const b of BATTERY.filter((x) => x.family === family)) {
      for (const scale of b.scales) {
        const xs = inputsAt(b.shapes, scale, 100);
        const report = gradcheck(b.op, xs);
        if (b.variant === "correct") {
          if (!report.passed) wrong.push(`correct backward failed at ${scale}:\n${formatGradcheckReport(report)}`);
        } else if (changesGradient(b, xs, 7)) {
          if (report.passed) wrong.push(`"${b.variant}" passed at ${scale}:\n${formatGradcheckReport(report)}`);
          else caught++;
        }
        tf.dispose(xs);
      }
    }
    assert.deepEqual(wrong, []);
    // Every mistake changes the gradient at some scale at least, so some must have been caught.
    assert.ok(caught >= BATTERY.filter((x) => x.family === family && x.variant !== "correct").length, `only ${caught} caught`);
  });
}
