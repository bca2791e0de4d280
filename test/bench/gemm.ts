/**
 * Benchmark of gradlab's host sgemm (lib/host/gemm) against the matrix products it replaces, in
 * GFLOP/s (2·m·k·n flops) at each m×k×n, for each transpose combination NN, NT, TN, TT (op(A) = A
 * or Aᵀ, op(B) = B or Bᵀ):
 *   gradlab sgemm   lib/host/gemm/sgemm.ts as callers use it: operands copied in, C copied out
 *   tfjs wasm       tf.matMul on tfjs-backend-wasm (XNNPACK without transposes)
 *   tfjs cpu        tf.matMul on tfjs-backend-cpu (plain JavaScript)
 *   pytorch         torch.matmul on one thread (test/bench/gemm_torch.py), when python3 imports torch
 *
 *   npx tsx test/bench/gemm.ts [--sizes 32x2x16,256x256x256] [--max-seconds 1.5] [--impls sgemm,wasm,cpu,torch] [--json]
 *
 * Each cell: one call, then calls for a quarter of --max-seconds (V8 tiers WebAssembly and
 * JavaScript up as they run), then batches of about 20 ms for the rest, the four combinations of
 * one implementation taking turns; the median batch's time per call. A cell whose first call takes
 * longer than the budget is timed by one more call. The machine's load average is printed with
 * the table: on a shared machine the numbers are only as good as it is idle.
 */
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../../lib/backend";
import { parseArgs, usage, UsageError, type OptionSpec } from "../../lib/cli/args";
import { gemmAvailable, sgemm } from "../../lib/host/gemm/sgemm";
import { Generator } from "../../lib/random";

const OPTIONS = {
  sizes: { kind: "string", help: "comma-separated MxKxN (default 32x2x16,32x64x256,256x64x256,256x256x256,1024x1024x1024)" },
  impls: { kind: "string", help: "comma-separated sgemm,wasm,cpu,torch (default all; torch only where python3 imports it)" },
  "max-seconds": { kind: "number", help: "time budget per cell (default 1.5)" },
  json: { kind: "boolean", help: "print one line of JSON instead of the table" },
  help: { kind: "boolean", help: "show this help" },
} satisfies OptionSpec;

const DEFAULT_SIZES = "32x2x16,32x64x256,256x64x256,256x256x256,1024x1024x1024";
const IMPLS = ["sgemm", "wasm", "cpu", "torch"] as const;
type Impl = (typeof IMPLS)[number];
const IMPL_LABELS: Record<Impl, string> = { sgemm: "gradlab sgemm", wasm: "tfjs wasm", cpu: "tfjs cpu", torch: "pytorch 1 thread" };
const COMBOS = ["NN", "NT", "TN", "TT"] as const;
type Combo = (typeof COMBOS)[number];

interface Size {
  label: string;
  m: number;
  k: number;
  n: number;
}

interface Row {
  size: string;
  impl: string;
  combo: Combo;
  us: number;
  gflops: number;
  calls: number;
}

function parseSizes(text: string): Size[] {
  return text.split(",").map((raw) => {
    const parts = raw.trim().toLowerCase().split("x").map(Number);
    if (parts.length !== 3 || !parts.every((v) => Number.isInteger(v) && v >= 1)) throw new UsageError(`--sizes: ${JSON.stringify(raw)} is not MxKxN`);
    const [m, k, n] = parts as [number, number, number];
    return { label: `${m}x${k}x${n}`, m, k, n };
  });
}

/**
 * Median µs per call of each of `runs` (see the file's comment), and how many calls were timed.
 * After each warms up, the batches interleave, one per run per round, so that a burst of load
 * from elsewhere on a shared machine falls on all of them rather than on one.
 */
