/**
 * Benchmark of the linear layer's training step, forward + backward (y = x·Wᵀ + b, then dX, dW,
 * dB for a given dy: three matrix products, 6·B·M·N flops for B×M×N = batch × in × out), on each
 * tfjs backend, for three implementations on the same backend:
 *   gradlab   LinearF.apply (on webgpu: gradlab's WGSL kernels, lib/webgpu/)
 *   tfjs      LinearF with gradlab's kernels unregistered: the same hand-written backward on
 *             tfjs's own ops (matMul, add, sum); on cpu and wasm this is what gradlab runs anyway
 *   autodiff  tf.grads through tf.add(tf.matMul(x, W, false, true), b): tfjs's autodiff
 * and, with --torch, PyTorch on the same sizes (test/bench/linear_torch.py; CUDA where present).
 *
 *   npx tsx test/bench/linear.ts [--backends webgpu,wasm,cpu] [--sizes 256x256x256,...] [--steps 20]
 *       [--warmup 3] [--max-seconds 30] [--impls gradlab,tfjs,autodiff] [--tile 128x128x8] [--tune]
 *       [--check] [--torch] [--tf32] [--json] [--json-out FILE]
 *   deno task bench [same options]
 *
 * Each cell: --warmup untimed steps (shader compilation, V8 warm-up), then up to --steps timed
 * steps, each from a finished device to a finished device (webgpu: the queue submitted and
 * onSubmittedWorkDone awaited; cpu and wasm compute synchronously); the table shows medians. A
 * cell whose steps would not fit in --max-seconds gets fewer steps (at least 3), and a size
 * projected to take longer than that for one step, or whose tensors exceed the adapter's buffer
 * limits, is skipped with the reason. --check first compares gradlab's kernels with the cpu backend
 * (every tile forced in turn); --tune times every tile at each size. In Node, WebGPU is Dawn: the
 * npm package `webgpu`, or the dawn.node that DAWN_NODE names, with GRADLAB_DAWN_FLAGS
 * (lib/webgpu/navigator_gpu.ts); with no Vulkan adapter, Dawn's OpenGL ES backend on llvmpipe.
 * BENCHMARKS.md has the method, the machines and the numbers.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { setBackend, type BackendChoice } from "../../lib/backend";
import { parseArgs, usage, UsageError, type OptionSpec } from "../../lib/cli/args";
import { LinearF } from "../../lib/ops/linear";
import { Generator } from "../../lib/random";
import { navigatorGpu } from "../../lib/webgpu/navigator_gpu";
import { installSubgroupCapableFactory, subgroupDecision, webgpuDevice, type WebGPUBackendClass } from "../../lib/webgpu/device";
import { isTileName, TILES, type TileName } from "../../lib/webgpu/gemm";
import { setWebGPUKernels, setWebGPUTile, webgpuKernelsEnabled } from "../../lib/webgpu/linear_kernels";
import { webgpuFinish } from "../../lib/webgpu/runner";

const OPTIONS = {
  backends: { kind: "string", help: "comma-separated tfjs backends (default webgpu,wasm,cpu; one that cannot start is reported and skipped)" },
  sizes: { kind: "string", help: "comma-separated BxMxN = batch x in x out (default 256x256x256,1024x1024x1024,4096x1024x1024,8192x4096x4096)" },
  impls: { kind: "string", help: "comma-separated gradlab,tfjs,autodiff (default all three; tfjs only on webgpu, where it differs from gradlab)" },
  steps: { kind: "integer", help: "timed steps per cell, at most (default 20)" },
  warmup: { kind: "integer", help: "untimed steps first (default 3)" },
  "max-seconds": { kind: "number", help: "time budget per cell: fewer steps, or the size skipped (default 30)" },
  tile: { kind: "string", help: `force one tile for gradlab's tiled kernels: ${Object.keys(TILES).join(", ")}` },
  tune: { kind: "boolean", help: "on webgpu, also time gradlab with every tile forced" },
  check: { kind: "boolean", help: "on webgpu, first compare gradlab's kernels with the cpu backend (relative error ≤ 1e-5)" },
  torch: { kind: "boolean", help: "add PyTorch's numbers (python3 with torch; CUDA where present)" },
  tf32: { kind: "boolean", help: "with --torch on CUDA, also PyTorch with TF32" },
  json: { kind: "boolean", help: "print one line of JSON instead of the tables" },
  "json-out": { kind: "string", help: "also write that JSON to this file" },
  help: { kind: "boolean", help: "show this help" },
} satisfies OptionSpec;

type Impl = "gradlab" | "tfjs" | "autodiff";
const DEFAULT_SIZES = "256x256x256,1024x1024x1024,4096x1024x1024,8192x4096x4096";

interface Size {
  label: string;
  batch: number;
  inF: number;
  outF: number;
  flops: number;
}

interface Row {
  size: string;
  impl: string;
  backend: string;
  ms: number | null;
  gflops: number | null;
  steps: number;
  /** ms of tfjs's own ops on the same backend divided by this row's (webgpu). */
  vsTfjs?: number | null;
  note?: string;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function parseSizes(text: string): Size[] {
  return text.split(",").map((raw) => {
    const parts = raw.trim().toLowerCase().split("x").map(Number);
    if (parts.length !== 3 || !parts.every((n) => Number.isInteger(n) && n >= 1)) throw new UsageError(`--sizes: ${JSON.stringify(raw)} is not BxMxN`);
    const [batch, inF, outF] = parts as [number, number, number];
    return { label: `${batch}x${inF}x${outF}`, batch, inF, outF, flops: 6 * batch * inF * outF };
  });
}

