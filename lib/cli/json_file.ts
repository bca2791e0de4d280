/**
 * Files a user named on the command line: errors say which file, which option and what went
 * wrong. Inputs are checked for size and nesting before they are parsed (a 2 GB or 200 000-deep
 * file fails in milliseconds with one line, not with a raw JavaScript error after seconds);
 * outputs are opened before any work and committed atomically (see PendingWrite).
 */
import { accessSync, constants, statSync } from "node:fs";
import { dirname } from "node:path";
import { followSymlinks, PendingWrite } from "../io/atomic_write";
import { jsonNestingDepth, MAX_JSON_DEPTH, readBoundedBytes } from "../io/bounded_read";
import { UsageError } from "./args";

/** The default limit on any input file, in MiB (--max-input-mib raises it). */
export const DEFAULT_MAX_INPUT_MIB = 256;

export { formatBytes, jsonNestingDepth, MAX_JSON_DEPTH } from "../io/bounded_read";

export interface InputFile {
  option: string;
  path: string;
}

/**
 * The bytes of an input file, read up to `maxMib` MiB: a larger file fails on its size before it
 * is read, and a pipe or device (/dev/zero, <(…)) is read in chunks and stopped at the limit.
 */
export function readInputBytes(path: string, what: string, maxMib = DEFAULT_MAX_INPUT_MIB): Uint8Array {
  return readBoundedBytes(path, maxMib, (failure) => {
    switch (failure.kind) {
      case "missing": return new UsageError(`cannot read ${what} file ${path}: no such file`);
      case "folder": return new UsageError(`cannot read ${what} file ${path}: it is a folder, expected a file`);
      case "unreadable": return new UsageError(`cannot read ${what} file ${path}: ${failure.message}`);
      case "too big":
        return new UsageError(`${what} file ${path} is ${failure.size}, over the ${maxMib} MiB limit on input files; if it is meant, raise the limit with --max-input-mib ${failure.hintMib}`);
    }
  });
}

export function readJsonFile(path: string, what: string, maxMib = DEFAULT_MAX_INPUT_MIB): unknown {
  const text = new TextDecoder().decode(readInputBytes(path, what, maxMib));
  const depth = jsonNestingDepth(text, MAX_JSON_DEPTH);
  if (depth > MAX_JSON_DEPTH) throw new UsageError(`${what} file ${path} nests arrays/objects more than ${MAX_JSON_DEPTH} deep; expected a state dict or data file (3 levels)`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what} file ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Opens `path` for an atomic write before any work: its temporary file is created now, so a
 * missing, read-only or unwritable folder fails at once, naming the option and the reason. An
 * output that is one of the inputs (the same file by device and inode, through any link) is
 * refused: it would be overwritten by what was computed from it.
 */
export function openOutput(path: string, option: string, inputs: readonly InputFile[] = []): PendingWrite {
  const fail = (why: string): never => {
    throw new UsageError(`cannot write ${option} file ${path}: ${why}`);
  };
  const existing = statOrNull(path); // through any symlink
  if (existing?.isDirectory()) fail("it is a folder");
  if (existing !== null && !existing.isFile()) fail(`it is not a regular file (a device, pipe or socket), which the atomic write (a rename over it) would replace; choose a file for ${option}`);
  if (existing !== null) {
    for (const input of inputs) {
      const other = statOrNull(input.path);
      if (other !== null && other.dev === existing.dev && other.ino === existing.ino) {
        fail(`it is the same file as ${input.option} ${input.path}, which would be overwritten by what is computed from it; choose another ${option}`);
      }
    }
    try {
      accessSync(path, constants.W_OK);
    } catch {
      fail(`the file is read-only; make it writable or choose another ${option}`);
    }
  }
  const target = followSymlinks(path);
  try {
    return PendingWrite.open(path);
  } catch (error) {
    return fail(describeWriteError(error, dirname(target)));
  }
}

/** Commits `pending`; a failure (e.g. ENOSPC) says so, and that the old file is untouched. */
export function commitOutput(pending: PendingWrite, path: string, option: string, data: string | Uint8Array): void {
  try {
    pending.commit(data);
  } catch (error) {
    throw new UsageError(`cannot write ${option} file ${path}: ${describeWriteError(error, dirname(pending.target))}; the file was left as it was`);
  }
}

function describeWriteError(error: unknown, folder: string): string {
  const code = (error as { code?: string }).code;
  switch (code) {
    case "ENOENT": return `the folder ${folder} does not exist`;
    case "ENOTDIR": return `${folder} is not a folder`;
    case "EACCES":
    case "EPERM": return `no permission to create files in ${folder} (${code})`;
    case "EROFS": return `${folder} is on a read-only file system (EROFS)`;
    case "ENOSPC": return `no space left on the device of ${folder} (ENOSPC)`;
    case "EDQUOT": return `disk quota exceeded in ${folder} (EDQUOT)`;
    case "ELOOP": return "too many levels of symbolic links";
    default: return `${(error as Error).message}`;
  }
}

function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}
