/** Reading a JSON file a user named, with errors that say which file and what went wrong. */
import { readFileSync } from "node:fs";
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