/** Why the tensors of a step do not fit the adapter, or null. */
function doesNotFit(s: Size): string | null {
  const device = webgpuDevice();
  if (!device) return null;
  const largest = 4 * Math.max(s.batch * s.inF, s.outF * s.inF, s.batch * s.outF);
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  return largest > limit ? `a ${(largest / 2 ** 20).toFixed(0)} MiB tensor exceeds the adapter's ${(limit / 2 ** 20).toFixed(0)} MiB buffer limit` : null;
}

async function finish(): Promise<void> {
  if (tf.getBackend() === "webgpu") await webgpuFinish(tf.backend());
}

function stepFor(impl: Impl): (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, dy: tf.Tensor) => tf.Tensor[] {
  const f =
    impl === "autodiff"
      ? (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.add(tf.matMul(x, w, false, true), b)
      : (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => LinearF.apply(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D);
  return (x, w, b, dy) => tf.grads(f)([x, w, b], dy);
}

/** One implementation as timed: its label, what runs, and the kernel settings it needs. */
interface Cell {
  label: string;
  impl: Impl;
  tile: TileName | null;
}

/** gradlab's kernels registered (or not, for "tfjs") and the tile forced, for one cell's step. */
function configure(cell: Cell, defaultTile: TileName | null): void {
  setWebGPUKernels(cell.impl !== "tfjs");
  setWebGPUTile(cell.tile ?? defaultTile);
}

/**
 * Median ms per step of each cell at `s`. Each cell warms up on its own; then the timed steps
 * interleave the cells, one step each per round in a rotating order, so no cell is measured only
 * before or only after V8 has optimised the code they share. Steps per cell: as many as fit the
 * budget with every cell stepping, at least 3, at most `steps`.
 */
async function timeSize(cells: Cell[], s: Size, steps: number, warmup: number, budgetS: number, defaultTile: TileName | null): Promise<Map<string, { ms: number; steps: number }>> {
  const g = new Generator(1);
  const make = (n: number) => Float32Array.from(g.normalArray(n));
  const [x, w, b, dy] = [tf.tensor2d(make(s.batch * s.inF), [s.batch, s.inF]), tf.tensor2d(make(s.outF * s.inF), [s.outF, s.inF]), tf.tensor1d(make(s.outF)), tf.tensor2d(make(s.batch * s.outF), [s.batch, s.outF])];
  const once = async (cell: Cell) => {
    configure(cell, defaultTile);
    const step = stepFor(cell.impl);
    await finish();
    const t0 = performance.now();
    const grads = step(x, w, b, dy);
    await finish();
    const ms = performance.now() - t0;
    tf.dispose(grads);
    return ms;
  };
  try {
    const last = new Map<string, number>();
    for (const cell of cells) {
      let ms = 0;
      for (let i = 0; i < warmup; i++) ms = await once(cell);
      last.set(cell.label, ms);
    }
    const round = [...last.values()].reduce((a, v) => a + v, 0);
    const n = Math.max(3, Math.min(steps, Math.floor((budgetS * 1000) / Math.max(round, 1e-3))));
    const times = new Map<string, number[]>(cells.map((c) => [c.label, []]));
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < cells.length; j++) {
        const cell = cells[(r + j) % cells.length]!;
        times.get(cell.label)!.push(await once(cell));
      }
    }
    return new Map(cells.map((c) => [c.label, { ms: median(times.get(c.label)!), steps: n }]));
  } finally {
    setWebGPUKernels(true);
    setWebGPUTile(null);
    tf.dispose([x, w, b, dy]);
  }
}

