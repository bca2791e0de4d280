/**
 * `deno task predict --model FILE --x 3,2` / `npm run predict -- …`: load a model and print y.
 * FILE is an .onnx file (gradlab's, PyTorch's, any that importOnnx reads) or a state-dict .json
 * as the train task's --out writes (a Linear's {"weight": [[…]], "bias": […]}). --x is one row of
 * comma-separated numbers, or several rows separated by ";". With --json the last line of stdout
 * is {"model", "x", "y"}.
 */
import { freemem } from "node:os";
import * as tf from "@tensorflow/tfjs";
import { BACKEND_CHOICES, setBackend, type BackendChoice } from "../backend";
import { Linear } from "../nn/linear";
import type { Module } from "../nn/module";
import { findNonFiniteParameter, formatEntry, NonFiniteError } from "../nn/non_finite";
import { StateDictError } from "../nn/state_dict";
import { importOnnx } from "../onnx/import";
import { OnnxModel } from "../onnx/onnx_model";
import { parseArgs, parseDecimal, usage, UsageError, type OptionSpec } from "./args";
import { DEFAULT_MAX_INPUT_MIB, formatBytes, readInputBytes, readJsonFile } from "./json_file";
import { runCommand } from "./run_command";

const OPTIONS = {
  model: { kind: "string", help: "an .onnx file, or a state-dict .json (as train --out writes)" },
  x: { kind: "string", help: 'the input, decimal numbers: "3,2", or rows "3,2;1,1"' },
  backend: { kind: "string", help: `${BACKEND_CHOICES.join(" | ")} (default auto)` },
  "allow-nonfinite": { kind: "boolean", help: "print y even when the model's weights or outputs are NaN/Infinity (default: exit code 3)" },
  "max-input-mib": { kind: "integer", help: `largest --model file read, in MiB (default ${DEFAULT_MAX_INPUT_MIB})` },
  json: { kind: "boolean", help: "end stdout with one line of JSON" },
  help: { kind: "boolean", help: "show this help" },
} satisfies OptionSpec;

export async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, OPTIONS);
  if (args.help) {
    console.log(usage("predict", OPTIONS) + "\n\nexit codes: 0 done; 2 bad input; 3 the model's weights or outputs are NaN/Infinity.");
    return 0;
  }
  if (args.model === undefined) throw new UsageError("--model is required (an .onnx file or a state-dict .json)");
  if (args.x === undefined) throw new UsageError('--x is required (e.g. --x 3,2, or rows --x "3,2;1,1")');
  const rows = parseRows(args.x);
  const backendChoice = (args.backend ?? "auto") as BackendChoice;
  if (!BACKEND_CHOICES.includes(backendChoice)) throw new UsageError(`--backend must be one of ${BACKEND_CHOICES.join(", ")}, got ${JSON.stringify(args.backend)}`);
  const maxMib = args["max-input-mib"] ?? DEFAULT_MAX_INPUT_MIB;
  if (maxMib < 1) throw new UsageError(`--max-input-mib must be a positive integer, got ${maxMib}`);
  // Read the file before starting a backend, so a bad one costs nothing.
  const isJson = args.model.toLowerCase().endsWith(".json");
  const state = isJson ? readJsonFile(args.model, "--model", maxMib) : null;
  const bytes = isJson ? null : readInputBytes(args.model, "--model", maxMib);
  const shape = state !== null ? stateDictShape(state, args.model) : null;

  await setBackend(backendChoice);
  const model = shape !== null ? loadLinear(state, shape) : importOnnx(bytes!);
  try {
    checkWidth(model, rows[0]!.length, args.model);
    if (!args["allow-nonfinite"]) {
      const bad = await findNonFiniteParameter(model);
      if (bad !== null) {
        throw new NonFiniteError(`--model ${args.model} holds non-finite weights (${formatEntry(bad)}), so y would be NaN or Infinity; retrain it (a lower --lr), or pass --allow-nonfinite to print y anyway`);
      }
    }
    const y = tf.tidy(() => model.forward(tf.tensor2d(rows)));
    const values = (await y.array()) as number[][];
    y.dispose();
    console.log(`model: ${args.model} (${model})`);
    values.forEach((row, i) => console.log(`y at x = (${rows[i]!.join(", ")}): ${row.length === 1 ? row[0] : JSON.stringify(row)}`));
    if (args.json) console.log(JSON.stringify({ model: args.model, x: rows, y: values }));
    const row = values.findIndex((r) => r.some((v) => !Number.isFinite(v)));
    if (row !== -1 && !args["allow-nonfinite"]) {
      throw new NonFiniteError(`y at row ${row} of --x is ${JSON.stringify(values[row])} (NaN or Infinity: the model overflows float32 there); --allow-nonfinite exits 0 regardless`);
    }
  } finally {
    model.dispose();
  }
  return 0;
}

