/** Files a user named on the command line: errors say which file, which option and what went wrong. */
import { readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomic } from "../io/atomic_write";
import { UsageError } from "./args";

export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new UsageError(`cannot read ${what} file ${path}: ${code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what} file ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Fails before any work when `path` cannot be written: its folder is missing, or it is a folder. */
export function checkWritableTarget(path: string, option: string): void {
  const folder = dirname(path);
  const kind = (p: string) => {
    try {
      return statSync(p).isDirectory() ? "folder" : "file";
    } catch {
      return "missing";
    }
  };
  if (kind(folder) !== "folder") throw new UsageError(`cannot write ${option} file ${path}: the folder ${folder} does not exist`);
  if (kind(path) === "folder") throw new UsageError(`cannot write ${option} file ${path}: it is a folder`);
}

/** Writes atomically; a failure names the user's path, not the temporary file. */
export function writeOutput(path: string, option: string, data: string | Uint8Array): void {
  try {
    writeFileAtomic(path, data);
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new UsageError(`cannot write ${option} file ${path}: ${code ?? (error as Error).message}`);
  }
}