/** gradlab's kernels against the cpu backend; returns lines to print, throws on a mismatch. */
async function checkAgainstCpu(log: (s: string) => void): Promise<void> {
  const g = new Generator(Date.now() >>> 0);
  const run = async (backend: "cpu" | "webgpu", d: number[], data: Float32Array[]) => {
    await setBackend(backend);
    const [batch, inF, outF] = d as [number, number, number];
    const [x, w, b, dy] = [tf.tensor2d(data[0]!, [batch, inF]), tf.tensor2d(data[1]!, [outF, inF]), tf.tensor1d(data[2]!), tf.tensor2d(data[3]!, [batch, outF])];
    const { value, grads } = tf.valueAndGrads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => LinearF.apply(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D))([x, w, b], dy);
    const out = await Promise.all([value, ...grads].map((t) => t.data()));
    tf.dispose([x, w, b, dy, value, ...grads]);
    return out;
  };
  const cases: [number[], TileName | null][] = [
    ...[[1, 2, 1], [37, 5, 3], [129, 257, 65], [512, 512, 512], [1, 4096, 1000], [3, 1024, 1000], [2, 333, 77]].map((d) => [d, null] as [number[], null]),
    ...(Object.keys(TILES) as TileName[]).flatMap((t) => [[[260, 132, 136], t], [[256, 256, 256], t]] as [number[], TileName][]),
  ];
  let worst = 0;
  for (const [d, tile] of cases) {
    const [batch, inF, outF] = d as [number, number, number];
    const data = [batch * inF, outF * inF, outF, batch * outF].map((n) => Float32Array.from(g.normalArray(n)));
    const expected = await run("cpu", d, data);
    setWebGPUTile(tile);
    const actual = await run("webgpu", d, data);
    setWebGPUTile(null);
    ["y", "dx", "dweight", "dbias"].forEach((name, i) => {
      let num = 0, den = 0;
      for (let j = 0; j < expected[i]!.length; j++) {
        num += (actual[i]![j]! - expected[i]![j]!) ** 2;
        den += expected[i]![j]! ** 2;
      }
      const rel = Math.sqrt(num / den);
      worst = Math.max(worst, Number.isNaN(rel) ? Infinity : rel);
      if (!(rel <= 1e-5)) throw new Error(`check: ${name} ${d.join("x")}${tile ? ` (tile ${tile})` : ""}: relative error ${rel} > 1e-5`);
    });
  }
  log(`check: gradlab's webgpu kernels equal the cpu backend on ${cases.length} cases, worst relative error ${worst.toExponential(2)}`);
}

