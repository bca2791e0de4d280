/**
 * Issue 9's findings, one test each, on the train / export / predict tasks as users run them
 * (child processes, cpu backend): no data lost (divergence, symlinks, modes, an --out that is an
 * input, temporary files, signals), no silent wrong answer (NaN weights, hex numbers, seeds out of
 * range), and every bad input one line and exit code 2 before any work.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync,
} from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { errorLines, REPO_ROOT, runTask, showRun, type TaskRun } from "./support/cli_process";

const TMP = mkdtempSync(join(tmpdir(), "gradlab-cli-reliability-"));
after(() => rmSync(TMP, { recursive: true, force: true }));
const CONCURRENCY = Math.max(2, availableParallelism());
const FLT_MAX = 3.4028234663852886e38;
const GOOD_STATE = JSON.stringify({ weight: [[7, 8]], bias: [9] });

let made = 0;
function freshDir(name: string): string {
  const dir = join(TMP, `${made++}-${name}`);
  mkdirSync(dir);
  return dir;
}
function file(dir: string, name: string, content: string | object, mode?: number): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  if (mode !== undefined) chmodSync(path, mode);
  return path;
}
const cpu = (...args: string[]) => ["--backend", "cpu", ...args];

/** Exit `code`, and exactly one error line, "<task>: …", matching `message`, no stack trace. */
function assertOneLineFailure(r: TaskRun, task: string, code: number, message: RegExp): void {
  assert.equal(r.code, code, showRun(r));
  const lines = errorLines(r);
  assert.equal(lines.length, 1, `one error line expected:\n${showRun(r)}`);
  assert.ok(lines[0]!.startsWith(`${task}: `), lines[0]);
  assert.match(lines[0]!, message);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "stderr has a stack trace");
}
/** Failed before the backend started: nothing was trained. */
function assertNoWork(r: TaskRun): void {
  assert.doesNotMatch(r.stdout, /^backend: /m, `the backend was started:\n${showRun(r)}`);
}

/** PyTorch's SGD (momentum 0, no weight decay) on MSE in float64: the first step whose loss leaves float32's range. */
function hostDivergenceStep(w0: number[], b0: number, x: number[][], y: number[], lr: number): number {
  const p = [...w0, b0];
  for (let step = 0; step < 1000; step++) {
    const input = [...x[step % x.length]!, 1];
    const err = p.reduce((s, pi, i) => s + pi * input[i]!, 0) - y[step % y.length]!;
    if (!(err * err <= FLT_MAX)) return step;
    for (let i = 0; i < p.length; i++) p[i]! -= lr * 2 * err * input[i]!;
  }
  throw new Error("the reference did not diverge");
}

