/**
 * Installs the gradlab Jupyter kernel: a kernelspec "gradlab" ("TypeScript (gradlab)") whose
 * command is this checkout's kernel/launch.cjs — the project's own tslab, by absolute path, on
 * the Node that ran the installer — never a `tslab` found on PATH.
 *
 *   npx tsx kernel/install.ts [--user | --system | --prefix DIR] [--uninstall]
 *
 * Default: --user (the user's Jupyter data dir, $JUPYTER_DATA_DIR if set), root included: a
 * system-wide kernelspec (/usr/local/share/jupyter/kernels/gradlab) would send every user's
 * notebooks to whichever checkout installed it last, so it is written only when --system asks.
 * It prints where the kernelspec is and which checkout and Node it runs. Running it again changes
 * nothing; after moving the checkout or changing Node, it rewrites the kernelspec. Jupyter itself
 * is checked first and, if missing, installed with apt (root) or named with the command that
 * installs it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { KERNEL_DISPLAY_NAME, KERNEL_NAME } from "./build_notebooks";
import { SystemDepsError, ensureSystemDeps, jupyterPython } from "./system_deps";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const LAUNCHER = join(ROOT, "kernel", "launch.cjs");

export type InstallMode = { kind: "user" } | { kind: "system" } | { kind: "prefix"; prefix: string };

export interface InstallResult {
  /** The kernelspec folder. */
  dir: string;
  /** "installed", "updated", "unchanged", "removed" or "absent". */
  action: "installed" | "updated" | "unchanged" | "removed" | "absent";
  /** Set when Jupyter would pick another gradlab kernelspec first. */
  shadowedBy: string | null;
}

export function kernelSpec(): object {
  return {
    argv: [process.execPath, LAUNCHER, "--config-path", "{connection_file}"],
    display_name: KERNEL_DISPLAY_NAME,
    language: "typescript",
    interrupt_mode: "signal",
    metadata: { gradlab_root: ROOT, debugger: false },
  };
}

export function defaultMode(): InstallMode {
  return { kind: "user" };
}

/** One line: what the kernelspec starts (launcher, checkout, Node). */
export function describeKernelSpec(): string {
  return `it runs ${LAUNCHER} (the checkout at ${ROOT}) on ${process.execPath} (Node ${process.version})`;
}

/** Where Jupyter keeps kernelspecs for a mode, as Jupyter itself computes it. */
export function kernelsDir(mode: InstallMode, python = jupyterPython()): string {
  if (mode.kind === "prefix") return join(resolve(mode.prefix), "share", "jupyter", "kernels");
  const r = spawnSync(python, ["-c", "import json; from jupyter_core.paths import jupyter_data_dir, SYSTEM_JUPYTER_PATH; print(json.dumps([jupyter_data_dir(), SYSTEM_JUPYTER_PATH[0]]))"], { encoding: "utf8" });
  if (r.error || r.status !== 0) throw new SystemDepsError(`${python} cannot tell Jupyter's data folders (is jupyter_core installed?): ${(r.stderr || r.error?.message || "").trim()}`);
  const [user, system] = JSON.parse(r.stdout) as [string, string];
  return join(mode.kind === "user" ? user : system, "kernels");
}

/** The gradlab kernelspec folder Jupyter would use, if any. */
export function activeKernelDir(python = jupyterPython(), env: NodeJS.ProcessEnv = process.env): string | null {
  const r = spawnSync(python, ["-c", `from jupyter_client.kernelspec import KernelSpecManager as M\ntry: print(M().get_kernel_spec(${JSON.stringify(KERNEL_NAME)}).resource_dir)\nexcept Exception: pass`], { encoding: "utf8", env });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

export function installKernel(mode: InstallMode = defaultMode()): InstallResult {
  if (!existsSync(join(ROOT, "node_modules", "tslab", "dist", "main.js"))) {
    throw new SystemDepsError(`tslab is not installed in ${join(ROOT, "node_modules")}; run \`npm ci\` in ${ROOT} first`);
  }
  const dir = join(kernelsDir(mode), KERNEL_NAME);
  const file = join(dir, "kernel.json");
  const content = `${JSON.stringify(kernelSpec(), null, 2)}\n`;
  const before = existsSync(file) ? readFileSync(file, "utf8") : null;
  let action: InstallResult["action"] = "unchanged";
  if (before !== content) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, content);
    action = before === null ? "installed" : "updated";
  }
  const active = activeKernelDir();
  const shadowedBy = mode.kind !== "prefix" && active !== null && resolve(active) !== resolve(dir) ? active : null;
  return { dir, action, shadowedBy };
}

export function uninstallKernel(mode: InstallMode = defaultMode()): InstallResult {
  const dir = join(kernelsDir(mode), KERNEL_NAME);
  if (!existsSync(dir)) return { dir, action: "absent", shadowedBy: null };
  rmSync(dir, { recursive: true, force: true });
  return { dir, action: "removed", shadowedBy: null };
}

function parseArgs(args: string[]): { mode: InstallMode; uninstall: boolean } {
  let mode = defaultMode();
  let uninstall = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--user") mode = { kind: "user" };
    else if (a === "--system") mode = { kind: "system" };
    else if (a === "--prefix" && args[i + 1]) mode = { kind: "prefix", prefix: args[++i]! };
    else if (a.startsWith("--prefix=")) mode = { kind: "prefix", prefix: a.slice("--prefix=".length) };
    else if (a === "--uninstall") uninstall = true;
    else throw new SystemDepsError(`unknown argument ${JSON.stringify(a)}; usage: kernel/install.ts [--user | --system | --prefix DIR] [--uninstall]`);
  }
  return { mode, uninstall };
}

export function main(args: string[]): number {
  try {
    const { mode, uninstall } = parseArgs(args);
    if (uninstall) {
      const r = uninstallKernel(mode);
      console.log(r.action === "removed" ? `removed the gradlab kernel from ${r.dir}` : `no gradlab kernel at ${r.dir}: nothing to remove`);
      return 0;
    }
    ensureSystemDeps({ jupyter: true });
    const r = installKernel(mode);
    const verb = { installed: "installed", updated: "updated", unchanged: "already up to date:" }[r.action as "installed" | "updated" | "unchanged"];
    console.log(`gradlab kernel "${KERNEL_DISPLAY_NAME}" ${verb} ${r.dir}${mode.kind === "user" ? " (for this user; --system installs it for everyone)" : ""}`);
    console.log(`  ${describeKernelSpec()}`);
    if (r.shadowedBy) console.log(`note: Jupyter will pick the gradlab kernelspec at ${r.shadowedBy} first; remove it or install there`);
    return 0;
  } catch (error) {
    if (error instanceof SystemDepsError) {
      console.error(`gradlab kernel: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