function runTorch(sizes: Size[], steps: number, warmup: number, budgetS: number, tf32: boolean): { rows: Row[]; notes: string[] } | string {
  // Beside this file; a bundle (no import.meta) runs from the project root, where test/bench is.
  const here = import.meta.url ? dirname(fileURLToPath(import.meta.url)) : join(process.cwd(), "test", "bench");
  const script = join(here, "linear_torch.py");
  const args = [script, "--sizes", sizes.map((s) => s.label).join(","), "--steps", String(steps), "--warmup", String(warmup), "--max-seconds", String(budgetS)];
  if (tf32) args.push("--tf32");
  for (const python of ["python3", "/usr/bin/python3"]) {
    const probe = spawnSync(python, ["-c", "import torch"], { encoding: "utf8" });
    if (probe.error || probe.status !== 0) continue;
    const child = spawnSync(python, args, { encoding: "utf8", timeout: 3_600_000, maxBuffer: 1 << 24 });
    if (child.status !== 0) return `linear_torch.py failed (exit ${child.status}): ${(child.stderr ?? "").trim().split("\n").pop()}`;
    const r = JSON.parse(child.stdout.trim().split("\n").pop()!) as { torch: string; device: string; threads: number; rows: { size: string; precision: string; ms: number; steps: number }[]; notes: string[] };
    const flopsOf = (label: string) => sizes.find((s) => s.label === label)!.flops;
    const backend = `torch ${r.torch} ${r.device}${r.device.startsWith("cpu") ? `, ${r.threads} thread${r.threads === 1 ? "" : "s"}` : ""}`;
    return {
      rows: r.rows.map((row) => ({ size: row.size, impl: `pytorch ${row.precision}`, backend, ms: row.ms, gflops: flopsOf(row.size) / row.ms / 1e6, steps: row.steps })),
      notes: r.notes.map((n) => `torch: ${n}`),
    };
  }
  return 'no python3 here imports torch (python3 -c "import torch" fails)';
}

/** Three significant digits, no exponent: 0.0312, 4.15, 146, 1432. */
function num(v: number): string {
  return v >= 1000 ? v.toFixed(0) : v >= 0.001 ? String(Number(v.toPrecision(3))) : v.toExponential(2);
}

