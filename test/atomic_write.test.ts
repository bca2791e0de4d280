/**
 * writeFileAtomic / PendingWrite (lib/io/atomic_write.ts): what a shell's `>` would write to
 * (symlinks followed, mode and owner kept), and no temporary file left on abort or process exit.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { PendingWrite, writeFileAtomic } from "../lib/io/atomic_write";
import { REPO_ROOT } from "./support/cli_process";

const TMP = mkdtempSync(join(tmpdir(), "gradlab-atomic-"));
after(() => rmSync(TMP, { recursive: true, force: true }));
let made = 0;
function freshDir(): string {
  const dir = join(TMP, String(made++));
  mkdirSync(dir);
  return dir;
}

describe("atomic writes", () => {
  it("follow a symlink (relative, chained, or dangling) and leave the links as links", () => {
    const dir = freshDir();
    writeFileSync(join(dir, "real"), "old");
    symlinkSync("real", join(dir, "a"));
    symlinkSync(join(dir, "a"), join(dir, "b"));
    symlinkSync("new-target", join(dir, "dangling"));
    writeFileAtomic(join(dir, "b"), "via two links");
    writeFileAtomic(join(dir, "dangling"), "created");
    assert.equal(readFileSync(join(dir, "real"), "utf8"), "via two links");
    assert.equal(readFileSync(join(dir, "new-target"), "utf8"), "created");
    for (const link of ["a", "b", "dangling"]) assert.ok(lstatSync(join(dir, link)).isSymbolicLink(), `${link} is no longer a link`);
    assert.deepEqual(readdirSync(dir).sort(), ["a", "b", "dangling", "new-target", "real"]);
  });

  it("keep an existing file's mode (0600, 0640, 0755), and its owner when run as root", (t) => {
    const dir = freshDir();
    for (const mode of [0o600, 0o640, 0o755]) {
      const path = join(dir, `m${mode.toString(8)}`);
      writeFileSync(path, "old");
      chmodSync(path, mode);
      writeFileAtomic(path, "new");
      assert.equal(statSync(path).mode & 0o777, mode);
      assert.equal(readFileSync(path, "utf8"), "new");
    }
    if (process.getuid?.() !== 0) return t.skip("changing a file's owner needs root");
    const owned = join(dir, "owned");
    writeFileSync(owned, "old");
    chownSync(owned, 4321, 8765);
    writeFileAtomic(owned, "new");
    assert.deepEqual([statSync(owned).uid, statSync(owned).gid], [4321, 8765]);
  });

  it("refuse a target that is not a regular file (a pipe, a folder) instead of replacing it", () => {
    const dir = freshDir();
    execFileSync("mkfifo", [join(dir, "pipe")]);
    mkdirSync(join(dir, "folder"));
    for (const name of ["pipe", "folder"]) {
      assert.throws(() => writeFileAtomic(join(dir, name), "x"), { code: "ENOTREG", message: new RegExp(`${name} is not a regular file`) });
    }
    assert.ok(lstatSync(join(dir, "pipe")).isFIFO() && lstatSync(join(dir, "folder")).isDirectory());
    assert.deepEqual(readdirSync(dir).sort(), ["folder", "pipe"]);
  });

  it("PendingWrite: the temporary file exists from open, is gone after abort, and the target is unchanged", () => {
    const dir = freshDir();
    writeFileSync(join(dir, "m.json"), "old");
    const pending = PendingWrite.open(join(dir, "m.json"));
    assert.equal(readdirSync(dir).length, 2);
    pending.abort();
    pending.abort(); // twice is fine
    assert.deepEqual(readdirSync(dir), ["m.json"]);
    assert.equal(readFileSync(join(dir, "m.json"), "utf8"), "old");
    assert.throws(() => pending.commit("late"), /already committed or aborted/);
  });

  it("kill -9 mid-write, 10 times: the target is always a whole version, and the next write removes the leftovers", async (t) => {
    const dir = freshDir();
    const target = join(dir, "m.json");
    // Each version is 4 MB of one repeated digit, so a partial or mixed file is easy to see.
    const writer = `import { writeFileAtomic } from ${JSON.stringify(join(REPO_ROOT, "lib/io/atomic_write.ts"))};
      for (let i = 0; ; i++) {
        writeFileAtomic(${JSON.stringify(target)}, String(i % 10).repeat(4 << 20));
        if (i === 0) process.stdout.write("writing\\n");
      }`;
    writeFileSync(target, "0".repeat(4 << 20)); // a whole version, whenever the first kill lands
    let seed = 12345;
    let midWrite = 0;
    for (let kill = 0; kill < 10; kill++) {
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", writer], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
      await new Promise((resolve) => child.stdout.once("data", resolve)); // its first write is done
      seed = (seed * 1103515245 + 12345) % 2 ** 31; // a fixed sequence of delays from 0 to 300 ms
      await new Promise((resolve) => setTimeout(resolve, seed % 300));
      child.kill("SIGKILL");
      await new Promise((resolve) => child.on("close", resolve));
      const content = readFileSync(target, "utf8");
      assert.equal(content.length, 4 << 20, `after kill ${kill}: ${content.length} bytes, not a whole version`);
      assert.match(content, /^(\d)\1*$/, `after kill ${kill}: the file mixes versions`);
      const temps = readdirSync(dir).filter((f) => f.endsWith(".tmp"));
      assert.ok(temps.length <= 1, `after kill ${kill}: ${temps.length} temporary files; older ones should have been removed`);
      midWrite += temps.length;
    }
    // A kill that landed mid-write left its temporary file (each new writer removed the previous
    // ones); without any, the test would prove nothing.
    t.diagnostic(`${midWrite} of 10 kills landed mid-write`);
    assert.ok(midWrite > 0, "no kill landed during a write");
    writeFileAtomic(target, "final");
    assert.deepEqual(readdirSync(dir), ["m.json"], "temporary files of the killed writers are left");
  });

  it("a process that exits (process.exit, as after a second Ctrl-C) with a pending write leaves no temporary file", () => {
    const dir = freshDir();
    const script = `import { PendingWrite } from ${JSON.stringify(join(REPO_ROOT, "lib/io/atomic_write.ts"))}; PendingWrite.open(${JSON.stringify(join(dir, "m.json"))}); process.exit(7);`;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: REPO_ROOT, encoding: "utf8" });
    assert.equal(child.status, 7, child.stderr);
    assert.deepEqual(readdirSync(dir), []);
  });
});
