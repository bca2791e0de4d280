/**
 * The main job (`npm start`): sets up everything the notebooks need, runs them, says where they are.
 *
 *   1. the package build, lib/ → dist/ (what the kernel's `import … from "gradlab"` loads; skipped
 *      when dist/ is current);
 *   2. Jupyter, installed with apt if missing (as root; otherwise the command to run is printed);
 *   3. the gradlab kernel (kernel/install.ts; nothing changes when it is already there);
 *   4. every notebook in notebooks/ executed into out/notebooks/ (.ipynb with outputs, and .html),
 *      then marked trusted, so that Jupyter runs their plot scripts when they are opened;
 *   5. where they are, and how to open them in Jupyter.
 *
 * Options: --out DIR (default out/notebooks), --user | --system | --prefix DIR (where the kernel goes).
 * Environment: GRADLAB_BACKEND picks the tfjs backend (default auto).
 */
import { readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { KERNEL_DISPLAY_NAME, NOTEBOOK_DIR } from "./build_notebooks";
import { BuildError, buildPackage } from "./build_package";
import { ROOT, describeKernelSpec, installKernel, type InstallMode } from "./install";
import { describeFailure, executeNotebooks, trustNotebooks } from "./run_notebooks";
import { SystemDepsError, chromiumPresent, ensureSystemDeps, installAdvice } from "./system_deps";

async function main(args: string[]): Promise<number> {
  let outDir = join(ROOT, "out", "notebooks");
  let mode: InstallMode | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--out" && args[i + 1]) outDir = resolve(args[++i]!);
    else if (a === "--user") mode = { kind: "user" };
    else if (a === "--system") mode = { kind: "system" };
    else if (a === "--prefix" && args[i + 1]) mode = { kind: "prefix", prefix: args[++i]! };
    else {
      console.error(`unknown argument ${JSON.stringify(a)}; usage: npm start -- [--out DIR] [--user | --system | --prefix DIR]`);
      return 2;
    }
  }
  const rel = (p: string) => relative(process.cwd(), p) || ".";

  console.log("1/4 gradlab package (lib/ → dist/)");
  const build = buildPackage();
  console.log(`    ${build.built ? `built ${build.files} modules in ${build.seconds.toFixed(1)} s` : "up to date"}`);

  console.log("2/4 Jupyter");
  const jupyter = ensureSystemDeps({ jupyter: true })!;
  console.log(`    ${jupyter.python}: nbconvert ${jupyter.versions.nbconvert}, nbclient ${jupyter.versions.nbclient}, jupyter_client ${jupyter.versions.jupyter_client}`);

  console.log("3/4 gradlab kernel");
  const kernel = installKernel(mode);
  console.log(`    "${KERNEL_DISPLAY_NAME}" ${kernel.action === "unchanged" ? "already installed at" : `${kernel.action} at`} ${kernel.dir}`);
  console.log(`    ${describeKernelSpec()}`);
  if (kernel.shadowedBy) console.log(`    note: Jupyter picks the gradlab kernelspec at ${kernel.shadowedBy} first`);
  const env = mode?.kind === "prefix" ? { JUPYTER_PATH: join(resolve(mode.prefix), "share", "jupyter") } : {};

  console.log(`4/4 notebooks → ${rel(outDir)}/ (backend: ${process.env.GRADLAB_BACKEND || "auto"})`);
  const notebooks = readdirSync(NOTEBOOK_DIR)
    .filter((f) => f.endsWith(".ipynb"))
    .sort()
    .map((f) => join(NOTEBOOK_DIR, f));
  const start = performance.now();
  const runs = await executeNotebooks(notebooks, { outDir, env });
  const seconds = (performance.now() - start) / 1000;
  let failed = 0;
  for (const r of runs) {
    const problem = r.error ?? (r.failure ? describeFailure(r.name, r.failure) : null);
    if (problem) failed++;
    console.log(`    ${problem ? "FAILED" : "ok    "} ${r.name} (${r.seconds.toFixed(1)} s)${r.executed ? `  ${rel(r.executed)}` : ""}${r.html ? `  ${rel(r.html)}` : ""}`);
    if (problem) console.log(`      ${problem.replace(/\n/g, "\n      ")}`);
  }
  const executed = runs.flatMap((r) => (r.executed ? [r.executed] : []));
  if (!(await trustNotebooks(executed, env))) console.log("    note: `python3 -m nbformat.sign` failed, so Jupyter will not run the plots' scripts until you trust the notebooks (File → Trust Notebook)");
  console.log(`\n${runs.length - failed} of ${runs.length} notebooks ran cleanly in ${seconds.toFixed(1)} s.`);
  console.log(`
Read them:  open ${rel(outDir)}/*.html in a browser (self-contained, offline).
Run them:   jupyter notebook ${rel(NOTEBOOK_DIR)}/     then pick the kernel "${KERNEL_DISPLAY_NAME}"
            (the server comes from Debian's jupyter-notebook package: ${installAdvice(["jupyter-notebook"]).split("   ")[0]};
             JupyterLab is not packaged by Debian: \`pip install jupyterlab\` in a virtualenv, then \`jupyter lab ${rel(NOTEBOOK_DIR)}/\`;
             either finds the kernel installed above)
Backend:    GRADLAB_BACKEND=cpu|wasm|webgpu|tensorflow jupyter notebook …   (default auto)`);
  if (mode?.kind === "prefix") console.log(`Kernel:     installed under a prefix: start Jupyter with JUPYTER_PATH=${env.JUPYTER_PATH} so it finds it`);
  if (!chromiumPresent()) console.log(`\nThe browser check (npm run test:notebooks) also needs Chromium: ${installAdvice(["chromium"]).split("   ")[0]}`);
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error) => {
      console.error(error instanceof SystemDepsError || error instanceof BuildError ? `gradlab: ${error.message}` : error);
      process.exitCode = 1;
    },
  );
}
