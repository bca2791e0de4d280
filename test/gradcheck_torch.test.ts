/**
 * gradlab's gradcheck is right where torch.autograd.gradcheck (float64, Debian's torch, recorded
 * in test/fixtures/gradcheck_torch_reference.json) is, and where it is not: torch passes a 0.1%
 * error with its default tolerances, and fast_mode passes mistakes at small scales.
 */
import assert from "node:assert/strict";
import { before, it } from "node:test";
import { setBackend } from "../lib/backend";
import { verdicts, wrongFor, type Verdicts } from "./support/gradcheck_torch";

let rows: Verdicts[];
before(async () => {
  await setBackend("cpu");
  rows = verdicts();
});

it("gradlab's verdict is right on every scored case of the torch comparison", () => {
  assert.ok(rows.filter((r) => r.scored).length >= 200);
  assert.deepEqual(wrongFor(rows, "gradlab"), []);
});

it("torch's own verdicts, as recorded: it passes the 0.1% error; fast_mode passes mistakes at 1e-4", () => {
  const torchWrong = wrongFor(rows, "torch");
  assert.ok(torchWrong.some((w) => w.includes("off by 0.1%")), torchWrong.join("; "));
  assert.ok(wrongFor(rows, "torchFast").some((w) => w.endsWith("@ 0.0001")), wrongFor(rows, "torchFast").join("; "));
});
