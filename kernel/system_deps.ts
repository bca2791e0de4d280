/**
 * What the notebooks need from the system: Jupyter (nbconvert, nbclient, jupyter_client) on
 * Debian's Python, and Chromium for the browser check. Missing pieces are installed with apt when
 * running as root; otherwise the error says the exact command that installs them.
 *
 * libjs-mathjax is optional: Debian's nbconvert points its HTML at /usr/share/javascript/mathjax,
 * so with it the exported notebooks show their formulas typeset, offline; without it, as TeX source.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export const JUPYTER_PACKAGES = ["jupyter-nbconvert", "python3-nbclient", "python3-ipykernel", "jupyter-client"] as const;
export const SYSTEM_PACKAGES = [...JUPYTER_PACKAGES, "chromium"] as const;
export const MATHJAX_PACKAGE = "libjs-mathjax";
/**
 * Mesa's EGL and llvmpipe: Node's software WebGPU (Dawn's OpenGL ES backend), which the tests use
 * to run gradlab's WebGPU kernels on machines without a GPU.
 */
export const SOFTWARE_GPU_PACKAGES = ["libegl1", "libegl-mesa0", "libgl1-mesa-dri"] as const;
const MATHJAX_FILE = "/usr/share/javascript/mathjax/MathJax.js";

/** Python modules the notebook runner imports, and the package that provides each. */
const JUPYTER_MODULES = ["jupyter_core", "jupyter_client", "nbformat", "nbclient", "nbconvert"];

export class SystemDepsError extends Error {
  override name = "SystemDepsError";
}

export function aptCommand(packages: readonly string[]): string {
  return `apt-get install -y --no-install-recommends ${packages.join(" ")}`;
}

/** The command a person runs (as root, or with sudo) to install these. */
export function installAdvice(packages: readonly string[]): string {
  return `apt-get update && ${aptCommand(packages)}   (as root, or prefix each apt-get with sudo)`;
}

export function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/**
 * The Python that runs Jupyter: $GRADLAB_JUPYTER_PYTHON, else Debian's /usr/bin/python3 (the
 * `python3` first on PATH may be another one, without Jupyter), else `python3`.
 */
