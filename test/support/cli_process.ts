/**
 * The train, export and predict tasks as child processes (`node --import tsx lib/cli/<task>_main.ts`,
 * the code `deno task` runs too), optionally behind a wrapper command (script for a terminal,
 * unshare for a private mount, strace), with signals sent at a chosen moment.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSX = import.meta.resolve("tsx");

export interface TaskRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface TaskOptions {
  cwd?: string;
  /** Words put before the node invocation (e.g. ["strace", "-f", …]). */
  wrapper?: string[];
  /** The whole command line from the node invocation as one shell-quoted string (for `script -qc`, `unshare … sh -c`). */
  shell?: (command: string) => string[];
  /** Sends `signal` `afterMs` after stdout or stderr first matches `when`. */
  interrupt?: { when: RegExp; signal: NodeJS.Signals; afterMs?: number };
  timeoutMs?: number;
}

export function nodeTaskCommand(task: "train" | "export" | "predict"): string[] {
  return [process.execPath, "--import", TSX, join(REPO_ROOT, `lib/cli/${task}_main.ts`)];
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs a task to its end and collects what it printed. */
export function runTask(task: "train" | "export" | "predict", args: string[], options: TaskOptions = {}): Promise<TaskRun> {
  let argv = [...nodeTaskCommand(task), ...args];
  if (options.shell) argv = options.shell(argv.map(quote).join(" "));
  if (options.wrapper) argv = [...options.wrapper, ...argv];
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd ?? REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let sent = false;
    const watch = () => {
      const i = options.interrupt;
      if (!i || sent || !i.when.test(stdout + stderr)) return;
      sent = true;
      setTimeout(() => child.kill(i.signal), i.afterMs ?? 0);
    };
    child.stdout.setEncoding("utf8").on("data", (d: string) => ((stdout += d), watch()));
    child.stderr.setEncoding("utf8").on("data", (d: string) => ((stderr += d), watch()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${task} ${args.join(" ")} ran past ${options.timeoutMs ?? 60_000} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - start });
    });
  });
}

export const showRun = (r: TaskRun) => `exit code ${r.code}${r.signal ? ` (signal ${r.signal})` : ""}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`;

/** stderr without the seed's PyTorch broadcasting warning (printed once by every training). */
export function errorLines(r: TaskRun): string[] {
  return r.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("gradlab warning:") && !/Vulkan|BackendVk|^\s*$/.test(l));
}
