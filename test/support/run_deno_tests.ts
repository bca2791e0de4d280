/**
 * `npm run test:deno`: `deno task test`, with one known upstream crash told apart from a failure.
 *
 * Deno 2.9's WebGPU (wgpu) on Mesa's llvmpipe now and then aborts while the process exits
 * ("double free or corruption", SIGABRT, exit 134) — after the runner has printed its summary.
 * Measured here: about 1 run in 15; releasing the device first does not prevent it. When the
 * abort comes after a summary that reports every test passed and none failed, the run counts as
 * passed, with a warning saying so; any other non-zero exit is a failure, as it always was.
 */
import { spawnSync } from "node:child_process";
import process from "node:process";

const run = spawnSync("deno", ["task", "test"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
process.stdout.write(run.stdout ?? "");
process.stderr.write(run.stderr ?? "");
if (run.error) throw run.error;

// Deno colours its summary; compare the text without ANSI escapes.
const plain = `${run.stdout}\n${run.stderr}`.replace(/\x1b\[[0-9;]*m/g, "");
const summary = /^ok \| (\d+) passed(?: \(\d+ steps?\))? \| 0 failed/m.exec(plain);
const abortedAtExit = run.status === 134 || run.signal === "SIGABRT";
if (run.status !== 0 && abortedAtExit && summary !== null && Number(summary[1]) > 0) {
  console.warn(`test:deno: deno aborted at exit after reporting ${summary[1]} passed and 0 failed (the known wgpu/llvmpipe teardown crash); counted as passed`);
  process.exitCode = 0;
} else {
  process.exitCode = run.status ?? 1;
}
