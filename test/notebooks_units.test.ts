/**
 * The notebook machinery without Jupyter: the Markdown → .ipynb builder, the failure reader, the
 * backend variable, number formatting, output outside a kernel, figure builders' contracts and
 * the kernelspec. Fast; the end-to-end runs are in notebooks.test.ts and browser.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { notebookFromMarkdown } from "../kernel/build_notebooks";
import { createRequire } from "node:module";
import { LAUNCHER, defaultMode, kernelSpec } from "../kernel/install";
import { describeFailure, firstFailure, type Notebook } from "../kernel/run_notebooks";
import { aptCommand, SYSTEM_PACKAGES } from "../kernel/system_deps";
import { display, formatNumber, preformatted, texNumber } from "../lib/notebook/display";
import { FACT_MIME, check, fact } from "../lib/notebook/facts";
import { backendFromEnv } from "../lib/notebook/setup";
import { figureTitle, makeFigure } from "../lib/plot/figure";
import { scriptJson } from "../lib/plot/html";
import { confusionMatrix, fittedPlane, imageGrid, jacobianScatter, lossCurve, parityScatter, trainTestCurves, trajectories } from "../lib/plot/mod";
import { plotlyBundle } from "../lib/plot/plotly_bundle";

describe("notebook sources", () => {
  it("a ```ts block is a code cell, the text between is Markdown, +++ splits it, nothing has outputs", () => {
    const nb = JSON.parse(notebookFromMarkdown("demo", "# Title\n\nintro\n\n+++\n\nmore\n\n```ts\nconst a = 1;\n```\n\nafter\n```ts\nconsole.log(a);\n```\n")) as {
      cells: { id: string; cell_type: string; source: string[]; outputs?: unknown[]; execution_count?: null }[];
      metadata: { kernelspec: { name: string; display_name: string } };
    };
    assert.deepEqual(
      nb.cells.map((c) => [c.cell_type, c.source.join("")]),
      [
        ["markdown", "# Title\n\nintro"],
        ["markdown", "more"],
        ["code", "const a = 1;"],
        ["markdown", "after"],
        ["code", "console.log(a);"],
      ],
    );
    assert.deepEqual(nb.cells.map((c) => c.id), ["demo-1", "demo-2", "demo-3", "demo-4", "demo-5"]);
    for (const c of nb.cells.filter((c) => c.cell_type === "code")) assert.deepEqual([c.outputs, c.execution_count], [[], null]);
    assert.deepEqual(nb.metadata.kernelspec, { display_name: "TypeScript (gradlab)", language: "typescript", name: "gradlab" });
  });
});

describe("reading an executed notebook", () => {
  const cell = (source: string, outputs: object[]) => ({ cell_type: "code", source, outputs, execution_count: null });
  const md = { cell_type: "markdown", source: "text" };

  it("finds the first cell with an error output, by position and first line; stderr alone is no failure", () => {
    const nb = {
      metadata: {},
      cells: [
        md,
        cell("const a = 1;", [{ output_type: "stream", name: "stdout", text: "fine" }, { output_type: "stream", name: "stderr", text: "a warning\n" }]),
        md,
        cell("\nboom();\nmore()", [{ output_type: "error", ename: "ReferenceError", evalue: "boom is not defined", traceback: ["ReferenceError: boom is not defined", "    at …"] }]),
        cell("later()", [{ output_type: "error", ename: "E", evalue: "v" }]),
      ],
    } as Notebook;
    const f = firstFailure(nb)!;
    assert.deepEqual([f.cell, f.codeCell, f.firstLine], [4, 2, "boom();"]);
    assert.match(describeFailure("x", f), /^x: cell 4 \(code cell 2, `boom\(\);`\) failed:\n {4}ReferenceError: boom is not defined$/);
    assert.equal(firstFailure({ metadata: {}, cells: [md, cell("ok()", [{ output_type: "display_data", data: { "text/plain": "x" } }])] } as Notebook), null);
    assert.equal(firstFailure({ metadata: {}, cells: [cell("warn()", [{ output_type: "stream", name: "stderr", text: "careful" }])] } as Notebook), null);
    assert.match(firstFailure({ metadata: {}, cells: [cell("x", [{ output_type: "error", ename: "TypeError", evalue: "nope" }])] } as Notebook)!.reason, /^TypeError: nope$/);
  });
});

describe("notebook helpers", () => {
  it("GRADLAB_BACKEND picks the backend; unset means auto; a wrong one names the choices", () => {
    assert.equal(backendFromEnv({}), "auto");
    assert.equal(backendFromEnv({ GRADLAB_BACKEND: " cpu " }), "cpu");
    assert.throws(() => backendFromEnv({ GRADLAB_BACKEND: "gpu" }), /GRADLAB_BACKEND="gpu" is not a backend; use one of auto, tensorflow, webgpu, wasm, cpu/);
  });

  it("formats numbers for tables and for LaTeX", () => {
    assert.deepEqual([0, 1.23456, 2.5e-7, -3e6, Number.NaN].map(formatNumber), ["0", "1.235", "2.50e-7", "-3.00e+6", "NaN"]);
    assert.deepEqual([0, 0.5, 1.2e-7, 3.4e8].map(texNumber), ["0", "0.5", "1.2 \\times 10^{-7}", "3.4 \\times 10^{8}"]);
  });

  it("outside a kernel, outputs print their text and facts their sentence; a failed check throws its claim", (t) => {
    const lines: string[] = [];
    t.mock.method(console, "log", (line: string) => lines.push(line));
    assert.equal(display({ "text/plain": "hello", "text/html": "<b>hello</b>" }), false);
    fact("answer", 42, "The answer is 42.");
    preformatted("x: float32 [batch, 2]");
    assert.deepEqual(lines, ["hello", "The answer is 42.", "x: float32 [batch, 2]"]);
    assert.equal(FACT_MIME, "application/vnd.gradlab.fact+json");
    assert.throws(() => check(false, "weights near 2, 3, 4"), /^NotebookCheckError: check failed: weights near 2, 3, 4$/);
  });
});

describe("figures", () => {
  it("builders check their inputs and name their figures", () => {
    assert.throws(() => makeFigure("Bad Name", [], {}), /lower-case words/);
    assert.throws(() => jacobianScatter("j", "t", [{ label: "x", numerical: [1, 2], analytic: [1] }]), /series "x" has 2 numerical and 1 analytic entries/);
    const axes = { title: "t", x: { axis: "gradlab's y", short: "gradlab" }, y: { axis: "ONNX Runtime's y", short: "ORT" } };
    assert.throws(() => parityScatter("p", [{ label: "function", x: [1, 2, 3], y: [1, 2] }], axes), /figure "p": series "function" has 3 gradlab and 2 ORT entries/);
    // Equal ranges on both axes, so y = x is drawn at 45°; the line comes first, under the points.
    const parity = parityScatter("p", [{ label: "function", x: [4, 9], y: [4.5, 8], marker: { symbol: "circle-open" } }], axes);
    assert.deepEqual((parity.layout.xaxis as { range: number[] }).range, (parity.layout.yaxis as { range: number[] }).range);
    assert.deepEqual((parity.data[0] as { name: string }).name, "ORT = gradlab");
    assert.deepEqual((parity.data[1] as { marker: { symbol: string; size: number } }).marker, { size: 8, opacity: 0.8, color: "#1f77b4", symbol: "circle-open" });
    assert.throws(() => trajectories("t", [[1, 2]], { names: ["w1"] }), /1 names for 2 parameters/);
    assert.throws(() => fittedPlane("p", { x: [[0, 0]], y: [0] }, { weight: [1], bias: 0 }), /needs 2 weights/);
    const loss = lossCurve("loss", [1, 0, 0.1], { title: "<b>Loss</b>", reference: [1, 0.5, 0.1] });
    assert.equal(figureTitle(loss), "Loss");
    // A zero loss cannot sit on a log axis: it is a gap, not a silently dropped point.
    assert.deepEqual((loss.data[1] as { y: unknown[] }).y, [1, null, 0.1]);
    assert.equal((loss.layout.yaxis as { type: string }).type, "log");
  });

  it("classifier figures: curves per split, a confusion matrix that counts, image panels that check their pixels", () => {
    const curves = trainTestCurves("acc", { train: [0.5, 0.9], test: [0.4, 0.8] }, { metric: "accuracy", reference: { train: [0.5, 0.9], test: [0.4, 0.7] }, referenceLabel: "PyTorch" });
    assert.deepEqual(curves.data.map((t) => (t as { name: string }).name), ["train, PyTorch", "train, ours", "test, PyTorch", "test, ours"]);
    const confusion = confusionMatrix("cm", [[3, 1], [0, 4]]);
    assert.equal(figureTitle(confusion), "Confusion matrix (7 of 8 correct)");
    assert.throws(() => confusionMatrix("cm", [[1, 2], [3]]), /expected a square matrix, got 2 rows of lengths 2, 1/);
    const grid = imageGrid("g", [{ pixels: [[0, 1], [1, 0]], title: "a" }, { pixels: [[1, 1], [0, 0]], title: "b" }, { pixels: [[0, 0], [0, 1]], title: "c" }], { columns: 2 });
    assert.equal(grid.data.length, 3);
    assert.deepEqual((grid.layout.xaxis3 as { domain: number[] }).domain, (grid.layout.xaxis as { domain: number[] }).domain, "the third image starts the second row");
    assert.throws(() => imageGrid("g", [{ pixels: [[0, 1], [1]], title: "bad" }]), /imageGrid "g": image 0 \("bad"\) must be non-empty rows of equal length, got rows of lengths 2, 1/);
  });

  it("JSON for a <script> cannot close the element or break the line", () => {
    const text = scriptJson({ s: "</script><!-- \u2028\u2029" });
    assert.doesNotMatch(text, /<\/script|\u2028|\u2029/i);
    assert.deepEqual(JSON.parse(text), { s: "</script><!-- \u2028\u2029" });
  });

  it("plotly.js comes from node_modules/plotly.js-dist, minified once and cached, with no CDN", async () => {
    const bundle = await plotlyBundle();
    assert.match(bundle.version, /^3\./);
    assert.match(bundle.path, /node_modules\/(plotly\.js-dist\/plotly\.js|\.cache\/gradlab\/plotly\.js-dist-3[\d.]+\.min\.js)$/);
    assert.doesNotMatch(bundle.source, /<\/script/i);
  });
});

describe("kernelspec", () => {
  it("runs this checkout's launcher on this Node, by absolute paths", () => {
    const spec = kernelSpec() as { argv: string[]; display_name: string; language: string };
    assert.deepEqual(spec.argv, [process.execPath, LAUNCHER, "--config-path", "{connection_file}"]);
    assert.ok(spec.argv.slice(0, 2).every((p) => p.startsWith("/")));
    assert.equal(spec.display_name, "TypeScript (gradlab)");
    assert.deepEqual(defaultMode(), { kind: "user" }, "without --system the kernelspec is the user's, as root too");
    assert.equal(aptCommand(SYSTEM_PACKAGES), "apt-get install -y --no-install-recommends jupyter-nbconvert python3-nbclient python3-ipykernel jupyter-client chromium");
  });
});

describe("the kernel's error messages (kernel/tslab_kernel.cjs)", () => {
  type JupyterError = { ename: string; evalue: string; traceback: string[] };
  type Report = { kind: "thrown"; value: unknown } | { kind: "diagnostic"; file: string; line: number; column: number; text: string };
  const { jupyterError } = createRequire(import.meta.url)("../kernel/tslab_kernel.cjs") as { jupyterError(reports: Report[]): JupyterError };

  it("a thrown Error gives its name, message and stack, without the kernel's own frames", () => {
    const error = new RangeError("lr must be positive");
    error.stack = ["RangeError: lr must be positive", "    at evalmachine.<anonymous>:2:7", "    at Script.runInThisContext (node:vm:135:14)", "    at execute (/x/node_modules/tslab/dist/executor.js:170:42)"].join("\n");
    assert.deepEqual(jupyterError([{ kind: "thrown", value: error }]), { ename: "RangeError", evalue: "lr must be positive", traceback: ["RangeError: lr must be positive", "    at evalmachine.<anonymous>:2:7"] });
  });

  it("TypeScript diagnostics are one TSError naming each line:column and message", () => {
    const e = jupyterError([
      { kind: "diagnostic", file: "", line: 1, column: 7, text: "Type 'string' is not assignable to type 'number'." },
      { kind: "diagnostic", file: "helper.ts", line: 3, column: 1, text: "Cannot find name 'x'." },
    ]);
    assert.equal(e.ename, "TSError");
    assert.equal(e.evalue, "1:7 - Type 'string' is not assignable to type 'number'. (and 1 more)");
    assert.deepEqual(e.traceback, ["TypeScript did not compile the cell (2 errors):", "1:7 - Type 'string' is not assignable to type 'number'.", "helper.ts 3:1 - Cannot find name 'x'."]);
  });

  it("a thrown non-Error value is named by its type and shown as Node prints it", () => {
    assert.deepEqual(jupyterError([{ kind: "thrown", value: "plain string" }]), { ename: "String", evalue: "'plain string'", traceback: ["Uncaught 'plain string'"] });
    assert.deepEqual(jupyterError([{ kind: "thrown", value: undefined }]).ename, "undefined");
    assert.match(jupyterError([]).evalue, /failed without saying why/);
  });
});