function table(rows: Row[]): string {
  const header = ["B×M×N", "impl", "backend", "ms/step", "GFLOP/s", "× tfjs", "steps"];
  const body = rows.map((r) => [
    r.size,
    r.impl,
    r.backend,
    r.ms === null ? "—" : num(r.ms),
    r.gflops === null ? (r.note ?? "—") : num(r.gflops),
    r.vsTfjs == null ? "—" : `${r.vsTfjs.toFixed(2)}×`,
    String(r.steps),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i < 3 || (i === 4 && c.startsWith("skipped")) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(fmt)].join("\n");
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, OPTIONS);
  if (args.help) {
    console.log(usage("test/bench/linear.ts", OPTIONS));
    return 0;
  }
  const sizes = parseSizes(args.sizes ?? DEFAULT_SIZES);
  const steps = args.steps ?? 20;
  const warmup = args.warmup ?? 3;
  const budget = args["max-seconds"] ?? 30;
  if (steps < 1 || warmup < 1 || budget <= 0) throw new UsageError("--steps and --warmup must be ≥ 1, --max-seconds > 0");
  const backends = (args.backends ?? "webgpu,wasm,cpu").split(",").map((s) => s.trim()).filter(Boolean) as BackendChoice[];
  const impls = (args.impls ?? "gradlab,tfjs,autodiff").split(",").map((s) => s.trim()) as Impl[];
  for (const i of impls) if (!["gradlab", "tfjs", "autodiff"].includes(i)) throw new UsageError(`--impls: unknown ${JSON.stringify(i)}`);
  if (args.tile !== undefined && !isTileName(args.tile)) throw new UsageError(`--tile: expected one of ${Object.keys(TILES).join(", ")}`);
  const log = (s: string) => {
    if (!args.json) console.log(s);
  };
  const notes: string[] = [];
  // In Node, Dawn (npm package or DAWN_NODE) becomes navigator.gpu here. Where navigator.gpu exists,
  // import tfjs's webgpu backend here, by a name a bundler can see (the GPU machines run a bundle,
  // with no node_modules); elsewhere setBackend imports it after Dawn.
  if (backends.includes("webgpu") && (await navigatorGpu())) {
    const webgpu = await import("@tensorflow/tfjs-backend-webgpu").catch(() => null);
    if (webgpu) installSubgroupCapableFactory(webgpu.WebGPUBackend as unknown as WebGPUBackendClass);
  }

  const rows: Row[] = [];
  const devices: Record<string, string> = {};
  for (const name of backends) {
    let device: string;
    try {
      device = (await setBackend(name)).device;
    } catch (error) {
      notes.push(`${name}: not run: ${(error as Error).message}`);
      continue;
    }
    if (name === "webgpu") {
      const gpu = webgpuDevice()!;
      device += `; ${subgroupDecision(gpu).why}; features: ${[...gpu.features].sort().join(", ")}`;
      if (args.check) {
        await checkAgainstCpu(log);
        await setBackend("webgpu");
      }
    }
    devices[name] = device;
    log(`\n${name}: ${device}`);
    const runImpls = name === "webgpu" ? impls : impls.filter((i) => i !== "tfjs");
    const tunes: (TileName | null)[] = name === "webgpu" && args.tune ? (Object.keys(TILES) as TileName[]) : [];
    // GFLOP/s of each implementation at the previous size, to project the next one's step time.
    const rate = new Map<string, number>();
    for (const s of sizes) {
      const fit = name === "webgpu" ? doesNotFit(s) : null;
      const cells: Cell[] = [
        ...runImpls.map((impl) => ({ label: impl, impl, tile: null })),
        ...tunes.map((t) => ({ label: `gradlab tile ${t}`, impl: "gradlab" as const, tile: t })),
      ];
      const sizeRows: Row[] = [];
      const skip = (cell: Cell, note: string) => sizeRows.push({ size: s.label, impl: cell.label, backend: name, ms: null, gflops: null, steps: 0, note });
      const timed: Cell[] = [];
      for (const cell of cells) {
        const prior = rate.get(cell.label);
        const projected = prior ? s.flops / (prior * 1e9) : null;
        if (fit) skip(cell, `skipped: ${fit}`);
        else if (projected !== null && projected > budget / 4) skip(cell, `skipped: ~${projected.toFixed(0)} s/step projected (> --max-seconds/4)`);
        else timed.push(cell);
      }
      if (timed.length) log(`  ${s.label}: ${timed.map((c) => c.label).join(", ")}…`);
      const results = timed.length ? await timeSize(timed, s, steps, warmup, budget, (args.tile as TileName | undefined) ?? null) : new Map();
      for (const cell of timed) {
        const r = results.get(cell.label)!;
        const gflops = s.flops / r.ms / 1e6;
        rate.set(cell.label, gflops);
        sizeRows.push({ size: s.label, impl: cell.label, backend: name, ms: r.ms, gflops, steps: r.steps });
      }
      const tfjsMs = results.get("tfjs")?.ms ?? null;
      if (name === "webgpu" && tfjsMs !== null) for (const r of sizeRows) r.vsTfjs = r.ms === null ? null : tfjsMs / r.ms;
      sizeRows.sort((a, b) => cells.findIndex((c) => c.label === a.impl) - cells.findIndex((c) => c.label === b.impl));
      rows.push(...sizeRows);
      if (!args.json) console.log(table(sizeRows).split("\n").slice(2).map((l) => `    ${l}`).join("\n"));
    }
  }
  if (!webgpuKernelsEnabled()) setWebGPUKernels(true);

  if (args.torch) {
    log("\nrunning PyTorch (test/bench/linear_torch.py)…");
    const r = runTorch(sizes, steps, warmup, budget, args.tf32 === true);
    if (typeof r === "string") notes.push(`torch: ${r}`);
    else {
      rows.push(...r.rows);
      notes.push(...r.notes);
    }
  }

  const result = JSON.stringify({ sizes: sizes.map((s) => s.label), steps, warmup, maxSeconds: budget, devices, rows, notes });
  if (args["json-out"]) writeFileSync(args["json-out"], `${result}\n`);
  if (args.json) {
    console.log(result);
  } else {
    console.log(`\nforward + backward of the linear layer (6·B·M·N flops per step), medians after ${warmup} warm-up step(s)`);
    for (const [name, device] of Object.entries(devices)) console.log(`  ${name}: ${device}`);
    console.log("");
    console.log(table(rows));
    for (const n of notes) console.log(n);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    // Dawn's device keeps Node's event loop alive: leave explicitly once the tables are out.
    process.exit(code);
  },
  (error) => {
    console.error(`bench: ${error instanceof UsageError ? error.message : (error as Error)?.stack ?? String(error)}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
