/**
 * ONNX's backend node tests (Debian's libonnx-testdata, ONNX 1.12: 932 cases, each a model.onnx
 * and test_data_set_0/{input,output}_N.pb) run through importOnnx. A case passes when every output
 * has the expected shape and values within ONNX's own tolerance (|a − e| ≤ atol + rtol·|e|, rtol
 * 1e-3, atol 1e-7; NaN matches NaN); is refused when gradlab says, with an OnnxImportError, that it
 * does not run it; and is wrong otherwise: a value off, a shape off, or any other error.
 *
 * Run directly to print the table:  node --import tsx test/support/onnx_conformance.ts [--markdown]
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { OnnxImportError } from "../../lib/onnx/errors";
import { importOnnx } from "../../lib/onnx/import";
import { dataTypeName, onnx } from "../../lib/onnx/proto";
import { readAnyTensor } from "../../lib/onnx/tensor_data";
import { tfDtype } from "../../lib/onnx/import_ops/values";
import { debianPackagesMissing, aptInstall, mayInstall, installAdvice } from "../../kernel/system_deps";

export const TESTDATA_PACKAGE = "libonnx-testdata";
export const TESTDATA_ROOT = "/usr/share/libonnx-testdata/data";
export const NODE_TESTS = `${TESTDATA_ROOT}/node`;
export const RTOL = 1e-3;
export const ATOL = 1e-7;

export type Verdict = "pass" | "refused" | "wrong";

export interface CaseResult {
  name: string;
  /** The op the case tests (its one node's type; "X (expanded)" for a function body written out). */
  op: string;
  verdict: Verdict;
  /** Why it was refused or wrong. */
  detail: string;
  ms: number;
}

/** Installs libonnx-testdata with apt as root when it is missing; otherwise returns how to. */
export function ensureTestData(log: (line: string) => void = console.log): string | null {
  if (existsSync(NODE_TESTS)) return null;
  const missing = debianPackagesMissing([TESTDATA_PACKAGE]);
  if (missing.length === 0 && !existsSync(NODE_TESTS)) return `${TESTDATA_PACKAGE} is installed, but ${NODE_TESTS} is missing`;
  if (!mayInstall()) return `ONNX's conformance data is not installed: ${installAdvice([TESTDATA_PACKAGE])}`;
  aptInstall([TESTDATA_PACKAGE], log);
  return existsSync(NODE_TESTS) ? null : `installed ${TESTDATA_PACKAGE}, but ${NODE_TESTS} is still missing`;
}

function readTensorFile(path: string) {
  return readAnyTensor(onnx.TensorProto.decode(readFileSync(path)), path);
}

function opOf(dir: string, name: string): string {
  const model = onnx.ModelProto.decode(readFileSync(join(dir, name, "model.onnx")));
  const nodes = model.graph?.node ?? [];
  if (nodes.length === 1) return nodes[0]!.opType ?? "?";
  if (name.endsWith("_expanded") && existsSync(join(dir, name.slice(0, -"_expanded".length), "model.onnx"))) {
    return `${opOf(dir, name.slice(0, -"_expanded".length))} (expanded)`;
  }
  return `${name.replace(/^test_/, "")} (graph)`;
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>): string | null {
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]), e = Number(expected[i]);
    if (Number.isNaN(e) ? Number.isNaN(a) : a === e || Math.abs(a - e) <= ATOL + RTOL * Math.abs(e)) continue;
    return `element ${i}: got ${a}, expected ${e}`;
  }
  return null;
}

