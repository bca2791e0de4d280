/**
 * gradlab as a user gets it: `npm pack`, the tarball installed into a fresh project outside the
 * repository (no tsx, no TypeScript, no Jupyter of its own), then used the ways README's "Use
 * gradlab in your own project" shows — plain Node (ESM and CommonJS), TypeScript with nodenext
 * resolution, Deno (through package.json, and through deno.json's exports in a workspace), and
 * Deno's Jupyter kernel. The files the project holds are README's own code
 * blocks (each opens with a `// FILE` line), so the README cannot drift from what runs here.
 * The gradlab kernel's side (a notebook anywhere) is in notebooks.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as ort from "onnxruntime-node";
import { buildPackage, rewriteSpecifier, librarySources, LIB } from "../kernel/build_package";
import { ROOT } from "../kernel/install";
import { jupyterPython } from "../kernel/system_deps";

const README_SECTION = "## Use gradlab in your own project";
const INSTALL_LIMIT_MB = 100;
const DENO = join(ROOT, "node_modules", ".bin", "deno");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

/** README's section, and its code blocks by the file named on their first line. */
function readmeFiles(): { section: string; files: Map<string, string> } {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf(`${README_SECTION}\n`);
  assert.ok(start >= 0, `README.md has no "${README_SECTION}" section`);
  const end = readme.indexOf("\n## ", start + README_SECTION.length);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const files = new Map<string, string>();
  for (const m of section.matchAll(/^```\w*\n\/\/ ([\w.-]+)\n([\s\S]*?)^```/gm)) files.set(m[1]!, m[2]!);
  return { section, files };
}

const work = mkdtempSync(join(tmpdir(), "gradlab-consumer-"));
const project = join(work, "my-project");
const { section, files } = readmeFiles();
let installMB = 0;

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): SpawnSyncReturns<string> {
  const r = spawnSync(command, args, { cwd: options.cwd ?? project, encoding: "utf8", env: { ...process.env, ...options.env }, timeout: options.timeout ?? 120_000 });
  if (r.error) throw r.error;
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function du(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) bytes += du(path);
    else if (entry.isFile()) bytes += statSync(path).size;
  }
  return bytes;
}

