/**
 * Executes notebooks with `jupyter nbconvert --execute` on the gradlab kernel, then converts each
 * executed notebook to HTML. Execution runs with --allow-errors, so that a failing notebook is
 * still written, outputs and all, and the cells after a failing one still run (the kernel honours
 * the stop_on_error: false that nbclient sends); the verdict comes from reading it: the first code
 * cell with an error output (the kernel reports thrown errors and TypeScript compile errors as
 * Jupyter errors).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { KERNEL_NAME } from "./build_notebooks";
import { jupyterPython } from "./system_deps";

export interface CellFailure {
  /** Position among all cells, from 1 (as Jupyter's "cell N" counts). */
  cell: number;
  /** Position among code cells, from 1. */
  codeCell: number;
  firstLine: string;
  reason: string;
}

export interface NotebookRun {
  name: string;
  source: string;
  /** The executed .ipynb (null when nbconvert wrote none). */
  executed: string | null;
  html: string | null;
  seconds: number;
  failure: CellFailure | null;
  /** nbconvert's own failure (kernel did not start, timeout), when it wrote no notebook. */
  error: string | null;
}

export interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

export interface NotebookCell {
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
  execution_count?: number | null;
  /** nbclient records `execution`: ISO times of "iopub.status.busy", "shell.execute_reply", … */
  metadata?: Record<string, unknown>;
}

export interface Notebook {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
}

export const joinText = (t: string | string[] | undefined): string => (Array.isArray(t) ? t.join("") : t ?? "");

/** The first failing code cell of an executed notebook, or null when every cell ran cleanly. */
export function firstFailure(notebook: Notebook): CellFailure | null {
  let codeCell = 0;
  for (const [index, cell] of notebook.cells.entries()) {
    if (cell.cell_type !== "code") continue;
    codeCell++;
    const source = joinText(cell.source);
    if (source.trim() === "") continue;
    const firstLine = source.split("\n").find((l) => l.trim() !== "") ?? "";
    // Only errors: stderr carries warnings too (tfjs's, ONNX Runtime's), which do not fail a cell.
    const errors = (cell.outputs ?? []).flatMap((o) => (o.output_type === "error" ? [`${o.ename ?? "Error"}: ${o.evalue ?? ""}`.trim()] : []));
    if (errors.length > 0) return { cell: index + 1, codeCell, firstLine, reason: errors.join("\n") };
  }
  return null;
}

export function describeFailure(name: string, f: CellFailure): string {
  const reason = f.reason.split("\n").slice(0, 12).join("\n    ");
  return `${name}: cell ${f.cell} (code cell ${f.codeCell}, \`${f.firstLine.trim().slice(0, 80)}\`) failed:\n    ${reason}`;
}

interface Exec {
  code: number | null;
  output: string;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Exec> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", (e) => resolvePromise({ code: null, output: `${output}${e.message}` }));
    child.on("close", (code) => resolvePromise({ code, output }));
  });
}

export interface RunOptions {
  outDir: string;
  /** Extra environment for Jupyter and the kernel (JUPYTER_PATH for a test kernelspec, GRADLAB_BACKEND…). */
  env?: NodeJS.ProcessEnv;
  /** Seconds one cell may take (default 300). */
  cellTimeout?: number;
  html?: boolean;
}

export async function executeNotebook(path: string, options: RunOptions): Promise<NotebookRun> {
  const source = resolve(path);
  const name = basename(source, ".ipynb");
  const outDir = resolve(options.outDir);
  mkdirSync(outDir, { recursive: true });
  const env = { ...process.env, ...options.env };
  const python = jupyterPython();
  const executed = join(outDir, `${name}.ipynb`);
  const start = performance.now();
  const exec = await run(
    python,
    [
      "-m",
      "nbconvert",
      "--to",
      "notebook",
      "--execute",
      "--allow-errors",
      `--ExecutePreprocessor.kernel_name=${KERNEL_NAME}`,
      `--ExecutePreprocessor.timeout=${options.cellTimeout ?? 300}`,
      "--output-dir",
      outDir,
      "--output",
      name,
      source,
    ],
    env,
    outDir,
  );
  const seconds = (performance.now() - start) / 1000;
  if (exec.code !== 0 || !existsSync(executed)) {
    const tail = exec.output.trim().split("\n").filter((l) => !/^\s/.test(l)).slice(-6).join("\n    ");
    return { name, source, executed: null, html: null, seconds, failure: null, error: `nbconvert --execute failed (exit ${exec.code}):\n    ${tail}` };
  }
  const failure = firstFailure(JSON.parse(readFileSync(executed, "utf8")) as Notebook);
  let html: string | null = null;
  if (options.html ?? true) {
    const h = await run(python, ["-m", "nbconvert", "--to", "html", "--output-dir", outDir, executed], env, outDir);
    html = join(outDir, `${name}.html`);
    if (h.code !== 0 || !existsSync(html)) {
      return { name, source, executed, html: null, seconds, failure, error: `nbconvert --to html failed (exit ${h.code}): ${h.output.trim().split("\n").slice(-3).join(" ")}` };
    }
  }
  return { name, source, executed, html, seconds: (performance.now() - start) / 1000, failure, error: null };
}

/** Runs notebooks `concurrency` at a time (each has its own kernel); results in input order. */
export async function executeNotebooks(paths: readonly string[], options: RunOptions & { concurrency?: number }): Promise<NotebookRun[]> {
  const results: NotebookRun[] = new Array(paths.length);
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const i = next++;
      results[i] = await executeNotebook(paths[i]!, options);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 3, paths.length)) }, worker));
  return results;
}

/** Marks executed notebooks trusted for this user, so the classic notebook runs their plot scripts. */
export async function trustNotebooks(paths: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<boolean> {
  if (paths.length === 0) return true;
  const r = await run(jupyterPython(), ["-m", "nbformat.sign", ...paths], { ...process.env, ...env }, process.cwd());
  return r.code === 0;
}
