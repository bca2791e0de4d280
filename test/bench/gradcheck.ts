/**
 * How long gradcheck takes on the cpu backend: full mode on the seed's op (LinearF, x 4×3 →
 * 2 outputs) and on a 64×64 linear (x, weight 64×64, bias 64: 4096 outputs, 8256 input
 * elements), and projection mode on a 256×256 linear. Medians of --runs runs after one warm-up,
 * in wall-clock time and in this process's CPU time (tfjs's cpu backend runs on one thread, so on
 * a machine shared with other work the CPU time is what the wall time would be on an idle one).
 *
 *   npx tsx test/bench/gradcheck.ts [--runs 3] [--only seed,linear64,linear256] [--json]
 */
import process from "node:process";
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../../lib/backend";
import { gradcheck, type GradcheckOptions } from "../../lib/gradcheck/gradcheck";
import { LinearF } from "../../lib/ops/linear";
import { Generator } from "../../lib/random";

interface Case {
  key: string;
  what: string;
  shape: [number, number, number];
  options: GradcheckOptions;
}

const CASES: Case[] = [
  { key: "seed", what: "full, LinearF 4×3 → 2", shape: [4, 3, 2], options: { mode: "full" } },
  { key: "linear64", what: "full, linear 64×64 → 64", shape: [64, 64, 64], options: { mode: "full" } },
  { key: "linear256", what: "projection, linear 256×256 → 256", shape: [256, 256, 256], options: { mode: "projection" } },
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

await setBackend("cpu");
const runs = Number(arg("runs") ?? 3);
const only = arg("only")?.split(",");
const rows: { key: string; what: string; ms: number[]; median: number; cpuMs: number[]; cpuMedian: number; passed: boolean }[] = [];
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
for (const c of CASES.filter((c) => !only || only.includes(c.key))) {
  const g = new Generator(1);
  const [batch, inF, outF] = c.shape;
  const xs = [tf.tensor2d(Float32Array.from(g.normalArray(batch * inF)), [batch, inF]), tf.tensor2d(Float32Array.from(g.normalArray(outF * inF)), [outF, inF]), tf.tensor1d(Float32Array.from(g.normalArray(outF)))];
  const ms: number[] = [];
  const cpuMs: number[] = [];
  let passed = true;
  for (let r = 0; r <= runs; r++) {
    const start = performance.now();
    const cpu = process.cpuUsage();
    const report = gradcheck(LinearF, xs, c.options);
    const used = process.cpuUsage(cpu);
    if (r > 0) {
      ms.push(performance.now() - start);
      cpuMs.push((used.user + used.system) / 1000);
    }
    passed &&= report.passed;
  }
  tf.dispose(xs);
  rows.push({ key: c.key, what: c.what, ms, median: median(ms), cpuMs, cpuMedian: median(cpuMs), passed });
}
if (process.argv.includes("--json")) console.log(JSON.stringify(rows));
else for (const r of rows) console.log(`${r.what.padEnd(36)} wall ${r.median.toFixed(1).padStart(9)} ms, cpu ${r.cpuMedian.toFixed(1).padStart(9)} ms  (wall runs: ${r.ms.map((m) => m.toFixed(0)).join(", ")}; ${r.passed ? "passed" : "FAILED"})`);