function timeCalls(runs: (() => void)[], budgetS: number): { us: number; calls: number }[] {
  const budgetMs = (budgetS * 1000) / runs.length;
  const batches = runs.map((run) => {
    const t0 = performance.now();
    run();
    if (performance.now() - t0 >= budgetMs) return 0;
    let calls = 1;
    while (performance.now() - t0 < budgetMs / 4) {
      run();
      calls++;
    }
    return Math.max(1, Math.round(20 / ((performance.now() - t0) / calls)));
  });
  const times: number[][] = runs.map(() => []);
  const firsts: number[] = runs.map(() => 0);
  runs.forEach((run, i) => {
    if (batches[i] !== 0) return;
    // Longer than the budget: one more call is the cell's only timing.
    const t = performance.now();
    run();
    firsts[i] = performance.now() - t;
  });
  const stop = performance.now() + (budgetS * 1000 * 3) / 4;
  for (let round = 0; round < 3 || (performance.now() < stop && round < 50); round++) {
    runs.forEach((run, i) => {
      const batch = batches[i]!;
      if (batch === 0) return;
      const t = performance.now();
      for (let j = 0; j < batch; j++) run();
      times[i]!.push((performance.now() - t) / batch);
    });
    if (batches.every((b) => b === 0)) break;
  }
  return runs.map((_, i) => {
    if (batches[i] === 0) return { us: firsts[i]! * 1000, calls: 1 };
    const sorted = times[i]!.sort((x, y) => x - y);
    return { us: sorted[sorted.length >> 1]! * 1000, calls: batches[i]! * sorted.length };
  });
}

function row(size: Size, impl: Impl, combo: Combo, t: { us: number; calls: number }): Row {
  return { size: size.label, impl: IMPL_LABELS[impl], combo, us: t.us, gflops: (2 * size.m * size.k * size.n) / t.us / 1000, calls: t.calls };
}

function timeSgemm(size: Size, budgetS: number): Row[] {
  const g = new Generator(1);
  const { m, k, n } = size;
  const a = g.uniformArray(m * k, -1, 1), b = g.uniformArray(k * n, -1, 1), c = new Float32Array(m * n);
  const runs = COMBOS.map((combo) => {
    const transA = combo[0] === "T", transB = combo[1] === "T";
    return () => sgemm({ m, n, k, a, transA, b, transB, c });
  });
  return timeCalls(runs, budgetS * COMBOS.length).map((t, i) => row(size, "sgemm", COMBOS[i]!, t));
}

/** The tfjs backends as setBackend described them (threads, SIMD), for the table's notes. */
const devices = new Map<string, string>();

async function timeTfjs(backend: "wasm" | "cpu", size: Size, budgetS: number): Promise<Row[]> {
  const started = await setBackend(backend);
  devices.set(IMPL_LABELS[backend], started.device);
  const g = new Generator(1);
  const { m, k, n } = size;
  const operands = COMBOS.map((combo) => {
    const transA = combo[0] === "T", transB = combo[1] === "T";
    const a = tf.tensor2d(g.uniformArray(m * k, -1, 1), transA ? [k, m] : [m, k]);
    const b = tf.tensor2d(g.uniformArray(k * n, -1, 1), transB ? [n, k] : [k, n]);
    return { a, b, transA, transB };
  });
  // Both host backends compute inside matMul; disposing the result keeps memory flat.
  const runs = operands.map(({ a, b, transA, transB }) => () => tf.matMul(a, b, transA, transB).dispose());
  const times = timeCalls(runs, budgetS * COMBOS.length);
  tf.dispose(operands.flatMap(({ a, b }) => [a, b]));
  return times.map((t, i) => row(size, backend, COMBOS[i]!, t));
}

function timeTorch(sizes: Size[], budgetS: number): Row[] | string {
  const script = join(dirname(fileURLToPath(import.meta.url)), "gemm_torch.py");
  for (const python of ["python3", "/usr/bin/python3"]) {
    const probe = spawnSync(python, ["-c", "import torch"], { encoding: "utf8" });
    if (probe.error || probe.status !== 0) continue;
    const child = spawnSync(python, [script, "--sizes", sizes.map((s) => s.label).join(","), "--max-seconds", String(budgetS)], { encoding: "utf8", timeout: 3_600_000 });
    if (child.status !== 0) return `gemm_torch.py failed (exit ${child.status}): ${(child.stderr ?? "").trim().split("\n").pop()}`;
    const r = JSON.parse(child.stdout.trim().split("\n").pop()!) as { torch: string; threads: number; rows: { size: string; combo: Combo; us: number; calls: number }[] };
    return r.rows.map((x) => row(sizes.find((s) => s.label === x.size)!, "torch", x.combo, x));
  }
  return 'no python3 here imports torch (python3 -c "import torch" fails)';
}

