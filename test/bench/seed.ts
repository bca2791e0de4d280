/**
 * Benchmark of the seed's training loop: PyTorch's reference (test/bench/seed_torch.py, run with
 * /usr/bin/python3) against gradlab's runSeedExperiment on the tfjs "cpu" and "wasm" backends.
 *
 *   npx tsx test/bench/seed.ts [--runs 5] [--steps 300] [--warmup 1] [--backends cpu,wasm] [--no-torch] [--json]
 *
 * Each implementation gets --warmup untimed runs (default one) and then --runs timed runs; the
 * table shows medians. gradlab's per-step cost keeps falling for a few thousand steps while V8
 * optimises tfjs's code, so `--warmup 15` shows the steady state next to the default.
 * gradlab is measured the way it is used: runSeedExperiment(), whose `ms` covers the training loop
 * and the one read-back of all losses at its end (so every step's device work is included). The
 * "total" column is the whole call (model and data set-up, the loop, reading weights back).
 * tf.memory().numTensors is compared before and after every run: a run must leave nothing behind
 * ("leaked"), and in particular nothing that grows with the number of steps.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { setBackend, type BackendChoice } from "../../lib/backend";
import { parseArgs, usage, UsageError, type OptionSpec } from "../../lib/cli/args";
import { runSeedExperiment } from "../../lib/experiments/seed";
import { setWarningHandler } from "../../lib/warnings";

const OPTIONS = {
  runs: { kind: "integer", help: "timed runs per implementation, after the warm-up (default 5)" },
  steps: { kind: "integer", help: "training steps per run (default 300)" },
  warmup: { kind: "integer", help: "untimed runs before the timed ones (default 1)" },
  backends: { kind: "string", help: "comma-separated tfjs backends to time (default cpu,wasm)" },
  "no-torch": { kind: "boolean", help: "skip the PyTorch reference" },
  json: { kind: "boolean", help: "print one line of JSON instead of the table" },
  help: { kind: "boolean", help: "show this help" },
} satisfies OptionSpec;

interface Row {
  impl: string;
  backend: string;
  steps: number;
  runs_ms: number[];
  median_ms: number;
  us_per_step: number;
  /** median_ms / torch's median_ms (null without torch). */
  vs_torch: number | null;
  first_ms: number;
  /** Median wall time of the whole runSeedExperiment call (gradlab only). */
  total_median_ms?: number;
  /** tf.memory().numTensors after minus before, worst run (gradlab only; must be 0). */
  leaked_tensors?: number;
  note?: string;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function runTorch(steps: number, runs: number, warmup: number): Row | string {
  const script = join(dirname(fileURLToPath(import.meta.url)), "seed_torch.py");
  // seed_torch.py always does one warm-up run; extra ones are folded into a longer first call.
  const args = [script, "--steps", String(steps), "--runs", String(runs)];
  if (warmup > 1) args.push("--warmup", String(warmup));
  const child = spawnSync("/usr/bin/python3", args, {
    encoding: "utf8",
    timeout: 300_000,
  });
  if (child.error) return `could not run /usr/bin/python3: ${child.error.message}`;
  if (child.status !== 0) {
    const err = (child.stderr ?? "").trim().split("\n").pop() ?? "";
    return /No module named '?(torch|numpy)/.test(err) ? `torch is not available (${err})` : `seed_torch.py failed (exit ${child.status}): ${err}`;
  }
  const line = child.stdout.trim().split("\n").pop() ?? "";
  try {
    const r = JSON.parse(line) as { torch: string; threads: number; runs_ms: number[]; median_ms: number; first_ms: number };
    return {
      impl: "torch",
      backend: `cpu (torch ${r.torch}, ${r.threads} thread${r.threads === 1 ? "" : "s"}, float64)`,
      steps,
      runs_ms: r.runs_ms,
      median_ms: r.median_ms,
      us_per_step: (r.median_ms / steps) * 1000,
      vs_torch: 1,
      first_ms: r.first_ms,
    };
  } catch {
    return `seed_torch.py printed no JSON: ${JSON.stringify(line)}`;
  }
}

