/**
 * The notebooks as regression tests: each is executed by `jupyter nbconvert --execute` on the
 * gradlab kernel (installed into a temporary Jupyter folder, never the user's), must run without
 * an error, and must record the facts its story claims — checked here against independent
 * expectations, not against bytes. Then each executed notebook's HTML is opened in headless
 * Chromium, offline, and every plot must draw; screenshots go to test/out/screenshots/.
 *
 * Jupyter and Chromium are installed with apt when missing (as root); otherwise the test fails
 * with the command that installs them.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { checkPage, launchChromium, pageProblems } from "../kernel/chromium";
import { NOTEBOOK_DIR, notebookFromMarkdown, notebookNames, staleNotebooks } from "../kernel/build_notebooks";
import { buildPackage } from "../kernel/build_package";
import { LAUNCHER, ROOT, installKernel } from "../kernel/install";
import { describeFailure, executeNotebook, executeNotebooks, joinText, trustNotebooks, type Notebook, type NotebookRun, type Output } from "../kernel/run_notebooks";
import { ensureSystemDeps, jupyterPython } from "../kernel/system_deps";
import { PLANTED_MISTAKES } from "../lib/ops/linear_mistakes";
import { FACT_MIME, type Fact } from "../lib/notebook/facts";
import { PLOTLY_MIME } from "../lib/plot/show";
import { webgpuUnavailable } from "./support/backends";

const OUT = join(ROOT, "test", "out", "notebooks");
const SCREENSHOTS = join(ROOT, "test", "out", "screenshots");
const EXPECTED_FIGURES: Record<string, string[]> = {
  "01_derive": ["jacobian-vs-weight"],
  "02_gradcheck": ["jacobian-entries", "mistake-entries"],
  "03_train": ["loss-curve", "trajectories", "fitted-plane"],
  "04_export": ["ort-vs-gradlab"],
  "05_mlp": ["digit-samples", "loss-curves", "accuracy-curves", "confusion-matrix", "misclassified"],
};

/** A Jupyter of our own: kernelspec, data, runtime and config folders all under one temp folder. */
const jupyterHome = mkdtempSync(join(tmpdir(), "gradlab-jupyter-"));
const jupyterEnv = {
  JUPYTER_PATH: join(jupyterHome, "share", "jupyter"),
  JUPYTER_DATA_DIR: join(jupyterHome, "data"),
  JUPYTER_RUNTIME_DIR: join(jupyterHome, "runtime"),
  JUPYTER_CONFIG_DIR: join(jupyterHome, "config"),
};

const runs = new Map<string, NotebookRun>();
let suiteSeconds = 0;

function load(name: string): Notebook {
  const run = runs.get(name);
  assert.ok(run?.executed, `${name} was not executed: ${run?.error ?? "no run"}`);
  return JSON.parse(readFileSync(run.executed, "utf8")) as Notebook;
}

function outputs(nb: Notebook): Output[] {
  return nb.cells.flatMap((c) => c.outputs ?? []);
}

function facts(nb: Notebook): Map<string, unknown> {
  const found = new Map<string, unknown>();
  for (const o of outputs(nb)) {
    const fact = o.data?.[FACT_MIME] as Fact | undefined;
    if (fact) found.set(fact.name, fact.value);
  }
  return found;
}

function fact<T>(nb: Notebook, name: string): T {
  const all = facts(nb);
  assert.ok(all.has(name), `no recorded fact "${name}" (found: ${[...all.keys()].join(", ")})`);
  return all.get(name) as T;
}

before(async () => {
  ensureSystemDeps({ jupyter: true, chromium: true });
  buildPackage(); // the kernel's "gradlab" is dist/ (nothing to do when it is current)
  installKernel({ kind: "prefix", prefix: jupyterHome });
  rmSync(OUT, { recursive: true, force: true });
  const start = performance.now();
  const notebooks = notebookNames().map((n) => join(NOTEBOOK_DIR, `${n}.ipynb`));
  for (const run of await executeNotebooks(notebooks, { outDir: OUT, env: jupyterEnv })) runs.set(run.name, run);
  suiteSeconds = (performance.now() - start) / 1000;
  console.log(`notebook suite: ${runs.size} notebooks executed and converted to HTML in ${suiteSeconds.toFixed(1)} s (${[...runs.values()].map((r) => `${r.name} ${r.seconds.toFixed(1)} s`).join(", ")})`);
});

