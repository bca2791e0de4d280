/**
 * The train task as a user runs it: `node --import tsx lib/cli/train_main.ts …` in a child process
 * (cpu backend, to keep it fast): what it prints, the options it honours, the files it reads and
 * writes, and the one-line errors (exit code 2, no stack trace) for every kind of bad input.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { webgpuUnavailable } from "./support/backends";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const TMP = mkdtempSync(join(tmpdir(), "gradlab-train-cli-"));
/** Each run is a fresh Node process that spends most of its ~1 s loading tfjs: run them side by side. */
const CONCURRENCY = Math.max(2, availableParallelism());

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the train task with `--backend cpu` and the given arguments. */
function train(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "lib/cli/train_main.ts", "--backend", "cpu", ...args],
      { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        if (code === null) reject(new Error(`train ${args.join(" ")} did not exit normally: ${error?.message}\nstderr:\n${stderr}`));
        else resolve({ code, stdout, stderr });
      },
    );
  });
}

const show = (r: Run) => `exit code ${r.code}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`;

function assertOk(r: Run): void {
  assert.equal(r.code, 0, show(r));
}

interface JsonResult {
  weight: number[][];
  bias: number[];
  losses: number[];
  lossEvery: number;
  backend: string;
}

/** The last line of stdout, parsed (the contract of --json). */
function lastJson(r: Run): JsonResult {
  assertOk(r);
  const lines = r.stdout.trimEnd().split("\n");
  const last = lines[lines.length - 1]!;
  try {
    return JSON.parse(last) as JsonResult;
  } catch {
    assert.fail(`the last line of stdout is not JSON: ${JSON.stringify(last)}\n${show(r)}`);
  }
}

/** A failure on bad input: exit code 2 and one line on stderr, "train: …", matching `message`, no stack trace, no training. */
function assertUsageFailure(r: Run, message: RegExp): void {
  assert.equal(r.code, 2, show(r));
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `stderr must be one line:\n${r.stderr}`);
  assert.match(lines[0]!, /^train: /);
  assert.match(lines[0]!, message);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "stderr has a stack trace");
  assert.doesNotMatch(r.stdout, /trained \d+ steps/, "it trained before failing");
}

let files = 0;
/** Writes `content` (JSON-encoded unless a string) to a fresh file in the temp dir. */
function tempFile(name: string, content: unknown): string {
  const path = join(TMP, `${files++}-${name}`);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

function freshDir(name: string): string {
  const dir = join(TMP, `${files++}-${name}`);
  mkdirSync(dir);
  return dir;
}

/** Plain SGD with momentum and weight decay (PyTorch's update) on the seed's MSE, in float64, one row per step. */
function hostSgdLosses(w0: number[], b0: number, x: number[][], y: number[], steps: number, o: { lr: number; momentum: number; weightDecay: number }): number[] {
  const p = [...w0, b0];
  let buf: number[] | null = null;
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const row = x[step % x.length]!;
    const input = [...row, 1];
    const err = p.reduce((s, pi, i) => s + pi * input[i]!, 0) - y[step % y.length]!;
    losses.push(err * err);
    const d = p.map((pi, i) => 2 * err * input[i]! + o.weightDecay * pi);
    buf = buf === null ? d : buf.map((bi, i) => o.momentum * bi + d[i]!);
    for (let i = 0; i < p.length; i++) p[i]! -= o.lr * (o.momentum === 0 ? d[i]! : buf[i]!);
  }
  return losses;
}

after(() => rmSync(TMP, { recursive: true, force: true }));