function parseRows(text: string): number[][] {
  const rows = text.split(";").map((row, i) =>
    row.split(",").map((cell, j) => {
      const v = parseDecimal(cell);
      if (v === null) throw new UsageError(`--x: row ${i}, value ${j} is ${JSON.stringify(cell)}, not a finite decimal number (expected e.g. --x 3,2)`);
      return v;
    }),
  );
  const width = rows[0]!.length;
  const ragged = rows.findIndex((r) => r.length !== width);
  if (ragged !== -1) throw new UsageError(`--x: row ${ragged} has ${rows[ragged]!.length} values, row 0 has ${width}; rows must be equally wide`);
  return rows;
}

/** --x's width against the model's input width, with advice that fits (not "export with a dynamic axis"). */
function checkWidth(model: Module, width: number, path: string): void {
  let expected: number | null = null;
  let declared = "";
  if (model instanceof Linear) [expected, declared] = [model.inFeatures, `[batch, ${model.inFeatures}]`];
  else if (model instanceof OnnxModel && model.inputs.length === 1) {
    const [input] = model.inputs;
    const last = input!.shape.length === 2 ? input!.shape[1] : null;
    if (typeof last === "number") [expected, declared] = [last, `[${input!.shape.map((d) => d ?? "?").join(", ")}]`];
  }
  if (expected !== null && expected !== width) {
    const example = Array.from({ length: expected }, (_, i) => i + 1).join(",");
    throw new UsageError(`--x has ${width} value${width === 1 ? "" : "s"} per row, but --model ${path} takes ${expected} (input shape ${declared}); give rows of ${expected} numbers, e.g. --x ${example}`);
  }
}

/**
 * [out, in] of a state dict's weight, checked before anything is allocated: every row as wide as
 * row 0, and the weight small enough for the free memory (a 1 MB file can declare 200000×200000).
 */
function stateDictShape(state: unknown, path: string): [number, number] {
  const weight = (state as { weight?: unknown } | null)?.weight;
  const expected = `a state dict needs "weight": [[…], …] (shape [out, in]) and "bias": […], as the train task's --out writes`;
  if (!Array.isArray(weight) || weight.length === 0 || !Array.isArray(weight[0]) || weight[0].length === 0) {
    throw new StateDictError(`--model ${path}: ${expected}`);
  }
  const width = (weight[0] as unknown[]).length;
  const ragged = weight.findIndex((row) => !Array.isArray(row) || row.length !== width);
  if (ragged !== -1) {
    const got = Array.isArray(weight[ragged]) ? `${(weight[ragged] as unknown[]).length} entries` : JSON.stringify(weight[ragged])?.slice(0, 40);
    throw new StateDictError(`--model ${path}: "weight"[${ragged}] must be a row of ${width} numbers (the width of row 0), got ${got}`);
  }
  const bytes = weight.length * width * 4;
  if (bytes > freemem()) throw new StateDictError(`--model ${path}: a ${weight.length}×${width} float32 weight needs ${formatBytes(bytes)}, more than the ${formatBytes(freemem())} of free memory`);
  return [weight.length, width];
}

/** A Linear of the checked shape, then loaded (which checks every entry). */
function loadLinear(state: unknown, [out, inFeatures]: [number, number]): Module {
  const model = new Linear(inFeatures, out);
  try {
    model.loadStateDict(state);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

/** Runs main with the shared exit codes (run_command.ts). */
export function run(argv: readonly string[]): Promise<number> {
  return runCommand("predict", main, argv, false);
}
