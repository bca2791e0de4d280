/**
 * Issue 9 under Deno: the train and predict tasks run the same code as under Node, so a diverging
 * run exits 3 leaving --out as it was, --out through a symlink keeps the link and the target's
 * mode, Ctrl-C (SIGINT) ends with 130 and no temporary file, and hex numbers are refused.
 */
import { REPO_ROOT } from "./_support";

/** Runs a task; with `interrupt`, sends SIGINT one second after it printed "backend:" (training has begun). */
async function task(name: "train" | "predict", args: string[], interrupt = false) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `lib/cli/${name}_main.ts`, "--backend", "cpu", ...args],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let stdout = "";
  const reading = (async () => {
    for await (const chunk of child.stdout) {
      const before = stdout;
      stdout += decoder.decode(chunk, { stream: true });
      if (interrupt && !/^backend: /m.test(before) && /^backend: /m.test(stdout)) setTimeout(() => child.kill("SIGINT"), 1000);
    }
  })();
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text(), reading]);
  return { code: status.code, stdout, stderr };
}

function expect(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}
const errorLine = (stderr: string) => stderr.split("\n").filter((l) => /^(train|predict): /.test(l));

Deno.test("train task under Deno: divergence exits 3 and --out (a symlink to a 0600 file) is untouched; a good run keeps link and mode", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradlab-deno-cli-" });
  try {
    const old = '{"weight":[[7,8]],"bias":[9]}';
    await Deno.writeTextFile(`${dir}/real.json`, old, { mode: 0o600 });
    await Deno.chmod(`${dir}/real.json`, 0o600);
    await Deno.symlink("real.json", `${dir}/link.json`);
    const diverged = await task("train", ["--lr", "10", "--out", `${dir}/link.json`]);
    expect(diverged.code === 3, `exit ${diverged.code}, expected 3\n${diverged.stderr}`);
    expect(/training diverged: the loss became (Infinity|NaN) at step \d+/.test(errorLine(diverged.stderr)[0] ?? ""), diverged.stderr);
    expect((await Deno.readTextFile(`${dir}/real.json`)) === old, "--out changed after a diverging run");

    const good = await task("train", ["--steps", "5", "--out", `${dir}/link.json`]);
    expect(good.code === 0, `exit ${good.code}\n${good.stderr}`);
    expect((await Deno.lstat(`${dir}/link.json`)).isSymlink, "the link was replaced by a file");
    expect(((await Deno.stat(`${dir}/real.json`)).mode! & 0o777) === 0o600, "the mode changed");
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    expect(names.sort().join(",") === "link.json,real.json", `files left: ${names}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train task under Deno: SIGINT mid-training exits 130, no file written, no temporary file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradlab-deno-cli-" });
  try {
    const r = await task("train", ["--steps", "1000000000", "--out", `${dir}/m.json`], true);
    expect(r.code === 130, `exit ${r.code}, expected 130\n${r.stderr}`);
    expect(/training stopped at step \d+ of 1000000000 \(SIGINT\); no file was written/.test(errorLine(r.stderr)[0] ?? ""), r.stderr);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    expect(names.length === 0, `files left: ${names}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("predict task under Deno: --x 0x10,0b11 is refused with exit 2 (not read as 16,3)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gradlab-deno-cli-" });
  try {
    await Deno.writeTextFile(`${dir}/m.json`, '{"weight":[[2,3]],"bias":[4]}');
    const r = await task("predict", ["--model", `${dir}/m.json`, "--x", "0x10,0b11"]);
    expect(r.code === 2, `exit ${r.code}\n${r.stderr}`);
    expect(/--x: row 0, value 0 is "0x10", not a finite decimal number/.test(errorLine(r.stderr)[0] ?? ""), r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