async function runGradlab(backend: BackendChoice, steps: number, runs: number, warmup: number): Promise<Row | string> {
  let device: string;
  try {
    device = (await setBackend(backend)).device;
  } catch (error) {
    return `backend ${backend} unavailable: ${(error as Error).message}`;
  }
  const once = async () => {
    const before = tf.memory().numTensors;
    const t0 = performance.now();
    const result = await runSeedExperiment({ steps });
    const total = performance.now() - t0;
    if (result.losses.length !== steps || !result.losses.every(Number.isFinite)) {
      throw new Error(`${backend}: the run returned ${result.losses.length} losses, or non-finite ones`);
    }
    result.model.dispose();
    return { ms: result.ms, total, leaked: tf.memory().numTensors - before };
  };
  const first = await once();
  let leaked = first.leaked;
  for (let i = 1; i < warmup; i++) leaked = Math.max(leaked, (await once()).leaked);
  const timed = [];
  for (let i = 0; i < runs; i++) timed.push(await once());
  const runsMs = timed.map((t) => t.ms);
  const m = median(runsMs);
  return {
    impl: "gradlab",
    backend: `${backend} (${device})`,
    steps,
    runs_ms: runsMs,
    median_ms: m,
    us_per_step: (m / steps) * 1000,
    vs_torch: null,
    first_ms: first.ms,
    total_median_ms: median(timed.map((t) => t.total)),
    leaked_tensors: Math.max(leaked, ...timed.map((t) => t.leaked)),
  };
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, OPTIONS);
  if (args.help) {
    console.log(usage("test/bench/seed.ts", OPTIONS));
    return 0;
  }
  const runs = args.runs ?? 5;
  const steps = args.steps ?? 300;
  const warmup = args.warmup ?? 1;
  if (runs < 1 || steps < 1 || warmup < 1) throw new UsageError("--runs, --steps and --warmup must be ≥ 1");
  const backends = (args.backends ?? "cpu,wasm").split(",").map((s) => s.trim()).filter(Boolean) as BackendChoice[];
  const log = (s: string) => {
    if (!args.json) console.log(s);
  };
  setWarningHandler(() => {}); // the seed's broadcast warning is expected; keep the table clean

  const rows: Row[] = [];
  const notes: string[] = [];
  let torch: Row | null = null;
  if (!args["no-torch"]) {
    log(`running PyTorch's loop (${warmup} warm-up + ${runs} timed runs of ${steps} steps)…`);
    const r = runTorch(steps, runs, warmup);
    if (typeof r === "string") notes.push(`torch: ${r}; continuing without it`);
    else rows.push((torch = r));
  }
  for (const backend of backends) {
    log(`running gradlab on ${backend} (${warmup} warm-up + ${runs} timed runs of ${steps} steps)…`);
    const r = await runGradlab(backend, steps, runs, warmup);
    if (typeof r === "string") notes.push(`gradlab ${backend}: ${r}`);
    else rows.push(r);
  }
  for (const r of rows) r.vs_torch = torch ? r.median_ms / torch.median_ms : null;
  for (const n of notes) (args.json ? console.error : console.log)(n);

  if (args.json) {
    console.log(JSON.stringify({ steps, runs, warmup, rows, notes }));
  } else {
    const header = ["impl / backend", `median ms (${steps} steps)`, "µs / step", "× torch", "1st run ms", "total ms", "leaked"];
    const body = rows.map((r) => [
      `${r.impl} / ${r.backend}`,
      r.median_ms.toFixed(1),
      r.us_per_step.toFixed(1),
      r.vs_torch === null ? "—" : r.vs_torch.toFixed(2),
      r.first_ms.toFixed(1),
      r.total_median_ms === undefined ? "—" : r.total_median_ms.toFixed(1),
      r.leaked_tensors === undefined ? "—" : String(r.leaked_tensors),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
    const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
    console.log("");
    console.log(fmt(header));
    console.log(widths.map((w) => "-".repeat(w)).join("  "));
    for (const row of body) console.log(fmt(row));
  }
  const leaked = rows.filter((r) => (r.leaked_tensors ?? 0) !== 0);
  if (leaked.length) {
    console.error(`tensors leaked: ${leaked.map((r) => `${r.backend}: ${r.leaked_tensors}`).join(", ")}`);
    return 1;
  }
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  console.error(`bench: ${error instanceof UsageError ? error.message : (error as Error)?.stack ?? String(error)}`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