after(() => rmSync(jupyterHome, { recursive: true, force: true }));

describe("notebooks/", () => {
  it("are committed without outputs and match their sources in notebooks/src/", () => {
    assert.deepEqual(staleNotebooks(), [], "run `npm run notebooks:build`");
    for (const name of notebookNames()) {
      const nb = JSON.parse(readFileSync(join(NOTEBOOK_DIR, `${name}.ipynb`), "utf8")) as Notebook & { metadata: { kernelspec: { name: string } } };
      assert.equal(nb.metadata.kernelspec.name, "gradlab");
      for (const cell of nb.cells) if (cell.cell_type === "code") assert.deepEqual([cell.outputs, cell.execution_count], [[], null], `${name} has outputs`);
    }
    assert.deepEqual(notebookNames(), Object.keys(EXPECTED_FIGURES));
  });

  for (const name of Object.keys(EXPECTED_FIGURES)) {
    it(`${name} runs top to bottom on the gradlab kernel without an error`, () => {
      const run = runs.get(name);
      assert.ok(run, `${name} was not run`);
      assert.equal(run.error, null, run.error ?? "");
      assert.equal(run.failure, null, run.failure ? describeFailure(name, run.failure) : "");
      const streams = outputs(load(name)).filter((o) => o.output_type === "error" || (o.output_type === "stream" && o.name === "stderr"));
      assert.deepEqual(streams, []);
    });

    it(`${name}: the first cell says which backend and device are in use, and each plot is present`, () => {
      const nb = load(name);
      const first = nb.cells.find((c) => c.cell_type === "code")!;
      const backend = (first.outputs ?? []).map((o) => o.data?.[FACT_MIME] as Fact<{ name: string; device: string }> | undefined).find((f) => f?.name === "backend");
      assert.ok(backend, "the first code cell records no backend fact");
      assert.match(backend.value.name, /^(tensorflow|webgpu|wasm|cpu)$/);
      assert.ok(backend.value.device.length > 0);
      const figures = outputs(nb).filter((o) => o.data?.[PLOTLY_MIME]);
      assert.deepEqual(figures.map((o) => (o.metadata?.gradlab as { figure?: string } | undefined)?.figure), EXPECTED_FIGURES[name]);
      for (const o of figures) {
        const html = joinText(o.data!["text/html"] as string | string[]);
        assert.match(html, /class="gradlab-plot"/);
        const spec = o.data![PLOTLY_MIME] as { data: unknown[]; layout: object };
        assert.ok(Array.isArray(spec.data) && spec.data.length > 0, "a figure without traces");
      }
      const loaders = outputs(nb).filter((o) => (o.metadata?.gradlab as { plotly?: string } | undefined)?.plotly);
      assert.equal(loaders.length, 1, "plotly.js must be embedded exactly once per notebook");
      // plotly.js mentions its CDN in strings of its own (geo assets), so look for loads only.
      const remoteScripts = outputs(nb).flatMap((o) => joinText(o.data?.["text/html"] as string | string[] | undefined).match(/<script[^>]+src=["']?https?:[^>]*>/g) ?? []);
      assert.deepEqual(remoteScripts, [], "an output loads a script from the network");
    });
  }

  it("derive: every step is verified, and the blog's sign of ∂L/∂Y is shown wrong", () => {
    const nb = load("01_derive");
    for (const step of ["forward", "jacobian_is_weight", "chain_rule"]) assert.ok(fact<{ maxError: number }>(nb, step).maxError < 1e-5, step);
    const sign = fact<{ right: string; blog: string; rightError: number; blogError: number }>(nb, "loss_gradient_sign");
    assert.equal(sign.right, "Y - Yt");
    assert.ok(sign.rightError < 1e-6 && sign.blogError > 1e-2);
    const forms = fact<Record<string, { formula: string; maxError: number; linearFMaxError: number }>>(nb, "matrix_forms");
    assert.deepEqual(Object.keys(forms).sort(), ["dB", "dW", "dX"]);
    for (const [k, v] of Object.entries(forms)) assert.ok(v.maxError < 1e-5 && v.linearFMaxError < 1e-5, k);
  });

  it("gradcheck: LinearF passes and every planted mistake is caught", () => {
    const nb = load("02_gradcheck");
    assert.equal(fact<{ passed: boolean }>(nb, "gradcheck_linear").passed, true);
    const planted = fact<{ name: string; caught: boolean; says: string }[]>(nb, "planted_mistakes");
    assert.deepEqual(planted.map((p) => p.name), PLANTED_MISTAKES.map((m) => m.name));
    for (const p of planted) {
      assert.equal(p.caught, true, `${p.name} not caught`);
      assert.ok(p.says.length > 0);
    }
    assert.ok(fact<{ maxGap: number }>(nb, "jacobian_entries").maxGap < 1e-3);
    // tfjs's gradients at 1e-7, 1e3 and std 0.02 and relu's kink pass; a backward ignoring dy does not.
    assert.deepEqual(fact<{ passed: boolean }[]>(nb, "gradcheck_scales").map((c) => c.passed), [true, true, true, true, false]);
  });

  it("train: the final weights are near 2, 3, 4 and the loss curve follows PyTorch's", () => {
    const nb = load("03_train");
    const torch = JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "seed_reference.json"), "utf8")) as { final: { weight: number[][]; bias: number[] }; losses: number[] };
    const w = fact<{ w1: number; w2: number; b: number; steps: number }>(nb, "final_weights");
    assert.equal(w.steps, 300);
    for (const [got, want] of [[w.w1, 2], [w.w2, 3], [w.b, 4]] as const) assert.ok(Math.abs(got - want) < 0.05, `${got} is not near ${want}`);
    for (const [got, want] of [[w.w1, torch.final.weight[0]![0]!], [w.w2, torch.final.weight[0]![1]!], [w.b, torch.final.bias[0]!]] as const) assert.ok(Math.abs(got - want) < 1e-3, `${got} differs from PyTorch's ${want}`);
    const loss = fact<{ steps: number; maxRelativeGap: number; first: number }>(nb, "loss_vs_pytorch");
    assert.equal(loss.steps, torch.losses.length);
    assert.ok(loss.maxRelativeGap < 1e-2);
    assert.ok(Math.abs(loss.first - torch.losses[0]!) < 1e-3);
    assert.ok(Math.abs(fact<{ y: number }>(nb, "prediction").y - 16) < 0.1);
  });

  it("mlp: the digit classifier's SiLU passes gradcheck, it trains as PyTorch's run did, and ONNX Runtime agrees", () => {
    const nb = load("05_mlp");
    const torch = JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "mlp_digits_reference.json"), "utf8")) as { test_acc: number[]; confusion: number[][]; config: { epochs: number } };
    assert.equal(fact<{ passed: boolean }>(nb, "silu_gradcheck").passed, true);
    const training = fact<{ epochs: number; testAccuracy: number; torchTestAccuracy: number; maxRelativeLossGap: number; predictionAgreement: number }>(nb, "training");
    assert.equal(training.epochs, torch.config.epochs);
    assert.equal(training.torchTestAccuracy, torch.test_acc.at(-1));
    assert.ok(training.testAccuracy > 0.93, `test accuracy ${training.testAccuracy}`);
    assert.ok(Math.abs(training.testAccuracy - torch.test_acc.at(-1)!) <= 2 / 360, `gradlab ${training.testAccuracy} vs PyTorch ${torch.test_acc.at(-1)}`);
    assert.ok(training.maxRelativeLossGap < 1e-3, `training loss gap ${training.maxRelativeLossGap}`);
    assert.ok(training.predictionAgreement >= 0.99, `only ${training.predictionAgreement} of test predictions agree with PyTorch's`);
    const confusion = fact<{ confusion: number[][]; misclassified: number }>(nb, "confusion");
    assert.equal(confusion.confusion.flat().reduce((a, b) => a + b, 0), 360);
    assert.equal(360 - confusion.confusion.reduce((s, row, i) => s + row[i]!, 0), confusion.misclassified);
    const onnx = fact<{ maxRelativeDifference: number; ortAccuracy: number; accuracy: number }>(nb, "onnx");
    assert.ok(onnx.maxRelativeDifference < 1e-5, `ONNX Runtime vs gradlab: ${onnx.maxRelativeDifference}`);
    assert.equal(onnx.ortAccuracy, onnx.accuracy);
  });

  it("export: three graphs as expected, ONNX Runtime within 1e-6 of gradlab, opaque and PyTorch's file refused, PyTorch's file imported", () => {
    const nb = load("04_export");
    const torch = JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "seed_torch_onnx.json"), "utf8")) as { x: number[][]; y: number[][] };
    const torchY = torch.y[0]![0]!;
    const relative = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);

    const trained = fact<{ steps: number; prediction: number }>(nb, "trained");
    assert.equal(trained.steps, 300);
    assert.ok(Math.abs(trained.prediction - 16) < 0.2, `the trained model predicts ${trained.prediction} at (3, 2)`);

    type Graph = { nodes: string[]; functions: Record<string, string[]>; x: (number | string)[]; y: (number | string)[] };
    const graphs = fact<Record<string, Graph>>(nb, "graphs");
    assert.deepEqual(Object.keys(graphs).sort(), ["function", "opaque", "standard"]); // nbformat sorts keys
    assert.deepEqual([graphs.function!.nodes, graphs.function!.functions], [["gradlab.MYLINEAR"], { "gradlab.MYLINEAR": ["Gemm"] }]);
    assert.deepEqual([graphs.standard!.nodes, graphs.standard!.functions], [["Gemm"], {}]);
    assert.deepEqual([graphs.opaque!.nodes, graphs.opaque!.functions], [["gradlab.MYLINEAR"], {}]);
    for (const [mode, g] of Object.entries(graphs)) assert.deepEqual([g.x, g.y], [["batch", 2], ["batch", 1]], `${mode}: the batch axis is not dynamic`);

    // The bar is ONNX Runtime's agreement with gradlab's forward: 1e-6 relative, every mode and batch.
    const ort = fact<{ runs: { mode: string; batch: number; rows: number; maxRelativeDifference: number }[] }>(nb, "ort_vs_gradlab");
    assert.deepEqual(ort.runs.map((r) => [r.mode, r.batch, r.rows]), [["function", 1, 1], ["function", 37, 37], ["standard", 1, 1], ["standard", 37, 37]]);
    for (const r of ort.runs) assert.ok(r.maxRelativeDifference <= 1e-6, `${r.mode} batch ${r.batch}: ${r.maxRelativeDifference}`);

    const opaque = fact<{ refused: boolean; message: string }>(nb, "opaque_refused");
    assert.equal(opaque.refused, true);
    assert.match(opaque.message, /gradlab:MYLINEAR.*not a registered function\/op/);
    const pytorch = fact<{ refused: boolean; message: string }>(nb, "torch_refused");
    assert.equal(pytorch.refused, true);
    assert.match(pytorch.message, /No Op registered for MYLINEAR/);

    const imported = fact<{ x: number[][]; y: number; torchY: number }>(nb, "torch_import");
    assert.deepEqual(imported.x, torch.x);
    assert.equal(imported.torchY, torchY);
    assert.ok(relative(imported.y, torchY) <= 1e-6, `imported: ${imported.y}, PyTorch: ${torchY}`);
    const reexported = fact<{ y: number; batch37MaxRelativeDifference: number }>(nb, "torch_reexport_ort");
    assert.ok(relative(reexported.y, torchY) <= 1e-6, `re-exported, in ONNX Runtime: ${reexported.y}, PyTorch: ${torchY}`);
    assert.ok(reexported.batch37MaxRelativeDifference <= 1e-6);
  });

  it("every plot draws in headless Chromium with the network cut off; screenshots are written", async () => {
    const browser = await launchChromium();
    try {
      for (const [name, figures] of Object.entries(EXPECTED_FIGURES)) {
        const html = runs.get(name)?.html;
        assert.ok(html, `${name} has no HTML`);
        const check = await checkPage(browser, html, { screenshot: join(SCREENSHOTS, `${name}.png`) });
        assert.deepEqual(pageProblems(check, figures), [], `${name}.html`);
        assert.deepEqual(check.plots.map((p) => p.figure), figures);
        assert.ok(statSync(check.screenshot!).size > 10_000, "an empty screenshot");
        console.log(`${name}: ${check.plots.length} plots drawn in ${(check.ms / 1000).toFixed(1)} s; screenshot ${check.screenshot}${check.blockedRequests.length ? `; blocked ${check.blockedRequests.length} requests to the network` : ""}`);
      }
    } finally {
      await browser.close();
    }
  });

  it("the executed notebooks are trusted once npm start's trust step has run, so Jupyter runs their plot scripts", async () => {
    const executed = [...runs.values()].map((r) => r.executed).filter((p): p is string => p !== null);
    assert.equal(executed.length, Object.keys(EXPECTED_FIGURES).length);
    const check = String.raw`
import json, sys, nbformat
from nbformat.sign import NotebookNotary
notary = NotebookNotary()
print(json.dumps([notary.check_signature(nbformat.read(p, as_version=4)) for p in sys.argv[1:]]))
`;
    const trusted = () => {
      const r = spawnSync(jupyterPython(), ["-c", check, ...executed], { encoding: "utf8", env: { ...process.env, ...jupyterEnv } });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as boolean[];
    };
    assert.ok(trusted().every((t) => !t), "nbconvert's output was already trusted: the check proves nothing");
    assert.equal(await trustNotebooks(executed, jupyterEnv), true);
    assert.deepEqual(trusted(), executed.map(() => true));
  });
});

