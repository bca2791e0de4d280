/**
 * One training step — zeroGrad, forward, loss, backward(), Adam step — of an
 * MLP 2-16-1 (batch 32, MSELoss), an MLP 64-256-256-10 (batch 32 and 256, CrossEntropyLoss) and
 * a LeNet-5-size conv net (batch 32, [B, 1, 28, 28], CrossEntropyLoss), with gradlab's modules on
 * tfjs's cpu and wasm backends, side by side with PyTorch (test/bench/train_step_torch.py, the
 * same models, float32, CPU) in one run.
 *
 *   npx tsx test/bench/train_step.ts [--backends cpu,wasm] [--steps 200] [--runs 5] [--warmup 50] [--only "lenet b32"] [--no-torch]
 *
 * Each cell: --warmup untimed steps (V8 and tfjs warm up), then --runs runs of --steps steps; the
 * cell is the median µs per step (a cell whose first step takes over 300 ms: 3 steps, once). cpu
 * and wasm compute synchronously, and each run ends by reading a parameter back, so every step's
 * work is inside the time. PyTorch is run for each row just before gradlab's cells of that row, so
 * on a shared machine both see about the same load. The tensor count must not grow.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { backward } from "../../lib/autograd/backward";
import { setBackend, type BackendChoice } from "../../lib/backend";
import * as gl from "../../lib/mod";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
};
const BACKENDS = arg("backends", "cpu,wasm").split(",") as BackendChoice[];
const STEPS = Number(arg("steps", "200"));
const RUNS = Number(arg("runs", "5"));
const WARMUP = Number(arg("warmup", "50"));
const ONLY = arg("only", "");

interface Case {
  model: () => gl.Module;
  input: number[];
  loss: "mse" | "ce";
}
const mlp = (...sizes: number[]) => () => new gl.Sequential(...sizes.slice(1).flatMap((n, i) => [new gl.Linear(sizes[i]!, n), ...(i < sizes.length - 2 ? [new gl.ReLU()] : [])]));
const lenet = () =>
  new gl.Sequential(
    new gl.Conv2d(1, 6, 5, { padding: 2 }), new gl.ReLU(), new gl.MaxPool2d(2),
    new gl.Conv2d(6, 16, 5), new gl.ReLU(), new gl.MaxPool2d(2),
    new gl.Flatten(), new gl.Linear(400, 120), new gl.ReLU(), new gl.Linear(120, 84), new gl.ReLU(), new gl.Linear(84, 10),
  );
const CASES: Record<string, Case> = {
  "mlp-2-16-1 b32": { model: mlp(2, 16, 1), input: [32, 2], loss: "mse" },
  "mlp-64-256-256-10 b32": { model: mlp(64, 256, 256, 10), input: [32, 64], loss: "ce" },
  "mlp-64-256-256-10 b256": { model: mlp(64, 256, 256, 10), input: [256, 64], loss: "ce" },
  "lenet b32": { model: lenet, input: [32, 1, 28, 28], loss: "ce" },
};
const names = Object.keys(CASES).filter((n) => !ONLY || ONLY.split(",").includes(n));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** A cell whose first step takes longer than this is timed over 3 steps, once (LeNet on cpu: seconds per step). */
const SLOW_STEP_MS = 300;

function time(c: Case): { us: number; leaked: number; steps: number } {
  const model = c.model();
  const x = tf.randomNormal(c.input);
  const y = c.loss === "mse" ? tf.randomNormal([c.input[0]!, 1]) : tf.randomUniformInt([c.input[0]!], 0, 10);
  const criterion = c.loss === "mse" ? new gl.MSELoss() : new gl.CrossEntropyLoss();
  const params = model.parameters();
  const opt = new gl.Adam(params, { lr: 1e-3 });
  const step = () => {
    opt.zeroGrad();
    backward(() => criterion.forward(model.forward(x), y), params).dispose();
    opt.step();
  };
  const t0 = performance.now();
  step();
  params[0]!.value.dataSync();
  const slow = performance.now() - t0 > SLOW_STEP_MS;
  const [warmup, runCount, steps] = slow ? [1, 1, 3] : [WARMUP, RUNS, STEPS];
  for (let i = 1; i < warmup; i++) step();
  params[0]!.value.dataSync();
  const before = tf.memory().numTensors;
  const runs: number[] = [];
  for (let r = 0; r < runCount; r++) {
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) step();
    params[0]!.value.dataSync();
    runs.push(((performance.now() - t0) / steps) * 1000);
  }
  const leaked = tf.memory().numTensors - before;
  opt.zeroGrad();
  opt.dispose();
  model.dispose();
  tf.dispose([x, y]);
  return { us: median(runs), leaked, steps: steps * runCount };
}

/** PyTorch's median µs per step for one case, or why there is none. Run right before gradlab's cells of the same case, so both see the same machine load. */
function torchTime(name: string): number | string {
  if (process.argv.includes("--no-torch")) return "not run";
  const script = join(dirname(fileURLToPath(import.meta.url)), "train_step_torch.py");
  const r = spawnSync("/usr/bin/python3", [script, "--steps", String(STEPS), "--runs", String(RUNS), "--warmup", String(WARMUP), "--only", name], { encoding: "utf8" });
  if (r.status !== 0) return `failed: ${r.stderr.slice(-200)}`;
  const out = JSON.parse(r.stdout) as { threads: number; results: Record<string, { median_us: number }> };
  torchThreads = out.threads;
  return out.results[name]!.median_us;
}
let torchThreads = 0;

const torch: Record<string, number | string> = {};
const ours: Record<string, Record<string, { us: number; leaked: number; steps: number } | string>> = {};
for (const name of names) {
  torch[name] = torchTime(name);
  for (const backend of BACKENDS) {
    await setBackend(backend);
    try {
      (ours[name] ??= {})[backend] = time(CASES[name]!);
    } catch (error) {
      (ours[name] ??= {})[backend] = `failed: ${(error as Error).message.slice(0, 80)}`;
    }
  }
}
const fmt = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(0)} µs`);
const rows: string[][] = [];
for (const name of names) {
  const tv = torch[name];
  const t = typeof tv === "number" ? tv : null;
  const cells = BACKENDS.map((b) => {
    const v = ours[name]![b]!;
    if (typeof v === "string") return v;
    return `${fmt(v.us)}${t ? ` (${(v.us / t).toFixed(2)}×)` : ""}${v.steps < STEPS ? ` [${v.steps} steps]` : ""}${v.leaked ? `, LEAKED ${v.leaked}` : ""}`;
  });
  rows.push([name, t ? fmt(t) : String(torch[name]), ...cells]);
}
const header = ["training step", "PyTorch 1.13 (CPU)", ...BACKENDS.map((b) => `gradlab ${b} (× PyTorch)`)];
console.log(`| ${header.join(" | ")} |\n|${header.map(() => "---").join("|")}|\n${rows.map((r) => `| ${r.join(" | ")} |`).join("\n")}`);
console.log(`\n${WARMUP} warm-up steps, then ${RUNS} runs of ${STEPS} steps; medians. Adam(lr 1e-3). PyTorch: ${torchThreads} thread(s), run just before gradlab's cells of each row.`);