describe("train task", { concurrency: CONCURRENCY }, () => {
  it("by default trains 300 steps and prints weight, bias and y at (3, 2), heading to [2, 3], 4", async () => {
    const r = await train();
    assertOk(r);
    assert.match(r.stdout, /^backend: cpu on /m);
    assert.match(r.stdout, /^trained 300 steps in [\d.]+ ms; last loss /m);
    const weight = JSON.parse(r.stdout.match(/^weight: (.*)$/m)?.[1] ?? "null") as number[][];
    const bias = JSON.parse(r.stdout.match(/^bias: +(.*)$/m)?.[1] ?? "null") as number[];
    const y = Number(r.stdout.match(/^y at x = \(3, 2\): (.*)$/m)?.[1]);
    assert.ok(Array.isArray(weight) && weight.length === 1 && weight[0]!.length === 2, `weight line: ${show(r)}`);
    assert.ok(Array.isArray(bias) && bias.length === 1, `bias line: ${show(r)}`);
    const [[w1, w2]] = weight as [[number, number]];
    const [b] = bias as [number];
    for (const [name, got, want] of [["w1", w1, 2], ["w2", w2, 3], ["b", b, 4]] as const) {
      assert.ok(Math.abs(got - want) < 0.1, `${name} = ${got} after 300 steps, expected within 0.1 of ${want}`);
    }
    assert.ok(Math.abs(y - (3 * w1 + 2 * w2 + b)) < 1e-4, `y at (3, 2) is ${y}, but the printed weights give ${3 * w1 + 2 * w2 + b}`);
  });

  it("--json ends stdout with one line of JSON: weight, bias, losses (one per step: lossEvery 1) and the backend", async () => {
    const r = await train("--json", "--steps", "30");
    const result = lastJson(r);
    assert.deepEqual(Object.keys(result).sort(), ["backend", "bias", "lossEvery", "losses", "weight"]);
    assert.equal(result.lossEvery, 1);
    assert.equal(result.backend, "cpu");
    assert.equal(result.losses.length, 30);
    assert.ok(result.losses.every(Number.isFinite), `losses: ${result.losses}`);
    assert.equal(result.weight.length, 1);
    assert.equal(result.weight[0]!.length, 2);
    assert.equal(result.bias.length, 1);
    // The same numbers as the human-readable lines above it.
    assert.match(r.stdout, new RegExp(`^weight: ${JSON.stringify(result.weight).replace(/[[\].]/g, "\\$&")}$`, "m"));
  });

  it("honours --steps, --lr, --momentum, --weight-decay and --seed", async () => {
    const [a, again, other] = await Promise.all([
      train("--json", "--steps", "20", "--lr", "0.05", "--momentum", "0", "--weight-decay", "0", "--seed", "3"),
      train("--json", "--steps", "20", "--lr", "0.05", "--momentum", "0", "--weight-decay", "0", "--seed", "3"),
      train("--json", "--steps", "20", "--lr", "0.05", "--momentum", "0", "--weight-decay", "0", "--seed", "0"),
    ]);
    const [ra, rAgain, rOther] = [lastJson(a), lastJson(again), lastJson(other)];
    assert.equal(ra.losses.length, 20);
    assert.deepEqual(rAgain, ra, "the same seed must give the same run");
    assert.notEqual(rOther.losses[0], ra.losses[0], "seeds 3 and 0 gave the same initial loss");
  });

  it("--lr, --momentum and --weight-decay give the losses of PyTorch's SGD computed on the host", async () => {
    const x = [[0.5, 0.25], [1, -0.5], [-0.25, 0.75]];
    const y = [1, -2, 0.5];
    const init = tempFile("init.json", { weight: [[0.5, -0.5]], bias: [0.25] });
    const data = tempFile("data.json", { x, y });
    const settings = [
      { lr: 0.05, momentum: 0, weightDecay: 0 },
      { lr: 0.1, momentum: 0.5, weightDecay: 0.1 },
    ];
    const runs = await Promise.all(settings.map((o) =>
      train("--json", "--init", init, "--data", data, "--steps", "20", "--lr", String(o.lr), "--momentum", String(o.momentum), "--weight-decay", String(o.weightDecay))));
    runs.forEach((r, i) => {
      const expected = hostSgdLosses([0.5, -0.5], 0.25, x, y, 20, settings[i]!);
      const losses = lastJson(r).losses;
      assert.equal(losses.length, 20);
      losses.forEach((l, step) => {
        assert.ok(Math.abs(l - expected[step]!) <= 1e-4 * expected[step]! + 1e-6, `${JSON.stringify(settings[i])}: step ${step} loss ${l}, expected ${expected[step]}`);
      });
    });
  });

  it("--init starts from the given state dict: with --lr 0 the weights stay exactly there", async () => {
    const init = tempFile("exact.json", { weight: [[2, 3]], bias: [4] });
    const result = lastJson(await train("--json", "--init", init, "--lr", "0", "--steps", "25"));
    assert.deepEqual(result.weight, [[2, 3]]);
    assert.deepEqual(result.bias, [4]);
    assert.equal(result.losses.length, 25);
    // The seed's rule is y = 2·x1 + 3·x2 + 4: only float32 round-off is left.
    assert.ok(result.losses.every((l) => l < 1e-10), `losses: ${result.losses}`);
  });

  it("--data without \"y\" takes targets from the seed's rule and makes one pass by default", async () => {
    const init = tempFile("exact.json", { weight: [[2, 3]], bias: [4] });
    const data = tempFile("rule.json", { x: [[0, 0], [1, 0], [0, 1], [0.5, 0.25]] });
    const result = lastJson(await train("--json", "--init", init, "--data", data, "--lr", "0"));
    assert.deepEqual(result.losses, [0, 0, 0, 0]);
  });

  it("--data with \"y\" trains on those targets", async () => {
    const init = tempFile("zero.json", { weight: [[0, 0]], bias: [0] });
    const data = tempFile("targets.json", { x: [[1, 2], [3, 4], [5, 6]], y: [1, -2, 3] });
    const result = lastJson(await train("--json", "--init", init, "--data", data, "--lr", "0"));
    // A zero model predicts 0, so each loss is y².
    assert.deepEqual(result.losses, [1, 4, 9]);
  });

  it("--data with rows of 3 numbers and \"y\" trains a Linear(3, 1)", async () => {
    // y = x·[1, -1, 2] + 0.5
    const x = [[0.1, 0.2, 0.3], [0.9, 0.1, 0.4], [0.5, 0.5, 0.5], [0.2, 0.8, 0.1]];
    const data = tempFile("width3.json", { x, y: x.map(([a, b, c]) => a! - b! + 2 * c! + 0.5) });
    const r = await train("--json", "--data", data, "--steps", "400", "--lr", "0.1", "--momentum", "0", "--weight-decay", "0");
    const result = lastJson(r);
    assert.equal(result.weight.length, 1);
    assert.equal(result.weight[0]!.length, 3);
    assert.equal(result.bias.length, 1);
    const first = result.losses.slice(0, 4).reduce((s, l) => s + l, 0);
    const last = result.losses.slice(-4).reduce((s, l) => s + l, 0);
    assert.ok(last < first / 100, `the last pass's loss ${last} is not well below the first's ${first}`);
    assert.doesNotMatch(r.stdout, /y at x = \(3, 2\)/, "a 3-input model has no value at (3, 2)");
  });

  it("--out writes the trained state dict as JSON, which loads back through --init", async () => {
    const dir = freshDir("out");
    const out = join(dir, "model.json");
    const trained = lastJson(await train("--json", "--steps", "40", "--out", out));
    assert.deepEqual(readdirSync(dir), ["model.json"], "a temporary file was left behind");
    const state = JSON.parse(readFileSync(out, "utf8")) as Record<string, unknown>;
    assert.deepEqual(Object.keys(state), ["weight", "bias"]);
    assert.deepEqual(state, { weight: trained.weight, bias: trained.bias });

    const reloaded = lastJson(await train("--json", "--init", out, "--lr", "0", "--steps", "1"));
    assert.deepEqual(reloaded.weight, trained.weight);
    assert.deepEqual(reloaded.bias, trained.bias);
  });

  it("--backend webgpu trains and writes --out (read back asynchronously: no synchronous reads on webgpu in Node)", async (t) => {
    const unavailable = await webgpuUnavailable();
    if (unavailable) return t.skip(unavailable);
    const dir = freshDir("webgpu");
    const out = join(dir, "model.json");
    // A later --backend wins over the helper's --backend cpu.
    const trained = lastJson(await train("--backend", "webgpu", "--json", "--steps", "40", "--out", out));
    assert.equal(trained.backend, "webgpu");
    assert.deepEqual(JSON.parse(readFileSync(out, "utf8")), { weight: trained.weight, bias: trained.bias });
  });

  describe("bad input: exit code 2 and one line that says what is wrong and what was expected", { concurrency: CONCURRENCY }, () => {
    const cases: { what: string; args: () => string[]; message: RegExp }[] = [
      { what: "an unknown option", args: () => ["--stpes", "5"], message: /unknown option --stpes; known options: .*--steps/ },
      { what: "a missing value", args: () => ["--steps"], message: /--steps needs a value \(training steps/ },
      { what: "an option for a value", args: () => ["--lr", "--json"], message: /--lr needs a value/ },
      { what: "--steps abc", args: () => ["--steps", "abc"], message: /--steps expects an integer in decimal \(e\.g\. 300, 0\.01 or 1e-3\), got "abc"/ },
      { what: "--steps 0", args: () => ["--steps", "0"], message: /steps must be a positive integer, got 0/ },
      { what: "--backend gpu", args: () => ["--backend", "gpu"], message: /--backend must be one of auto, tensorflow, webgpu, wasm, cpu, got "gpu"/ },
      { what: "--init naming no file", args: () => ["--init", join(TMP, "missing.json")], message: /cannot read --init file .*missing\.json: no such file/ },
      { what: "--init with invalid JSON", args: () => ["--init", tempFile("broken.json", '{"weight": [[1, 2]')], message: /--init file .*broken\.json is not valid JSON/ },
      {
        what: "--init of the wrong shape",
        args: () => ["--init", tempFile("wide.json", { weight: [[1, 2, 3]], bias: [1] })],
        message: /state dict entry "weight" has shape \[1, 3\], but the model's parameter has shape \[1, 2\]/,
      },
      {
        what: "--init missing a key",
        args: () => ["--init", tempFile("nobias.json", { weight: [[1, 2]] })],
        message: /missing keys: "bias".*expected keys: "weight", "bias"/,
      },
      {
        what: "--data with ragged rows",
        args: () => ["--data", tempFile("ragged.json", { x: [[1, 2], [3]] })],
        message: /--data file .*ragged\.json: "x"\[1\] must be an array of 2 numbers \(the width of row 0\), got \[3\]/,
      },
      {
        what: "--data with a non-number",
        args: () => ["--data", tempFile("string.json", { x: [[1, 2], [3, "4"]] })],
        message: /--data file .*string\.json: "x"\[1\]\[1\] must be a finite number, got "4"/,
      },
      {
        what: "--data with \"y\" of the wrong length",
        args: () => ["--data", tempFile("short_y.json", { x: [[1, 2], [3, 4]], y: [1] })],
        message: /--data file .*short_y\.json: "y" must be an array of 2 numbers \(one per row of "x"\), got 1 entries/,
      },
      {
        what: "--data of width 3 without \"y\"",
        args: () => ["--data", tempFile("width3_no_y.json", { x: [[1, 2, 3]] })],
        message: /--data file .*width3_no_y\.json: without "y", targets follow the seed's rule .* needs rows of 2 numbers, got 3/,
      },
    ];
    for (const { what, args, message } of cases) {
      it(what, async () => assertUsageFailure(await train(...args()), message));
    }
  });

  it("--out into a directory that does not exist fails before training, creating nothing", async () => {
    const parent = freshDir("no_such_dir");
    const out = join(parent, "missing", "model.json");
    const r = await train("--steps", "3", "--out", out);
    assert.deepEqual(readdirSync(parent), [], "something was created next to the missing directory");
    assertUsageFailure(r, /cannot write --out file .*missing\/model\.json: the folder .*missing does not exist/);
  });

  it("--out naming a directory fails cleanly and leaves no temporary file behind", async () => {
    const parent = freshDir("out_is_dir");
    mkdirSync(join(parent, "model.json"));
    const r = await train("--steps", "3", "--out", join(parent, "model.json"));
    assert.deepEqual(readdirSync(parent), ["model.json"], "a temporary file was left behind");
    assert.deepEqual(readdirSync(join(parent, "model.json")), []);
    assertUsageFailure(r, /cannot write --out file .*model\.json: it is a folder/);
  });

  it("a failed run leaves an existing --out file unchanged", async () => {
    const dir = freshDir("kept");
    const out = join(dir, "model.json");
    const previous = JSON.stringify({ weight: [[7, 8]], bias: [9] });
    writeFileSync(out, previous);
    const badInit = tempFile("bad_init.json", { weight: [[1, 2, 3]], bias: [1] });
    const runs = await Promise.all([train("--init", badInit, "--out", out), train("--steps", "0", "--out", out)]);
    for (const r of runs) assertUsageFailure(r, /state dict entry "weight"|steps must be a positive integer/);
    assert.equal(readFileSync(out, "utf8"), previous);
    assert.deepEqual(readdirSync(dir), ["model.json"]);
    assert.ok(existsSync(out));
  });
});
