/**
 * Write a file so that it is either entirely there or not changed at all: the bytes go to a
 * temporary file beside the target, which is fsynced and renamed over it only once fully
 * written, and then the folder is fsynced so the rename itself survives a power cut.
 *
 * The target is what a shell's `>` would write: a symlink is followed (the link stays a link),
 * and an existing file keeps its mode (and its owner, when we are root and may set it).
 *
 * Opening and committing are separate steps (`PendingWrite.open`, then `commit`) so a command can
 * create the temporary file before a long computation: an unwritable folder then fails in
 * milliseconds, not after the work. Every temporary file still open is removed on `abort`, on
 * process exit (normal or by process.exit from a signal handler), and, for those a killed (-9)
 * process left behind, by the next write to the same target.
 */
import {
  closeSync, fchmodSync, fchownSync, fsyncSync, lstatSync, openSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, writeSync, type Stats,
} from "node:fs";
import process from "node:process";
import { basename, dirname, isAbsolute, join } from "node:path";

const live = new Set<PendingWrite>();
let exitHookInstalled = false;
let sequence = 0;

export class PendingWrite {
  #fd: number | null;
  #done = false;

  private constructor(
    /** The file that commit replaces: the requested path with symlinks followed. */
    readonly target: string,
    /** The temporary file beside it. */
    readonly temp: string,
    fd: number,
  ) {
    this.#fd = fd;
  }

  /** Creates the temporary file now; throws the system error (EACCES, EROFS, ENOENT, …) if it cannot. */
  static open(path: string): PendingWrite {
    const target = followSymlinks(path);
    removeStaleTemps(target);
    const existing = statOrNull(target);
    if (existing !== null && !existing.isFile()) {
      // A rename would replace a device, pipe or folder with a regular file.
      throw Object.assign(new Error(`${path} is not a regular file; an atomic write would replace it`), { code: "ENOTREG" });
    }
    const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${Date.now()}.${sequence++}.tmp`);
    // "wx": never reuse a file that is already there; 0o666 minus the umask, as a new file gets.
    const fd = openSync(temp, "wx", 0o666);
    const pending = new PendingWrite(target, temp, fd);
    live.add(pending);
    installExitHook();
    try {
      if (existing !== null) {
        fchmodSync(fd, existing.mode & 0o7777);
        if (process.getuid?.() === 0 && (existing.uid !== 0 || existing.gid !== 0)) fchownSync(fd, existing.uid, existing.gid);
      }
    } catch (error) {
      pending.abort();
      throw error;
    }
    return pending;
  }

  /** Writes all of `data`, fsyncs, renames over the target and fsyncs the folder; aborts on any failure. */
  commit(data: string | Uint8Array): void {
    if (this.#done || this.#fd === null) throw new Error(`write to ${this.target} was already ${this.#done ? "committed or aborted" : "closed"}`);
    try {
      const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
      for (let offset = 0; offset < bytes.length;) offset += writeSync(this.#fd, bytes, offset, bytes.length - offset);
      fsyncSync(this.#fd);
      closeSync(this.#fd);
      this.#fd = null;
      renameSync(this.temp, this.target);
    } catch (error) {
      this.abort();
      throw error;
    }
    this.#done = true;
    live.delete(this);
    fsyncFolder(dirname(this.target));
  }

  /** Closes and removes the temporary file; the target is left as it was. Safe to call twice. */
  abort(): void {
    if (this.#fd !== null) {
      try {
        closeSync(this.#fd);
      } catch {
        // Already closed by a failed write; the removal below is what matters.
      }
      this.#fd = null;
    }
    if (!this.#done) rmSync(this.temp, { force: true });
    this.#done = true;
    live.delete(this);
  }
}

/** Writes `data` to `path` atomically (open + commit). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  PendingWrite.open(path).commit(data);
}

/** Removes every temporary file this process still has open (for signal handlers before they exit). */
export function abortAllPendingWrites(): void {
  for (const pending of [...live]) pending.abort();
}

/** The file a write to `path` lands in: symlinks followed, even a dangling one (its target is created). */
export function followSymlinks(path: string): string {
  let current = path;
  for (let hops = 0; hops < 40; hops++) {
    let isLink: boolean;
    try {
      isLink = lstatSync(current).isSymbolicLink();
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return current;
      throw error;
    }
    if (!isLink) return current;
    const link = readlinkSync(current);
    current = isAbsolute(link) ? link : join(dirname(current), link);
  }
  throw Object.assign(new Error(`too many levels of symbolic links at ${path}`), { code: "ELOOP" });
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** Temporary files of this target left by processes that no longer exist (killed with -9). */
function removeStaleTemps(target: string): void {
  const name = basename(target).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`^\\.${name}\\.(\\d+)\\.[\\d.]+\\.tmp$`);
  let entries: string[];
  try {
    entries = readdirSync(dirname(target));
  } catch {
    return; // the open that follows reports the folder's problem
  }
  for (const entry of entries) {
    const pid = Number(pattern.exec(entry)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || processExists(pid)) continue;
    rmSync(join(dirname(target), entry), { force: true });
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but is someone else's.
    return (error as { code?: string }).code === "EPERM";
  }
}

/** Makes a rename durable; folders cannot be opened for fsync on every platform, which is then not an error. */
function fsyncFolder(folder: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(folder, "r");
    fsyncSync(fd);
  } catch {
    // EISDIR/EPERM/EINVAL on platforms without folder fsync: the rename is still atomic.
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", abortAllPendingWrites);
}
