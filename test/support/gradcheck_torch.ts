/**
 * gradlab's gradcheck against torch.autograd.gradcheck on the same battery and the same inputs
 * (test/fixtures/gradcheck_torch_reference.json, written by make_gradcheck_torch_reference.py with
 * Debian's torch in float64): which verdicts are right. A verdict is right when a correct backward
 * passes and a mistaken one fails wherever the mistake changes the gradient (the fixture's
 * `changed`, judged in float64); mistakes that change nothing float32 can resolve are not scored.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { gradcheck } from "../../lib/gradcheck/gradcheck";
import { BATTERY } from "./gradcheck_battery";

interface TorchCase {
  family: string;
  variant: string;
  scale: number;
  shapes: number[][];
  inputs: number[][];
  changed: boolean;
  torch: boolean;
  torch_fast: boolean;
}

export interface Verdicts {
  family: string;
  variant: string;
  scale: number;
  /** Whether the case is scored: a correct backward, or a mistake that changes the gradient. */
  scored: boolean;
  shouldPass: boolean;
  gradlab: boolean;
  torch: boolean;
  torchFast: boolean;
}

export function loadTorchReference(): { torchVersion: string; cases: TorchCase[] } {
  const raw = JSON.parse(readFileSync(fileURLToPath(new URL("../fixtures/gradcheck_torch_reference.json", import.meta.url)), "utf8"));
  return { torchVersion: raw.torch_version, cases: raw.cases };
}

/** gradlab's verdict (cpu backend, float32) next to torch's, for every case of the fixture. */
export function verdicts(): Verdicts[] {
  return loadTorchReference().cases.map((c) => {
    const op = BATTERY.find((b) => b.family === c.family && b.variant === c.variant);
    if (!op) throw new Error(`gradcheck_torch_reference.json has ${c.family} / ${c.variant}, which the battery does not`);
    const xs = c.inputs.map((v, i) => tf.tensor(Float32Array.from(v), c.shapes[i]!));
    const passed = gradcheck(op.op, xs).passed;
    tf.dispose(xs);
    const correct = c.variant === "correct";
    return { family: c.family, variant: c.variant, scale: c.scale, scored: correct || c.changed, shouldPass: correct, gradlab: passed, torch: c.torch, torchFast: c.torch_fast };
  });
}

/** The README's table: per variant, how many scored verdicts each checker got right. */
export function markdownTable(rows: Verdicts[]): string {
  const variants = [...new Set(rows.map((r) => r.variant))];
  const right = (r: Verdicts, passed: boolean) => passed === r.shouldPass;
  const lines = ["| backward | cases | gradlab (float32) | torch gradcheck (float64) | torch, fast_mode |", "|---|---|---|---|---|"];
  const total = [0, 0, 0, 0];
  for (const v of variants) {
    const scored = rows.filter((r) => r.variant === v && r.scored);
    const counts = [scored.length, scored.filter((r) => right(r, r.gradlab)).length, scored.filter((r) => right(r, r.torch)).length, scored.filter((r) => right(r, r.torchFast)).length];
    counts.forEach((n, i) => (total[i]! += n));
    lines.push(`| ${v} | ${counts[0]} | ${counts[1]} right | ${counts[2]} right | ${counts[3]} right |`);
  }
  lines.push(`| **all** | ${total[0]} | ${total[1]} right | ${total[2]} right | ${total[3]} right |`);
  return lines.join("\n");
}

/** The cases a checker gets wrong, as "family / variant @ scale". */
export function wrongFor(rows: Verdicts[], checker: "gradlab" | "torch" | "torchFast"): string[] {
  return rows.filter((r) => r.scored && r[checker] !== r.shouldPass).map((r) => `${r.family} / ${r.variant} @ ${r.scale}`);
}
