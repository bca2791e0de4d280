/**
 * Reading a file someone named, within limits: its size is checked before it is read (a 2 GB file
 * fails in milliseconds), a pipe or device (/dev/zero, <(…)) is read in chunks and stopped at the
 * limit, and JSON's nesting is measured before JSON.parse, whose recursion a 200 000-deep file
 * would overflow. The callers word the errors (the CLI names its option; loadState its function).
 */
import { Buffer } from "node:buffer";
import { closeSync, openSync, readSync, statSync } from "node:fs";

export const MIB = 1024 * 1024;

/** Why a bounded read failed: the file is missing, is a folder, is over the limit, or another error. */
export type ReadFailure =
  | { kind: "missing" }
  | { kind: "folder" }
  | { kind: "too big"; size: string; hintMib: number }
  | { kind: "unreadable"; message: string };

/** The bytes of `path`, at most `maxMib` MiB; `fail` turns a failure into the error thrown. */
export function readBoundedBytes(path: string, maxMib: number, fail: (failure: ReadFailure) => Error): Uint8Array {
  const limit = maxMib * MIB;
  const unreadable = (error: unknown): Error => {
    const code = (error as { code?: string }).code;
    return fail(code === "ENOENT" ? { kind: "missing" } : code === "EISDIR" ? { kind: "folder" } : { kind: "unreadable", message: (error as Error).message });
  };
  let stat;
  let fd: number;
  try {
    stat = statSync(path);
  } catch (error) {
    throw unreadable(error);
  }
  if (stat.isDirectory()) throw fail({ kind: "folder" });
  if (stat.size > limit) throw fail({ kind: "too big", size: formatBytes(stat.size), hintMib: Math.ceil(stat.size / MIB) });
  try {
    fd = openSync(path, "r");
  } catch (error) {
    throw unreadable(error);
  }
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const chunk = new Uint8Array(Math.min(16 * MIB, limit + 1 - total) || 1);
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (error) {
        throw unreadable(error);
      }
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > limit) throw fail({ kind: "too big", size: `more than ${maxMib} MiB (a pipe or device)`, hintMib: maxMib * 2 });
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}

/** Deepest JSON nesting accepted: a state dict or data file needs 3; 64 leaves room and stays far from the stack. */
export const MAX_JSON_DEPTH = 64;

/** How deep [ and { nest in `text` (strings skipped), stopping as soon as it passes `stopAbove`. */
export function jsonNestingDepth(text: string, stopAbove = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest && (deepest = depth) > stopAbove) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

export function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}