describe("finding 1: a diverging run stops (exit 3), names the step and the value, and loses nothing", { concurrency: CONCURRENCY }, () => {
  const x = [[1, 2], [3, -1], [-2, 1]];
  const y = [1, 2, 3];

  it("train --lr 10 --out m.json: exit 3 at the step the float64 reference overflows; m.json untouched", async () => {
    const dir = freshDir("diverge");
    const init = file(dir, "init.json", { weight: [[0.5, -0.5]], bias: [0.25] });
    const data = file(dir, "data.json", { x, y });
    const out = file(dir, "m.json", GOOD_STATE);
    const expected = hostDivergenceStep([0.5, -0.5], 0.25, x, y, 1);
    const r = await runTask("train", cpu("--init", init, "--data", data, "--steps", "200", "--lr", "1", "--momentum", "0", "--weight-decay", "0", "--out", out));
    assertOneLineFailure(r, "train", 3, new RegExp(`training diverged: the loss became (Infinity|NaN) at step ${expected} .*Try a lower --lr \\(now 1; e\\.g\\. --lr 0\\.1\\)`));
    assert.equal(readFileSync(out, "utf8"), GOOD_STATE);
    assert.deepEqual(readdirSync(dir).sort(), ["data.json", "init.json", "m.json"]);
  });

  it("the seed's own case (--lr 10): exit 3, and --allow-nonfinite keeps PyTorch's behaviour (NaN written as null)", async () => {
    const dir = freshDir("seed-lr10");
    const out = file(dir, "m.json", GOOD_STATE);
    const [stopped, allowed] = await Promise.all([
      runTask("train", cpu("--lr", "10", "--out", out)),
      runTask("train", cpu("--lr", "10", "--out", join(dir, "nan.json"), "--allow-nonfinite")),
    ]);
    assertOneLineFailure(stopped, "train", 3, /the loss became (Infinity|NaN) at step \d+/);
    assert.equal(readFileSync(out, "utf8"), GOOD_STATE);
    assert.equal(allowed.code, 0, showRun(allowed));
    assert.deepEqual(JSON.parse(readFileSync(join(dir, "nan.json"), "utf8")), { weight: [[null, null]], bias: [null] });
    assert.match(allowed.stderr, /warning: the trained weights are not finite \(weight\[0\]\[0\] = NaN/);
  });

  it("export stops too; with --allow-nonfinite it writes NaN weights, which predict then refuses (exit 3) unless allowed", async () => {
    const dir = freshDir("export-nan");
    const keep = file(dir, "keep.onnx", "previous bytes");
    const nan = join(dir, "nan.onnx");
    const [stopped, allowed] = await Promise.all([
      runTask("export", cpu("--lr", "10", "--out", keep)),
      runTask("export", cpu("--lr", "10", "--out", nan, "--allow-nonfinite")),
    ]);
    assertOneLineFailure(stopped, "export", 3, /training diverged: the loss became (Infinity|NaN) at step \d+/);
    assert.equal(readFileSync(keep, "utf8"), "previous bytes");
    assert.equal(allowed.code, 0, showRun(allowed));
    const [refused, printed] = await Promise.all([
      runTask("predict", cpu("--model", nan, "--x", "3,2")),
      runTask("predict", cpu("--model", nan, "--x", "3,2", "--allow-nonfinite", "--json")),
    ]);
    assertOneLineFailure(refused, "predict", 3, /holds non-finite weights \(weight\[0\]\[0\] = NaN\).*--allow-nonfinite/);
    assert.equal(printed.code, 0, showRun(printed));
    assert.match(printed.stdout, /y at x = \(3, 2\): NaN/);
  });

  it("--init with a value beyond float32 (1e39 → Infinity) stops at step 0 instead of training on it", async () => {
    const dir = freshDir("init-inf");
    const init = file(dir, "init.json", { weight: [[1e39, 0]], bias: [0] });
    const r = await runTask("train", cpu("--init", init, "--steps", "5"));
    assertOneLineFailure(r, "train", 3, /the loss became Infinity at step 0\. .*check --init's values/);
  });
});

describe("finding 2: --out follows symlinks, keeps the mode, and is never one of the inputs", { concurrency: CONCURRENCY }, () => {
  it("a symlink stays a symlink and its target gets the state dict; a 0600 file stays 0600", async () => {
    const dir = freshDir("links");
    const target = file(dir, "real.json", GOOD_STATE, 0o600);
    symlinkSync("real.json", join(dir, "link.json"));
    const r = await runTask("train", cpu("--steps", "5", "--json", "--out", join(dir, "link.json")));
    assert.equal(r.code, 0, showRun(r));
    assert.ok(lstatSync(join(dir, "link.json")).isSymbolicLink(), "the link was replaced by a file");
    const trained = JSON.parse(r.stdout.trimEnd().split("\n").pop()!) as { weight: number[][]; bias: number[] };
    assert.deepEqual(JSON.parse(readFileSync(target, "utf8")), { weight: trained.weight, bias: trained.bias });
    assert.equal(statSync(target).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir).sort(), ["link.json", "real.json"]);
  });

  it("export --init a.json --out a.json, or --out a hard link to --data: exit 2 before any work, inputs untouched", async () => {
    const dir = freshDir("same-inode");
    const init = file(dir, "a.json", GOOD_STATE);
    const data = file(dir, "data.json", { x: [[1, 2]] });
    linkSync(data, join(dir, "alias.json"));
    const [self, hard] = await Promise.all([
      runTask("export", cpu("--init", init, "--out", init)),
      runTask("train", cpu("--data", data, "--out", join(dir, "alias.json"))),
    ]);
    assertOneLineFailure(self, "export", 2, /cannot write --out file .*a\.json: it is the same file as --init .*a\.json/);
    assertOneLineFailure(hard, "train", 2, /cannot write --out file .*alias\.json: it is the same file as --data .*data\.json/);
    assertNoWork(self);
    assertNoWork(hard);
    assert.equal(readFileSync(init, "utf8"), GOOD_STATE);
    assert.deepEqual(JSON.parse(readFileSync(data, "utf8")), { x: [[1, 2]] });
  });

  it("--out naming a pipe (or a device) is refused, not replaced by a file", async () => {
    // A FIFO of our own: a test of this must never point at a real device such as /dev/full,
    // which the old code replaced with a regular file.
    const dir = freshDir("fifo");
    const fifo = join(dir, "pipe");
    execFileSync("mkfifo", [fifo]);
    const r = await runTask("train", cpu("--out", fifo));
    assertOneLineFailure(r, "train", 2, /cannot write --out file .*pipe: it is not a regular file/);
    assert.ok(lstatSync(fifo).isFIFO(), "the pipe was replaced");
  });
});

describe("finding 3: temporary files are removed on every path, and writes are fsynced", { concurrency: CONCURRENCY }, () => {
  it("SIGINT and SIGTERM mid-training (--steps 1e12, once 'Invalid typed array length'): exit 130 / 143, --out untouched, no temporary file", async () => {
    const dir = freshDir("signals");
    const out = file(dir, "m.json", GOOD_STATE);
    const runs = await Promise.all((["SIGINT", "SIGTERM"] as const).map((signal) =>
      runTask("train", cpu("--steps", "1e12", "--out", out), { interrupt: { when: /^backend: /m, signal, afterMs: 1500 } })));
    assertOneLineFailure(runs[0]!, "train", 130, /training stopped at step \d+ of 1000000000000 \(SIGINT\); no file was written/);
    assertOneLineFailure(runs[1]!, "train", 143, /training stopped at step \d+ of 1000000000000 \(SIGTERM\); no file was written/);
    assert.equal(readFileSync(out, "utf8"), GOOD_STATE);
    assert.deepEqual(readdirSync(dir), ["m.json"]);
  });

  it("temporary files left by a killed (-9) process are removed by the next write to the same --out", async () => {
    const dir = freshDir("stale");
    const dead = spawnSync(process.execPath, ["-e", "process.pid"]).pid!; // exited: its pid is free
    const stale = file(dir, `.m.json.${dead}.1700000000000.tmp`, "partial");
    const unrelated = file(dir, `.other.json.${dead}.1700000000000.tmp`, "not ours");
    const r = await runTask("train", cpu("--steps", "3", "--out", join(dir, "m.json")));
    assert.equal(r.code, 0, showRun(r));
    assert.equal(existsSync(stale), false, "the stale temporary file is still there");
    assert.ok(existsSync(unrelated), "a temporary file of another target was removed");
  });

  it("the file is fsynced before the rename and its folder after (strace)", async (t) => {
    if (spawnSync("strace", ["-V"]).status !== 0) return t.skip("strace is not installed");
    const dir = freshDir("fsync");
    const log = join(dir, "strace.log");
    const out = join(dir, "m.json");
    const r = await runTask("train", cpu("--steps", "3", "--out", out), { wrapper: ["strace", "-f", "-qq", "-e", "trace=openat,fsync,rename,renameat,renameat2,close", "-o", log] });
    assert.equal(r.code, 0, showRun(r));
    const calls = readFileSync(log, "utf8").split("\n");
    const tempOpen = calls.find((l) => /openat\(.*\/\.m\.json\.\d+\.[\d.]+\.tmp", O_WRONLY\|O_CREAT\|O_EXCL/.test(l));
    assert.ok(tempOpen, `no exclusive open of the temporary file:\n${calls.filter((l) => l.includes("m.json")).join("\n")}`);
    const fd = /= (\d+)$/.exec(tempOpen!)![1];
    const fileSync = calls.findIndex((l) => new RegExp(`fsync\\(${fd}\\)\\s+= 0`).test(l));
    const rename = calls.findIndex((l) => /rename.*\.m\.json\..*\.tmp".*m\.json"/.test(l));
    const dirOpen = calls.findIndex((l, i) => i > rename && l.includes(`openat(AT_FDCWD, "${dir}", O_RDONLY`));
    assert.ok(fileSync !== -1 && rename > fileSync, `file fsync (line ${fileSync}) must come before the rename (line ${rename})`);
    const dirFd = /= (\d+)$/.exec(calls[dirOpen] ?? "")?.[1];
    assert.ok(dirFd !== undefined && calls.some((l, i) => i > dirOpen && new RegExp(`fsync\\(${dirFd}\\)\\s+= 0`).test(l)), "the folder was not fsynced after the rename");
  });
});

describe("finding 4: memory flat in --steps, a progress line on a terminal only", { concurrency: CONCURRENCY }, () => {
  it("--json keeps every step's loss up to 10000 steps, then every k-th (lossEvery k)", async () => {
    const r = await runTask("train", cpu("--steps", "10001", "--json", "--lr", "0.001"), { timeoutMs: 120_000 });
    assert.equal(r.code, 0, showRun(r));
    const result = JSON.parse(r.stdout.trimEnd().split("\n").pop()!) as { losses: number[]; lossEvery: number };
    assert.equal(result.lossEvery, 2);
    assert.equal(result.losses.length, 5001); // steps 0, 2, …, 10000
  });

  it("on a terminal (script), stderr shows step, loss and steps/s at most every 0.5 s; silent with --json or in a pipe", async (t) => {
    if (spawnSync("script", ["--version"]).status !== 0) return t.skip("script (util-linux) is not installed");
    const args = cpu("--steps", "3000");
    const viaScript = (command: string) => ["script", "-qec", command, "/dev/null"];
    const [tty, json, pipe] = await Promise.all([
      runTask("train", args, { shell: viaScript }),
      runTask("train", [...args, "--json"], { shell: viaScript }),
      runTask("train", args),
    ]);
    for (const r of [tty, json, pipe]) assert.equal(r.code, 0, showRun(r));
    const draws = [...tty.stdout.matchAll(/\r\x1b\[Kstep (\d+)\/3000 {2}loss (\S+) {2}(\d+) steps\/s/g)];
    assert.ok(draws.length >= 1, `no progress line on the terminal:\n${JSON.stringify(tty.stdout)}`);
    assert.ok(draws.length <= tty.ms / 500 + 1, `${draws.length} redraws in ${tty.ms} ms: more than one per 0.5 s`);
    draws.forEach((d) => assert.ok(Number(d[1]) < 3000 && Number.isFinite(Number(d[2]))));
    assert.doesNotMatch(json.stdout, /steps\/s/);
    assert.doesNotMatch(pipe.stdout + pipe.stderr, /steps\/s|\r/);
  });
});

describe("finding 5: input limits are checked before any work, one line and exit 2", { concurrency: CONCURRENCY }, () => {
  it("a 200 000-deep --init fails on its nesting, not with 'Maximum call stack size exceeded'", async () => {
    const dir = freshDir("deep");
    const deep = file(dir, "deep.json", "[".repeat(200_000) + "]".repeat(200_000));
    const r = await runTask("train", cpu("--init", deep));
    assertOneLineFailure(r, "train", 2, /--init file .*deep\.json nests arrays\/objects more than 64 deep/);
    assertNoWork(r);
  });

  it("a 300 MiB --data fails on its size at once, --max-input-mib lets it through to the JSON check; /dev/zero stops at the limit", async () => {
    const dir = freshDir("big");
    const big = join(dir, "big.json");
    writeFileSync(big, "");
    truncateSync(big, 300 * 1024 * 1024); // sparse: no disk used
    const [limited, raised, endless] = await Promise.all([
      runTask("train", cpu("--data", big)),
      runTask("train", cpu("--data", big, "--max-input-mib", "400")),
      runTask("train", cpu("--init", "/dev/zero", "--max-input-mib", "1")), // endless: once read whole, into a hang
    ]);
    assertOneLineFailure(endless, "train", 2, /--init file \/dev\/zero is more than 1 MiB \(a pipe or device\), over the 1 MiB limit/);
    assertOneLineFailure(limited, "train", 2, /--data file .*big\.json is 300\.0 MiB, over the 256 MiB limit on input files; .*--max-input-mib 300/);
    assertOneLineFailure(raised, "train", 2, /--data file .*big\.json is not valid JSON/);
  });

  it("a 1 MB state dict declaring a 200000×200000 weight fails in predict before anything is allocated", async () => {
    const dir = freshDir("declared");
    const model = file(dir, "huge.json", `{"weight":[[${new Array(200_000).fill(0).join(",")}]${",[]".repeat(199_999)}],"bias":[0]}`);
    const r = await runTask("predict", cpu("--model", model, "--x", "1,2"));
    assertOneLineFailure(r, "predict", 2, /"weight"\[1\] must be a row of 200000 numbers \(the width of row 0\), got 0 entries/);
  });

  it("numbers are decimal only, integers safe, rates within float32: --steps 0x10, --seed 1e300, --seed -1, --lr 0b11, --lr 1e300, --momentum -0.5", async () => {
    const runs = await Promise.all([
      runTask("train", cpu("--steps", "0x10")),
      runTask("train", cpu("--seed", "1e300")),
      runTask("train", cpu("--seed", "-1")),
      runTask("train", cpu("--lr", "0b11")),
      runTask("train", cpu("--lr", "1e300")),
      runTask("train", cpu("--momentum", "-0.5")),
    ]);
    assertOneLineFailure(runs[0]!, "train", 2, /--steps expects an integer in decimal .*got "0x10"/);
    assertOneLineFailure(runs[1]!, "train", 2, /--seed expects an integer from -9007199254740991 to 9007199254740991, got "1e300"/);
    assertOneLineFailure(runs[2]!, "train", 2, /--seed must be an integer from 0 to 4294967295, got -1/);
    assertOneLineFailure(runs[3]!, "train", 2, /--lr expects a number in decimal .*got "0b11"/);
    assertOneLineFailure(runs[4]!, "train", 2, /--lr must be a number from 0 to 3\.4028e\+38 \(float32's largest\), got 1e\+300/);
    assertOneLineFailure(runs[5]!, "train", 2, /--momentum must be a number from 0 to 3\.4028e\+38 \(float32's largest\), got -0\.5/);
    runs.forEach(assertNoWork);
  });
});

describe("finding 6: an unwritable --out fails before training, naming the reason", { concurrency: CONCURRENCY }, () => {
  it("a read-only folder: exit 2 before the backend starts", async (t) => {
    const dir = freshDir("readonly");
    const asRoot = process.getuid?.() === 0;
    let options = {};
    if (asRoot) {
      // Root writes through permissions: use a read-only tmpfs in a private mount namespace instead.
      if (spawnSync("unshare", ["-m", "true"]).status !== 0) return t.skip("as root, a read-only folder needs unshare -m");
      options = { shell: (command: string) => ["unshare", "-m", "sh", "-c", `mount -t tmpfs -o ro tmpfs '${dir}' && exec ${command}`] };
    } else chmodSync(dir, 0o555);
    const r = await runTask("train", cpu("--out", join(dir, "m.json")), options);
    assertOneLineFailure(r, "train", 2, asRoot ? /cannot write --out file .*m\.json: .* is on a read-only file system \(EROFS\)/ : /no permission to create files in .* \(EACCES\)/);
    assertNoWork(r);
  });

  it("a full disk at the final write: exit 2 naming ENOSPC, the old file and no temporary file left", async (t) => {
    if (process.getuid?.() !== 0 || spawnSync("unshare", ["-m", "true"]).status !== 0) return t.skip("needs root and unshare -m for a tiny tmpfs");
    const dir = freshDir("full");
    // A 16 KiB tmpfs holding the old state dict, then filled to the brim.
    const fill = `mount -t tmpfs -o size=16k tmpfs '${dir}' && printf '%s' '${GOOD_STATE}' > '${dir}/m.json' && (cat /dev/zero > '${dir}/fill' 2>/dev/null; true)`;
    const after = `ls -a '${dir}'; cat '${dir}/m.json'`;
    const r = await runTask("train", cpu("--steps", "3", "--out", join(dir, "m.json")), {
      shell: (command: string) => ["unshare", "-m", "sh", "-c", `${fill} && { ${command}; code=$?; ${after}; exit $code; }`],
    });
    assertOneLineFailure(r, "train", 2, /cannot write --out file .*m\.json: no space left on the device .*\(ENOSPC\); the file was left as it was/);
    const listing = r.stdout.slice(r.stdout.lastIndexOf("\n.\n"));
    assert.deepEqual(listing.trim().split("\n").slice(0, -1).sort(), [".", "..", "fill", "m.json"].sort(), `files left:\n${listing}`);
    assert.ok(r.stdout.trimEnd().endsWith(GOOD_STATE), "the old --out content changed");
  });
});

describe("finding 7: predict's advice and numbers", { concurrency: CONCURRENCY }, () => {
  it("--x 3 on a 2-input model says to give 2 numbers (not to export with a dynamic axis); --x 0x10,0b11 is refused", async () => {
    const dir = freshDir("predict");
    const model = file(dir, "m.json", { weight: [[2, 3]], bias: [4] });
    const torch = join(REPO_ROOT, "test/fixtures/seed_torch.onnx");
    const runs = await Promise.all([
      runTask("predict", cpu("--model", model, "--x", "3")),
      runTask("predict", cpu("--model", torch, "--x", "3")),
      runTask("predict", cpu("--model", model, "--x", "0x10,0b11")),
    ]);
    for (const r of runs.slice(0, 2)) {
      assertOneLineFailure(r, "predict", 2, /--x has 1 value per row, but --model .* takes 2 \(input shape \[(batch|1), 2\]\); give rows of 2 numbers, e\.g\. --x 1,2/);
      assert.doesNotMatch(r.stderr, /dynamic axis/);
    }
    assertOneLineFailure(runs[2]!, "predict", 2, /--x: row 0, value 0 is "0x10", not a finite decimal number/);
  });
});