before(() => {
  buildPackage();
  // `npm pack` builds first itself (prepack); dist/ is current here, so that is a no-op.
  const packOut = ok(run("npm", ["pack", "--json", "--pack-destination", work], { cwd: ROOT }), "npm pack");
  // The prepack build prints its line first; npm's JSON follows.
  const packed = JSON.parse(packOut.slice(packOut.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
  const tarball = join(work, packed[0]!.filename);
  const paths = packed[0]!.files.map((f) => f.path);
  assert.ok(paths.includes("dist/mod.js") && paths.includes("dist/mod.d.ts") && paths.includes("dist/mod.js.map"), "the tarball lacks dist/");
  assert.deepEqual(paths.filter((p) => /^(lib|test|kernel|notebooks)\//.test(p)), [], "the tarball ships sources or tests");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), `${JSON.stringify({ name: "my-project", private: true, type: "module" }, null, 2)}\n`);
  ok(run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], { timeout: 300_000 }), "npm install");
  installMB = du(join(project, "node_modules")) / 1e6;
  for (const [name, content] of files) writeFileSync(join(project, name), content);
});

after(() => rmSync(work, { recursive: true, force: true }));

describe("the package", () => {
  it(`installs the library's runtime only: under ${INSTALL_LIMIT_MB} MB, no tsx, TypeScript, tslab, zeromq or plotly.js`, () => {
    const present = (name: string) => existsSync(join(project, "node_modules", name));
    for (const name of ["@tensorflow/tfjs-core", "@tensorflow/tfjs-backend-cpu", "@tensorflow/tfjs-backend-wasm", "protobufjs", "onnx-proto"]) assert.ok(present(name), `${name} missing`);
    for (const name of ["tsx", "typescript", "tslab", "zeromq", "plotly.js-dist", "@tensorflow/tfjs", "@tensorflow/tfjs-layers", "webgpu"]) assert.ok(!present(name), `${name} was installed`);
    console.log(`consumer install: ${installMB.toFixed(1)} MB in node_modules`);
    assert.ok(installMB < INSTALL_LIMIT_MB, `node_modules holds ${installMB.toFixed(1)} MB`);
  });

  it("README's section names the commands this test runs", () => {
    for (const command of ["npm pack", "npm install /path/to/gradlab-0.1.0.tgz", "node train.mjs", "node train.cjs", "npx tsc -p .", "deno run -A train_deno.ts", "deno jupyter --install"]) {
      assert.ok(section.includes(command), `README's section does not show \`${command}\``);
    }
    assert.deepEqual([...files.keys()].sort(), ["check.ts", "deno_notebook.ts", "train.cjs", "train.mjs", "train_deno.ts", "tsconfig.json"]);
  });

  it("plain node, ESM: trains the seed's model and exports ONNX that ONNX Runtime runs; import time measured", async () => {
    const out = ok(run(process.execPath, ["train.mjs"]), "node train.mjs");
    const m = /trained 300 steps: weight \[\[([-\d.e]+),([-\d.e]+)\]\], bias \[([-\d.e]+)\]/.exec(out);
    assert.ok(m, out);
    const [w1, w2, b] = m.slice(1).map(Number) as [number, number, number];
    for (const [got, want] of [[w1, 2], [w2, 3], [b, 4]] as const) assert.ok(Math.abs(got - want) < 0.05, `${got} is not near ${want}`);
    // ONNX Runtime, an independent implementation, on the consumer's file: y = w·x + b.
    const session = await ort.InferenceSession.create(readFileSync(join(project, "linear.onnx")));
    const x = new ort.Tensor("float32", Float32Array.from([3, 2]), [1, 2]);
    const result = await session.run({ [session.inputNames[0]!]: x });
    const y = (result[session.outputNames[0]!]!.data as Float32Array)[0]!;
    assert.ok(Math.abs(y - (3 * w1 + 2 * w2 + b)) < 1e-5, `ONNX Runtime: ${y}; from the printed weights: ${3 * w1 + 2 * w2 + b}`);
    // CPU time as well as wall time: the wall clock of a shared machine measures its load too.
    const measure = 'const c = process.cpuUsage(); const t = performance.now(); await import("gradlab"); const u = process.cpuUsage(c); console.log(`${(performance.now() - t).toFixed(0)} ms (${((u.user + u.system) / 1000).toFixed(0)} ms of CPU)`);';
    const timing = ok(run(process.execPath, ["--input-type=module", "-e", measure]), "import timing");
    console.log(`consumer: \`import("gradlab")\` in plain node took ${timing.trim()}; ONNX Runtime gives y(3, 2) = ${y}`);
  });

  it("plain node, CommonJS: require(\"gradlab\") works (Node ≥ 20.19 loads the ES module)", () => {
    const out = ok(run(process.execPath, ["train.cjs"]), "node train.cjs");
    const bias = Number(/bias \[([-\d.e]+)\]/.exec(out)?.[1]);
    assert.ok(Math.abs(bias - 4) < 0.05, out);
    assert.doesNotMatch(run(process.execPath, ["train.cjs"]).stderr, /ExperimentalWarning|ERR_REQUIRE_ESM/);
  });

  it("TypeScript, moduleResolution nodenext: the types resolve (and a wrong use is an error)", () => {
    ok(run(process.execPath, [TSC, "-p", "."]), "tsc -p . (nodenext)");
    // The same project with the @ts-expect-error removed must fail: the types are real, not any.
    writeFileSync(join(project, "check_wrong.ts"), files.get("check.ts")!.replace(/^\/\/ @ts-expect-error.*\n/m, ""));
    const r = run(process.execPath, [TSC, "--module", "nodenext", "--target", "esnext", "--strict", "--skipLibCheck", "--noEmit", "check_wrong.ts"]);
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, /check_wrong\.ts\(\d+,\d+\): error TS2322: Type '"webgl"' is not assignable to type 'BackendChoice'/);
  });

  it("Deno: a script imports \"gradlab\" from the project's node_modules, without --sloppy-imports", () => {
    const out = ok(run(DENO, ["run", "-A", "train_deno.ts"]), "deno run -A train_deno.ts");
    assert.match(out, /^Deno \d+\.\d+\.\d+: trained 300 steps; bias \[4\.0\d*\]$/m);
  });

  it("Deno, through deno.json's exports: a workspace with the checkout as a member type-checks and runs @gradlab/gradlab", () => {
    const workspace = join(work, "deno-workspace");
    mkdirSync(workspace);
    symlinkSync(ROOT, join(workspace, "gradlab"));
    symlinkSync(join(project, "node_modules"), join(workspace, "node_modules")); // tfjs-core & co.
    writeFileSync(join(workspace, "package.json"), readFileSync(join(project, "package.json")));
    writeFileSync(join(workspace, "deno.json"), JSON.stringify({ workspace: ["./gradlab"] }));
    writeFileSync(
      join(workspace, "main.ts"),
      [
        'import * as gl from "@gradlab/gradlab";',
        'import { lossCurve } from "@gradlab/gradlab/plot";',
        'await gl.setBackend("cpu");',
        "const y: gl.tf.Tensor2D = new gl.Linear(2, 1).forward(gl.tf.tensor2d([[3, 2]]));",
        "// @ts-expect-error: the types are gradlab's own (each module of dist/ names its .d.ts), not any",
        'const notABackend: gl.BackendChoice = "webgl";',
        'console.log(`shape ${JSON.stringify(y.shape)}; figure ${lossCurve("loss", [1]).name}; ${notABackend}`);',
        "",
      ].join("\n"),
    );
    ok(run(DENO, ["check", "main.ts"], { cwd: workspace }), "deno check main.ts (workspace)");
    assert.match(ok(run(DENO, ["run", "-A", "main.ts"], { cwd: workspace }), "deno run main.ts (workspace)"), /^shape \[1,1\]; figure loss; webgl$/m);
  });

  it("Deno's Jupyter kernel runs a notebook that imports gradlab from the project; a figure without plotly.js-dist says what to install", () => {
    // `deno jupyter --install` writes to the user's Jupyter folder; HOME and XDG_DATA_HOME point it here.
    const home = join(work, "home");
    const env = { HOME: home, XDG_DATA_HOME: join(home, "data"), JUPYTER_PATH: join(home, "data", "jupyter"), JUPYTER_DATA_DIR: join(home, "jupyter-data"), JUPYTER_RUNTIME_DIR: join(home, "runtime") };
    ok(run(DENO, ["jupyter", "--install"], { env }), "deno jupyter --install");
    const cells = files.get("deno_notebook.ts")!.split(/^\/\/ next cell\n/m);
    const notebook = {
      cells: cells.map((source) => ({ cell_type: "code", execution_count: null, metadata: {}, outputs: [], source })),
      metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
      nbformat: 4,
      nbformat_minor: 5,
    };
    writeFileSync(join(project, "deno.ipynb"), JSON.stringify(notebook));
    const r = run(jupyterPython(), ["-m", "nbconvert", "--to", "notebook", "--execute", "--allow-errors", "--ExecutePreprocessor.kernel_name=deno", "--output", "deno_executed", "deno.ipynb"], { env, timeout: 180_000 });
    ok(r, "nbconvert --execute with Deno's kernel");
    type Out = { output_type: string; text?: string | string[]; ename?: string; evalue?: string };
    const executed = JSON.parse(readFileSync(join(project, "deno_executed.ipynb"), "utf8")) as { cells: { outputs: Out[] }[] };
    const text = (o: Out) => (Array.isArray(o.text) ? o.text.join("") : o.text ?? "");
    const [train, plot] = executed.cells.map((c) => c.outputs);
    assert.deepEqual(train!.filter((o) => o.output_type === "error"), []);
    assert.match(train!.map(text).join(""), /trained 300 steps in Deno's kernel; bias \[4\.0\d*\]/);
    const error = plot!.find((o) => o.output_type === "error");
    assert.ok(error, `the figure cell did not fail: ${JSON.stringify(plot)}`);
    assert.match(`${error.ename}: ${error.evalue}`, /PlotlyNotFoundError: plotly\.js-dist is not installed .*npm install plotly\.js-dist/);
  });
});

describe("the build (kernel/build_package.ts)", () => {
  it("picks up every module under lib/ and rewrites specifiers to the files they name", () => {
    const sources = librarySources();
    assert.ok(sources.includes(join(LIB, "mod.ts")) && sources.includes(join(LIB, "notebook", "mod.ts")));
    for (const source of sources) {
      const built = source.replace(`${LIB}/`, `${join(ROOT, "dist")}/`).replace(/\.ts$/, "");
      for (const ext of [".js", ".d.ts", ".js.map"]) assert.ok(existsSync(`${built}${ext}`), `${built}${ext} was not built`);
    }
    const from = join(LIB, "notebook", "setup.ts");
    assert.equal(rewriteSpecifier("./display", from), "./display.js");
    assert.equal(rewriteSpecifier("../plot/embed", from), "../plot/embed.js");
    assert.equal(rewriteSpecifier("@tensorflow/tfjs", from), "../tfjs.js");
    assert.equal(rewriteSpecifier("@tensorflow/tfjs", join(LIB, "mod.ts")), "./tfjs.js");
    assert.equal(rewriteSpecifier("node:fs", from), undefined);
    assert.throws(() => rewriteSpecifier("./nowhere", from), /lib\/notebook\/setup\.ts: import "\.\/nowhere" names neither lib\/notebook\/nowhere\.ts nor lib\/notebook\/nowhere\/index\.ts/);
    for (const js of ["mod.js", "notebook/setup.js"]) assert.doesNotMatch(readFileSync(join(ROOT, "dist", js), "utf8"), /from "\.{1,2}\/[^"]*[^s]"|from "@tensorflow\/tfjs"/, `${js} keeps an extensionless or full-tfjs import`);
  });
});
