/**
 * The export and predict tasks as a user runs them (`node --import tsx lib/cli/export_main.ts …`,
 * the same code `deno task export` runs), in child processes on the cpu backend: export trains
 * as the seed does and writes the .onnx (default linear.onnx, each --mode), predict reads it back
 * (or a state dict, or PyTorch's file) and prints y; bad input is one line on stderr, exit code 2.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { TORCH_ONNX } from "./support/onnx_models";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const TSX = import.meta.resolve("tsx");
const TMP = mkdtempSync(join(tmpdir(), "gradlab-onnx-cli-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function task(script: "export" | "predict", args: string[], cwd = REPO_ROOT): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", TSX, join(REPO_ROOT, `lib/cli/${script}_main.ts`), "--backend", "cpu", ...args],
      { cwd, encoding: "utf8", timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        if (code === null) reject(new Error(`${script} ${args.join(" ")} did not exit normally: ${error?.message}\nstderr:\n${stderr}`));
        else resolve({ code, stdout, stderr });
      },
    );
  });
}

const show = (r: Run) => `exit code ${r.code}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`;
function lastJson<T>(r: Run): T {
  assert.equal(r.code, 0, show(r));
  const lines = r.stdout.trimEnd().split("\n");
  return JSON.parse(lines[lines.length - 1]!) as T;
}
function assertUsageError(r: Run, prefix: string, pattern: RegExp): void {
  assert.equal(r.code, 2, show(r));
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr:\n${r.stderr}`);
  assert.ok(lines[0]!.startsWith(`${prefix}: `), lines[0]);
  assert.match(lines[0]!, pattern);
}

interface Exported {
  out: string;
  mode: string;
  bytes: number;
  weight: number[][];
  bias: number[];
}
interface Predicted {
  model: string;
  x: number[][];
  y: number[][];
}

describe("export and predict tasks", () => {
  it("export trains as the seed does and writes each --mode; predict reads each back and gives the model's y", async () => {
    const modes = ["function", "standard", "opaque"] as const;
    const exported = await Promise.all(modes.map((mode) => task("export", ["--steps", "50", "--mode", mode, "--out", join(TMP, `${mode}.onnx`), "--json"])));
    const results = exported.map((r) => lastJson<Exported>(r));
    results.forEach((e, i) => {
      assert.equal(e.mode, modes[i]);
      assert.ok(existsSync(e.out));
      assert.deepEqual(results[0]!.weight, e.weight, "the same training whatever the mode");
    });
    assert.match(exported[0]!.stdout, /y = gradlab\.MYLINEAR\(x, weight, bias\)\n.*function gradlab\.MYLINEAR\(x, weight, bias\) → output:\n  output = Gemm\(x, weight, bias\) \{transB=1\}/s);
    assert.match(exported[1]!.stdout, /y = Gemm\(x, weight, bias\) \{transB=1\}/);
    assert.match(exported[0]!.stdout, /x: float32 \[batch, 2\]/, "the batch axis is dynamic");

    const predicted = await Promise.all(modes.map((mode) => task("predict", ["--model", join(TMP, `${mode}.onnx`), "--x", "3,2;1,1", "--json"])));
    const { weight: [[w1, w2]], bias: [b] } = results[0]! as unknown as { weight: [[number, number]]; bias: [number] };
    for (const r of predicted) {
      const p = lastJson<Predicted>(r);
      assert.deepEqual(p.x, [[3, 2], [1, 1]]);
      [[3, 2], [1, 1]].forEach(([x1, x2], i) => {
        const expected = w1 * x1! + w2 * x2! + b;
        assert.ok(Math.abs(p.y[i]![0]! - expected) <= 1e-6 * Math.abs(expected), `y ${p.y[i]} vs ${expected}`);
      });
      assert.match(r.stdout, /y at x = \(3, 2\): /);
    }
  });

  it("export writes linear.onnx in the working folder by default", async () => {
    const cwd = join(TMP, "default-out");
    mkdirSync(cwd);
    const r = await task("export", ["--steps", "5"], cwd);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(readdirSync(cwd), ["linear.onnx"]);
  });

  it("predict reads a state dict JSON and PyTorch's export of the seed", async () => {
    const state = join(TMP, "state.json");
    writeFileSync(state, JSON.stringify({ weight: [[2, 3]], bias: [4] }));
    const [fromState, fromTorch] = await Promise.all([
      task("predict", ["--model", state, "--x", "3,2", "--json"]),
      task("predict", ["--model", join(REPO_ROOT, "test/fixtures/seed_torch.onnx"), "--x", "3,2", "--json"]),
    ]);
    assert.deepEqual(lastJson<Predicted>(fromState).y, [[16]]);
    const torchY = lastJson<Predicted>(fromTorch).y[0]![0]!;
    assert.ok(Math.abs(torchY - TORCH_ONNX.y[0]![0]!) <= 1e-6 * TORCH_ONNX.y[0]![0]!, `${torchY} vs PyTorch's ${TORCH_ONNX.y[0]![0]}`);
  });

  it("bad input: one line on stderr, exit code 2, nothing written", async () => {
    const corrupt = join(TMP, "corrupt.onnx");
    writeFileSync(corrupt, "not an onnx file at all");
    const runs = await Promise.all([
      task("export", ["--mode", "bare"]),
      task("export", ["--out", join(TMP, "missing-folder", "m.onnx")]),
      task("export", ["--opset", "9", "--steps", "2", "--out", join(TMP, "opset9.onnx")]),
      task("predict", ["--x", "3,2"]),
      task("predict", ["--model", corrupt, "--x", "3,2"]),
      task("predict", ["--model", join(REPO_ROOT, "test/fixtures/seed_torch.onnx"), "--x", "3,a"]),
      task("predict", ["--model", join(REPO_ROOT, "test/fixtures/seed_torch.onnx"), "--x", "3,2,1"]),
    ]);
    assertUsageError(runs[0]!, "export", /--mode must be one of function, standard, opaque, got "bare"/);
    assertUsageError(runs[1]!, "export", /cannot write --out file .*m\.onnx: the folder .*missing-folder does not exist/);
    assertUsageError(runs[2]!, "export", /--opset must be from 11 to 17, got 9/);
    assert.equal(existsSync(join(TMP, "opset9.onnx")), false);
    assertUsageError(runs[3]!, "predict", /--model is required/);
    assertUsageError(runs[4]!, "predict", /not a readable ONNX model/);
    assertUsageError(runs[5]!, "predict", /--x: row 0, value 1 is "a", not a finite decimal number/);
    assertUsageError(runs[6]!, "predict", /--x has 3 values per row, but --model .*seed_torch\.onnx takes 2 \(input shape \[(batch|1), 2\]\); give rows of 2 numbers, e\.g\. --x 1,2/);
  });
});