export function runCase(dir: string, name: string): CaseResult {
  const started = performance.now();
  const op = opOf(dir, name);
  const result = (verdict: Verdict, detail: string): CaseResult => ({ name, op, verdict, detail, ms: performance.now() - started });
  const data = join(dir, name, "test_data_set_0");
  const files = readdirSync(data);
  const count = (prefix: string) => files.filter((f) => f.startsWith(prefix)).length;
  const before = tf.memory().numTensors;
  let model;
  try {
    model = importOnnx(join(dir, name, "model.onnx"));
  } catch (error) {
    return error instanceof OnnxImportError ? result("refused", error.message) : result("wrong", `${(error as Error).name}: ${(error as Error).message}`);
  }
  try {
    if (count("input_") !== model.inputNames.length) return result("refused", `the case feeds ${count("input_")} inputs, the model takes ${model.inputNames.length}`);
    const feeds: Record<string, tf.Tensor> = {};
    for (const [i, input] of model.inputNames.entries()) {
      const t = readTensorFile(join(data, `input_${i}.pb`));
      const declared = model.inputs[i]!.dtype;
      if (dataTypeName(t.dtype) !== declared) return result("refused", `input "${input}" is stored as ${dataTypeName(t.dtype)}, but the model declares ${declared} (gradlab does not reinterpret bits)`);
      const dtype = tfDtype(t.dtype)!;
      if (dtype === "int32" && Array.from(t.values).some((v) => v > 2147483647 || v < -2147483648)) return result("refused", `input "${input}" holds integers outside int32, which tfjs cannot hold`);
      feeds[input] = tf.tensor(dtype === "float32" ? t.values : Int32Array.from(t.values), t.shape, dtype);
    }
    let outputs: Record<string, tf.Tensor>;
    try {
      outputs = model.run(feeds);
    } catch (error) {
      return error instanceof OnnxImportError && !/ failed on inputs /.test(error.message) ? result("refused", error.message) : result("wrong", `${(error as Error).name}: ${(error as Error).message}`);
    } finally {
      tf.dispose(Object.values(feeds));
    }
    try {
      for (const [i, output] of model.outputNames.entries()) {
        const expected = readTensorFile(join(data, `output_${i}.pb`));
        const actual = outputs[output]!;
        if (actual.shape.join(",") !== expected.shape.join(",")) return result("wrong", `output "${output}" has shape [${actual.shape}], expected [${expected.shape}]`);
        const mismatch = close(actual.dataSync(), expected.values);
        if (mismatch) return result("wrong", `output "${output}": ${mismatch}`);
      }
    } finally {
      tf.dispose(Object.values(outputs));
    }
    return result("pass", "");
  } catch (error) {
    return error instanceof OnnxImportError ? result("refused", error.message) : result("wrong", `${(error as Error).name}: ${(error as Error).message}`);
  } finally {
    model.dispose();
    const leaked = tf.memory().numTensors - before;
    if (leaked !== 0) console.error(`${name}: ${leaked} tensors left behind`);
  }
}

export function runAll(dir = NODE_TESTS): CaseResult[] {
  return readdirSync(dir).filter((name) => existsSync(join(dir, name, "model.onnx"))).sort().map((name) => runCase(dir, name));
}

/** One row per op: pass, refused, wrong; then the totals. */
export function formatTable(results: readonly CaseResult[], markdown = false): string {
  const byOp = new Map<string, Record<Verdict, number>>();
  for (const r of results) {
    const row = byOp.get(r.op) ?? { pass: 0, refused: 0, wrong: 0 };
    row[r.verdict]++;
    byOp.set(r.op, row);
  }
  const total = { pass: 0, refused: 0, wrong: 0 };
  for (const r of results) total[r.verdict]++;
  const rows = [...byOp.entries()].sort(([a], [b]) => a.localeCompare(b));
  if (markdown) {
    return [
      "| op | pass | refused | wrong |",
      "|---|---:|---:|---:|",
      ...rows.map(([op, c]) => `| ${op} | ${c.pass} | ${c.refused} | ${c.wrong} |`),
      `| **all ${results.length} cases** | **${total.pass}** | **${total.refused}** | **${total.wrong}** |`,
    ].join("\n");
  }
  const width = Math.max(...rows.map(([op]) => op.length), 10);
  return [
    `${"op".padEnd(width)}  pass  refused  wrong`,
    ...rows.map(([op, c]) => `${op.padEnd(width)}  ${String(c.pass).padStart(4)}  ${String(c.refused).padStart(7)}  ${String(c.wrong).padStart(5)}`),
    `${`all ${results.length}`.padEnd(width)}  ${String(total.pass).padStart(4)}  ${String(total.refused).padStart(7)}  ${String(total.wrong).padStart(5)}`,
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await tf.setBackend("cpu");
  const problem = ensureTestData();
  if (problem) throw new Error(problem);
  const started = performance.now();
  const results = runAll();
  console.log(formatTable(results, process.argv.includes("--markdown")));
  console.log(`${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (process.argv.includes("--details")) for (const r of results) if (r.verdict !== "pass") console.log(`${r.verdict} ${r.name}: ${r.detail}`);
}