/** Three significant digits, no exponent. */
function num(v: number): string {
  return v >= 1000 ? v.toFixed(0) : v >= 0.001 ? String(Number(v.toPrecision(3))) : v.toExponential(2);
}

function duration(us: number): string {
  return us >= 1000 ? `${num(us / 1000)} ms` : `${num(us)} µs`;
}

/** One line per size and implementation; per combination, GFLOP/s and the time per call. */
function table(rows: Row[]): string {
  const header = ["M×K×N", "impl", ...COMBOS.map((c) => `${c} GFLOP/s (time)`)];
  const lines = new Map<string, string[]>();
  for (const r of rows) {
    const key = `${r.size}\0${r.impl}`;
    if (!lines.has(key)) lines.set(key, [r.size, r.impl, ...COMBOS.map(() => "—")]);
    lines.get(key)![2 + COMBOS.indexOf(r.combo)] = `${num(r.gflops)} (${duration(r.us)})`;
  }
  const body = [...lines.values()];
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(fmt)].join("\n");
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, OPTIONS);
  if (args.help) {
    console.log(usage("npx tsx test/bench/gemm.ts", OPTIONS));
    return 0;
  }
  const sizes = parseSizes(args.sizes ?? DEFAULT_SIZES);
  const impls = (args.impls ?? IMPLS.join(",")).split(",").map((s) => s.trim());
  for (const impl of impls) if (!(IMPLS as readonly string[]).includes(impl)) throw new UsageError(`--impls: unknown ${JSON.stringify(impl)}; known: ${IMPLS.join(", ")}`);
  const budget = args["max-seconds"] ?? 1.5;
  if (!(budget > 0)) throw new UsageError("--max-seconds must be positive");
  const log = (s: string) => args.json || console.error(s);
  const loadBefore = loadavg();
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const size of sizes) {
    log(`${size.label}…`);
    if (impls.includes("sgemm")) {
      if (gemmAvailable()) rows.push(...timeSgemm(size, budget));
      else notes.push("gradlab sgemm: this engine lacks WebAssembly SIMD");
    }
    if (impls.includes("wasm")) rows.push(...(await timeTfjs("wasm", size, budget)));
    if (impls.includes("cpu")) rows.push(...(await timeTfjs("cpu", size, budget)));
  }
  if (impls.includes("torch")) {
    log("pytorch (test/bench/gemm_torch.py)…");
    const r = timeTorch(sizes, budget);
    if (typeof r === "string") notes.push(`pytorch: ${r}`);
    else rows.push(...r);
  }
  const load = { before: loadBefore, after: loadavg() };
  for (const [impl, device] of devices) notes.push(`${impl}: ${device}`);
  if (args.json) {
    console.log(JSON.stringify({ sizes: sizes.map((s) => s.label), maxSeconds: budget, load, rows, notes }));
    return 0;
  }
  const order = (r: Row) => sizes.findIndex((s) => s.label === r.size) * 10 + Object.values(IMPL_LABELS).indexOf(r.impl);
  console.log(`\nmatrix products, float32, 2·M·K·N flops; median time per call over --max-seconds ${budget} per cell`);
  console.log(`load average (1, 5, 15 min): ${load.before.map((v) => v.toFixed(2)).join(", ")} before, ${load.after.map((v) => v.toFixed(2)).join(", ")} after\n`);
  console.log(table([...rows].sort((a, b) => order(a) - order(b))));
  for (const n of notes) console.log(n);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`bench: ${error instanceof UsageError ? error.message : (error as Error)?.stack ?? String(error)}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