describe("the gradlab kernel", () => {
  it("a notebook that fails mid-way is written with its outputs, every cell runs, and errors are Jupyter errors (finding 9.8)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gradlab-failing-"));
    try {
      const source = [
        "# fails mid-way",
        "```ts\nconst kept = 41;\nconsole.log(`kept ${kept}`);\n```",
        "```ts\nconst broken: number = JSON.parse(\"[1, 2\");\n```",
        "```ts\nconst wrong: number = \"not a number\";\n```",
        "```ts\nconsole.log(`reached ${kept + 1}`);\n```",
      ].join("\n\n");
      const path = join(dir, "fails_midway.ipynb");
      writeFileSync(path, notebookFromMarkdown("fails_midway", source));
      const run = await executeNotebook(path, { outDir: dir, env: jupyterEnv, html: false });
      assert.equal(run.error, null, run.error ?? "");
      assert.ok(run.failure, "the failure was not noticed");
      assert.equal(run.failure.cell, 3);
      assert.equal(run.failure.codeCell, 2);
      assert.match(run.failure.reason, /^SyntaxError: /);
      assert.match(describeFailure(run.name, run.failure), /^fails_midway: cell 3 \(code cell 2, `const broken: number = JSON\.parse\("\[1, 2"\);`\) failed:\n\s+SyntaxError/s);
      const nb = JSON.parse(readFileSync(run.executed!, "utf8")) as Notebook;
      const [ok, thrown, compile, after] = nb.cells.filter((c) => c.cell_type === "code").map((c) => c.outputs ?? []);
      assert.match(joinText(ok![0]!.text), /kept 41/);
      // A thrown error: one error output, nothing on stderr.
      assert.deepEqual(thrown!.map((o) => o.output_type), ["error"]);
      assert.equal(thrown![0]!.ename, "SyntaxError");
      assert.match(thrown![0]!.evalue!, /JSON/);
      assert.ok(thrown![0]!.traceback!.some((l) => /SyntaxError/.test(l)), JSON.stringify(thrown![0]!.traceback));
      // A TypeScript compile error: an error output naming line, column and TypeScript's message.
      assert.deepEqual(compile!.map((o) => o.output_type), ["error"]);
      assert.deepEqual([compile![0]!.ename, compile![0]!.evalue], ["TSError", "1:7 - Type 'string' is not assignable to type 'number'."]);
      // nbclient sends stop_on_error: false under --allow-errors: the cell after the failures ran.
      assert.deepEqual(after!.map((o) => [o.output_type, joinText(o.text)]), [["stream", "reached 42\n"]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a notebook anywhere: own folder as working directory, its data file and helper .ts, importing \"gradlab\" adds under 0.5 s to a cell, plots without setupNotebook()", async () => {
    // Outside the repository, with no package.json or node_modules: what a user's own notebook is.
    const dir = mkdtempSync(join(tmpdir(), "gradlab-anywhere-"));
    try {
      writeFileSync(join(dir, "points.json"), JSON.stringify({ x: [[1, 2], [3, 4], [5, 6]], y: [12, 22, 32] }));
      writeFileSync(join(dir, "helper.ts"), 'import * as gl from "gradlab";\nexport function mean(values: number[]): number {\n  return values.reduce((a, b) => a + b, 0) / values.length;\n}\nexport const backendName = (): string => gl.backendInfo().name;\n');
      const source = [
        "# anywhere",
        "```ts\nimport * as gl from \"gradlab\";\nimport { show, lossCurve } from \"gradlab/plot\";\n```",
        "```ts\nconst nothingImported = true;\n```",
        "```ts\nimport { readFileSync } from \"node:fs\";\nimport { mean, backendName } from \"./helper\";\nconst points = JSON.parse(readFileSync(\"points.json\", \"utf8\")) as { x: number[][]; y: number[] };\nawait gl.setBackend(\"cpu\");\nconsole.log(`cwd=${process.cwd()} mean=${mean(points.y)} backend=${backendName()}`);\n```",
        "```ts\nconst model = new gl.Linear(2, 1);\nconst sgd = new gl.SGD(model.parameters(), { lr: 0.01 });\nconst x = gl.tf.tensor2d(points.x);\nconst y = gl.tf.tensor2d(points.y, [3, 1]);\nconst losses: number[] = [];\nfor (let step = 0; step < 50; step++) {\n  sgd.zeroGrad();\n  const loss = gl.backward(() => gl.mseLoss(model.forward(x), y), model.parameters());\n  sgd.step();\n  losses.push((await loss.data())[0]!);\n  loss.dispose();\n}\nawait show(lossCurve(\"loss\", losses));\nconsole.log(`first=${losses[0]} last=${losses.at(-1)}`);\n```",
      ].join("\n\n");
      const path = join(dir, "anywhere.ipynb");
      writeFileSync(path, notebookFromMarkdown("anywhere", source));
      const run = await executeNotebook(path, { outDir: join(dir, "out"), env: jupyterEnv, html: false });
      assert.equal(run.error, null, run.error ?? "");
      assert.equal(run.failure, null, run.failure ? describeFailure(run.name, run.failure) : "");
      const nb = JSON.parse(readFileSync(run.executed!, "utf8")) as Notebook;
      const text = (i: number) => (nb.cells.filter((c) => c.cell_type === "code")[i + 1]!.outputs ?? []).map((o) => joinText(o.text)).join("");
      // Whole cells as the client saw them (compile included): busy to reply, as nbclient records it.
      const cellMs = (i: number) => {
        const timing = nb.cells.filter((c) => c.cell_type === "code")[i]!.metadata?.execution as Record<string, string> | undefined;
        assert.ok(timing?.["iopub.status.busy"] && timing["shell.execute_reply"], `nbclient recorded no timing: ${JSON.stringify(timing)}`);
        return Date.parse(timing["shell.execute_reply"]) - Date.parse(timing["iopub.status.busy"]);
      };
      const [importMs, plainMs] = [cellMs(0), cellMs(1)];
      // What importing adds to tslab's own cost of a cell (type-checking it: ~0.1 s on an idle
      // machine, several times that on a loaded one). Without the kernel's preload it adds ~3.5 s.
      assert.ok(importMs - plainMs < 500, `the cell importing gradlab took ${importMs} ms, a cell importing nothing ${plainMs} ms`);
      assert.match(text(1), new RegExp(`cwd=${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} mean=22 backend=cpu`));
      const [first, last] = /first=(\S+) last=(\S+)/.exec(text(2))!.slice(1).map(Number);
      assert.ok(last! < first!, `training did not lower the loss: ${first} → ${last}`);
      const all = nb.cells.flatMap((c) => c.outputs ?? []);
      assert.equal(all.filter((o) => (o.metadata?.gradlab as { plotly?: string } | undefined)?.plotly).length, 1, "plotly.js embedded once, before the first figure");
      assert.equal(all.filter((o) => o.data?.[PLOTLY_MIME]).length, 1);
      const loaderIndex = all.findIndex((o) => (o.metadata?.gradlab as { plotly?: string } | undefined)?.plotly);
      assert.ok(loaderIndex < all.findIndex((o) => o.data?.[PLOTLY_MIME]), "plotly.js comes after the figure");
      console.log(`a notebook outside the repository: the cell importing gradlab took ${importMs} ms (a cell importing nothing ${plainMs} ms); whole run ${run.seconds.toFixed(1)} s`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("all of them run on the webgpu backend too (GRADLAB_BACKEND=webgpu: Dawn in the kernel; llvmpipe here) and keep their facts", async (t) => {
    // What a notebook on a GPU machine does: the same cells, tfjs-backend-webgpu, gradlab's kernels.
    const unavailable = await webgpuUnavailable();
    if (unavailable) return t.skip(unavailable);
    const dir = mkdtempSync(join(tmpdir(), "gradlab-webgpu-notebooks-"));
    try {
      const notebooks = notebookNames().map((n) => join(NOTEBOOK_DIR, `${n}.ipynb`));
      const webgpuRuns = await executeNotebooks(notebooks, { outDir: dir, env: { ...jupyterEnv, GRADLAB_BACKEND: "webgpu" }, html: false });
      for (const run of webgpuRuns) {
        assert.equal(run.error, null, `${run.name}: ${run.error}`);
        assert.equal(run.failure, null, run.failure ? describeFailure(run.name, run.failure) : "");
      }
      const nb = (name: string) => JSON.parse(readFileSync(webgpuRuns.find((r) => r.name === name)!.executed!, "utf8")) as Notebook;
      for (const run of webgpuRuns) assert.equal(fact<{ name: string }>(nb(run.name), "backend").name, "webgpu", run.name);
      assert.equal(fact<{ passed: boolean }>(nb("02_gradcheck"), "gradcheck_linear").passed, true);
      assert.ok(fact<{ caught: boolean }[]>(nb("02_gradcheck"), "planted_mistakes").every((m) => m.caught));
      const w = fact<{ w1: number; w2: number; b: number }>(nb("03_train"), "final_weights");
      assert.ok(Math.abs(w.w1 - 2) < 0.05 && Math.abs(w.w2 - 3) < 0.05 && Math.abs(w.b - 4) < 0.05, JSON.stringify(w));
      assert.ok(fact<{ maxRelativeGap: number }>(nb("03_train"), "loss_vs_pytorch").maxRelativeGap < 1e-2);
      for (const run of fact<{ runs: { maxRelativeDifference: number }[] }>(nb("04_export"), "ort_vs_gradlab").runs) assert.ok(run.maxRelativeDifference < 1e-5);
      assert.ok(fact<{ testAccuracy: number }>(nb("05_mlp"), "training").testAccuracy > 0.93);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stays usable after a failing cell, keeps its state, honours stop_on_error, and takes its backend from GRADLAB_BACKEND", () => {
    // A Jupyter client session on one kernel. Requests sent back to back, without waiting for the
    // replies, as nbclient and the notebook UI send a queue of cells.
    const driver = String.raw`
import json
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name="gradlab", startup_timeout=60)
def collect(msg_ids):
    replies, errors, streams = {}, {}, {}
    while len(replies) < len(msg_ids):
        msg = kc.get_shell_msg(timeout=120)
        if msg["parent_header"].get("msg_id") in msg_ids: replies[msg["parent_header"]["msg_id"]] = msg["content"]
    while True:
        try: msg = kc.get_iopub_msg(timeout=1)
        except Exception: break
        parent = msg["parent_header"].get("msg_id")
        if msg["msg_type"] == "error": errors[parent] = msg["content"]
        if msg["msg_type"] == "stream": streams[parent] = streams.get(parent, "") + msg["content"]["text"]
    return [{"status": replies[i]["status"], "ename": replies[i].get("ename"), "error": errors.get(i), "out": streams.get(i, "")} for i in msg_ids]
try:
    results = collect([kc.execute('import { setupNotebook } from "gradlab/notebook";\nconst s = await setupNotebook();\nconsole.log("backend=" + s.backend.name);\nconst kept = 41;')])
    keep_going = [kc.execute(code, stop_on_error=False) for code in ['throw new Error("planted failure");', 'const n: number = "x";', 'console.log("still here: " + (kept + 1));']]
    results += collect(keep_going)
    stop = [kc.execute(code) for code in ['throw new Error("stops the queue");', 'console.log("must not run");']]
    results += collect(stop)
    print(json.dumps(results))
finally:
    kc.stop_channels(); km.shutdown_kernel(now=True)
`;
    const dir = mkdtempSync(join(tmpdir(), "gradlab-session-"));
    try {
      const r = spawnSync(jupyterPython(), ["-c", driver], { cwd: dir, encoding: "utf8", env: { ...process.env, ...jupyterEnv, GRADLAB_BACKEND: "cpu" }, timeout: 180_000 });
      assert.equal(r.status, 0, r.stderr);
      type Result = { status: string; ename: string | null; error: { ename: string; evalue: string; traceback: string[] } | null; out: string };
      const [setup, thrown, compile, after, stopping, skipped] = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Result[];
      assert.equal(setup!.status, "ok", JSON.stringify(setup));
      assert.match(setup!.out, /backend=cpu/);
      // Errors are Jupyter errors: on IOPub and in the reply, with ename / evalue / traceback.
      assert.deepEqual([thrown!.status, thrown!.ename, thrown!.error?.ename, thrown!.error?.evalue], ["error", "Error", "Error", "planted failure"]);
      assert.match(thrown!.error!.traceback.join("\n"), /Error: planted failure/);
      assert.doesNotMatch(thrown!.out, /planted failure/, "the error went to stderr as well");
      assert.deepEqual([compile!.status, compile!.error?.ename, compile!.error?.evalue], ["error", "TSError", "1:7 - Type 'string' is not assignable to type 'number'."]);
      // stop_on_error: false: the queued cell still ran, with the kernel's state intact.
      assert.deepEqual([after!.status, after!.out], ["ok", "still here: 42\n"]);
      // stop_on_error (the default): what was queued behind the failure is aborted, as ipykernel does.
      assert.equal(stopping!.status, "error");
      assert.deepEqual([skipped!.status, skipped!.out], ["aborted", ""]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the installer is idempotent, writes an absolute launcher path, and uninstalls", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gradlab-kernel-user-"));
    const install = (...args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "kernel", "install.ts"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, JUPYTER_DATA_DIR: dataDir, GRADLAB_NO_APT: "1" } });
    try {
      const first = install(); // no flag: for this user, root included (finding 9.9)
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stdout, new RegExp(`installed ${dataDir}/kernels/gradlab \\(for this user; --system installs it for everyone\\)`));
      assert.match(first.stdout, new RegExp(`it runs ${LAUNCHER} \\(the checkout at ${ROOT}\\) on ${process.execPath}`));
      const file = join(dataDir, "kernels", "gradlab", "kernel.json");
      const spec = JSON.parse(readFileSync(file, "utf8")) as { argv: string[]; display_name: string };
      assert.deepEqual(spec.argv, [process.execPath, LAUNCHER, "--config-path", "{connection_file}"]);
      assert.equal(spec.display_name, "TypeScript (gradlab)");
      const before = [readFileSync(file, "utf8"), statSync(file).mtimeMs];
      const second = install("--user");
      assert.equal(second.status, 0, second.stderr);
      assert.match(second.stdout, /already up to date/);
      assert.deepEqual([readFileSync(file, "utf8"), statSync(file).mtimeMs], before, "the second run changed the kernelspec");
      assert.deepEqual(readdirSync(join(dataDir, "kernels")), ["gradlab"]);
      assert.match(install("--user", "--uninstall").stdout, /removed the gradlab kernel/);
      assert.match(install("--user", "--uninstall").stdout, /nothing to remove/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("a missing Jupyter is a clear message with the command that installs it", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "kernel", "install.ts"), "--prefix", join(jupyterHome, "unused")], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, GRADLAB_JUPYTER_PYTHON: "/nonexistent/python3", GRADLAB_NO_APT: "1" },
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Jupyter \(Python modules .* not importable by \/nonexistent\/python3\) missing/);
    assert.match(r.stderr, /apt-get update && apt-get install -y --no-install-recommends jupyter-nbconvert python3-nbclient python3-ipykernel jupyter-client/);
  });
});