export function jupyterPython(): string {
  return process.env.GRADLAB_JUPYTER_PYTHON || (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
}

export interface JupyterStatus {
  python: string;
  ok: boolean;
  /** Module → version, for those found. */
  versions: Record<string, string>;
  missing: string[];
}

export function jupyterStatus(python = jupyterPython()): JupyterStatus {
  const probe = [
    "import importlib, json",
    "found, missing = {}, []",
    `for name in ${JSON.stringify(JUPYTER_MODULES)}:`,
    "    try:",
    "        m = importlib.import_module(name)",
    "        found[name] = str(getattr(m, '__version__', '?'))",
    "    except Exception:",
    "        missing.append(name)",
    "print(json.dumps({'found': found, 'missing': missing}))",
  ].join("\n");
  const run = spawnSync(python, ["-c", probe], { encoding: "utf8" });
  if (run.error || run.status !== 0) return { python, ok: false, versions: {}, missing: [...JUPYTER_MODULES] };
  const { found, missing } = JSON.parse(run.stdout) as { found: Record<string, string>; missing: string[] };
  return { python, ok: missing.length === 0, versions: found, missing };
}

export function mathjaxPresent(): boolean {
  return existsSync(MATHJAX_FILE);
}

export function chromiumPresent(path = process.env.GRADLAB_CHROMIUM || "/usr/bin/chromium"): boolean {
  return existsSync(path);
}

/** Those of `packages` that dpkg does not list as installed ([] where there is no dpkg to ask). */
export function debianPackagesMissing(packages: readonly string[]): string[] {
  const r = spawnSync("dpkg-query", ["-W", "-f=${Package} ${Status}\\n", ...packages], { encoding: "utf8" });
  if (r.error) return [];
  const installed = new Set(r.stdout.split("\n").filter((l) => l.endsWith(" installed")).map((l) => l.split(" ")[0]!.split(":")[0]!));
  return packages.filter((p) => !installed.has(p));
}

/**
 * Makes sure Node's software WebGPU can start: installs Mesa's EGL and llvmpipe as root; otherwise
 * returns the command that would (and the WebGPU tests then say they were skipped, and why).
 */
export function ensureSoftwareGpu(log: (line: string) => void = () => {}): string | null {
  const missing = debianPackagesMissing(SOFTWARE_GPU_PACKAGES);
  if (missing.length === 0) return null;
  if (!mayInstall()) return `Mesa's software GPU is not installed: ${installAdvice(missing)}`;
  aptInstall(missing, log);
  return null;
}

/** Installing is allowed as root unless GRADLAB_NO_APT is set (then only the advice is given). */
export function mayInstall(): boolean {
  return isRoot() && !process.env.GRADLAB_NO_APT;
}

/**
 * apt-get update, then install. Test files run in parallel and may each find something missing:
 * one lock file serialises gradlab's apt runs, and apt waits for dpkg's own lock as well.
 */
export function aptInstall(packages: readonly string[], log: (line: string) => void): void {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const wait = "-o DPkg::Lock::Timeout=600";
  const script = `apt-get ${wait} update -qq && apt-get ${wait} install -y --no-install-recommends ${packages.join(" ")}`;
  log(`$ ${script}`);
  const hasFlock = spawnSync("flock", ["--version"], { stdio: "ignore" }).status === 0;
  const [command, args] = hasFlock ? ["flock", ["/tmp/gradlab-apt.lock", "sh", "-c", script]] : ["sh", ["-c", script]];
  const r = spawnSync(command, args as string[], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", env });
  if (r.error || r.status !== 0) {
    throw new SystemDepsError(`${script} failed (${r.error?.message ?? `exit ${r.status}`}):\n${(r.stderr || r.stdout || "").trim().split("\n").slice(-15).join("\n")}`);
  }
}

export interface EnsureOptions {
  jupyter?: boolean;
  chromium?: boolean;
  log?: (line: string) => void;
}

/** Makes sure Jupyter and/or Chromium are there: installs them as root, else throws the command to run. */
export function ensureSystemDeps(options: EnsureOptions = {}): JupyterStatus | null {
  const log = options.log ?? ((line: string) => console.log(line));
  const wantJupyter = options.jupyter ?? true;
  const wantChromium = options.chromium ?? false;
  let status = wantJupyter ? jupyterStatus() : null;
  const missing: string[] = [];
  if (status && !status.ok) missing.push(...JUPYTER_PACKAGES);
  if (wantChromium && !chromiumPresent()) missing.push("chromium");
  const optional = wantJupyter && !mathjaxPresent() ? [MATHJAX_PACKAGE] : [];
  if (missing.length === 0 && optional.length > 0) {
    if (mayInstall()) aptInstall(optional, log);
    else log(`gradlab: without ${MATHJAX_PACKAGE}, the HTML exports show formulas as TeX source; to typeset them: ${installAdvice(optional)}`);
  }
  if (missing.length === 0) return status;

  const what = [status && !status.ok ? `Jupyter (Python modules ${status.missing.join(", ")} not importable by ${status.python})` : null, missing.includes("chromium") ? "Chromium (/usr/bin/chromium)" : null]
    .filter(Boolean)
    .join(" and ");
  if (!mayInstall()) {
    throw new SystemDepsError(`${what} missing. Install with:\n  ${installAdvice([...missing, ...optional])}`);
  }
  log(`gradlab: ${what} missing; installing ${missing.join(" ")} with apt-get`);
  aptInstall([...missing, ...optional], log);
  if (wantJupyter) {
    status = jupyterStatus();
    if (!status.ok) throw new SystemDepsError(`installed ${JUPYTER_PACKAGES.join(" ")}, but ${status.python} still cannot import ${status.missing.join(", ")}; set GRADLAB_JUPYTER_PYTHON to the Python that has Jupyter`);
  }
  if (wantChromium && !chromiumPresent()) throw new SystemDepsError("installed chromium, but /usr/bin/chromium is still missing");
  return status;
}
