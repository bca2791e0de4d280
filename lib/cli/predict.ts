/**
 * `deno task predict --model FILE --x 3,2` / `npm run predict -- …`: load a model and print y.
 * FILE is an .onnx file (gradlab's, PyTorch's, any that importOnnx reads) or a state-dict .json
 * as the train task's --out writes (a Linear's {"weight": [[…]], "bias": […]}). --x is one row of
 * comma-separated numbers, or several rows separated by ";". With --json the last line of stdout
 * is {"model", "x", "y"}.
 */
import process from "node:process";
import * as tf from "@tensorflow/tfjs";
import { BACKEND_CHOICES, setBackend, type BackendChoice } from "../backend";
import { Linear } from "../nn/linear";
import type { Module } from "../nn/module";
import { StateDictError } from "../nn/state_dict";
import { OnnxImportError } from "../onnx/errors";
import { importOnnx, modelBytes } from "../onnx/import";
import { parseArgs, usage, UsageError, type OptionSpec } from "./args";
import { readJsonFile } from "./json_file";
import { EXPECTED_ERRORS } from "./train";

const OPTIONS = {
  model: { kind: "string", help: "an .onnx file, or a state-dict .json (as train --out writes)" },
  x: { kind: "string", help: 'the input: "3,2", or rows "3,2;1,1"' },
  backend: { kind: "string", help: `${BACKEND_CHOICES.join(" | ")} (default auto)` },
  json: { kind: "boolean", help: "end stdout with one line of JSON" },
  help: { kind: "boolean", help: "show this help" },
} satisfies OptionSpec;

export async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, OPTIONS);
  if (args.help) {
    console.log(usage("predict", OPTIONS));
    return 0;
  }
  if (args.model === undefined) throw new UsageError("--model is required (an .onnx file or a state-dict .json)");
  if (args.x === undefined) throw new UsageError('--x is required (e.g. --x 3,2, or rows --x "3,2;1,1")');
  const rows = parseRows(args.x);
  const backendChoice = (args.backend ?? "auto") as BackendChoice;
  if (!BACKEND_CHOICES.includes(backendChoice)) throw new UsageError(`--backend must be one of ${BACKEND_CHOICES.join(", ")}, got ${JSON.stringify(args.backend)}`);
  // Read the file before starting a backend, so a bad one costs nothing.
  const isJson = args.model.toLowerCase().endsWith(".json");
  const state = isJson ? readJsonFile(args.model, "--model") : null;
  const bytes = isJson ? null : modelBytes(args.model);

  await setBackend(backendChoice);
  const model = state !== null ? linearFromStateDict(state, args.model) : importOnnx(bytes!);
  try {
    const y = tf.tidy(() => model.forward(tf.tensor2d(rows)));
    const values = (await y.array()) as number[][];
    y.dispose();
    console.log(`model: ${args.model} (${model})`);
    values.forEach((row, i) => console.log(`y at x = (${rows[i]!.join(", ")}): ${row.length === 1 ? row[0] : JSON.stringify(row)}`));
    if (args.json) console.log(JSON.stringify({ model: args.model, x: rows, y: values }));
  } finally {
    model.dispose();
  }
  return 0;
}

function parseRows(text: string): number[][] {
  const rows = text.split(";").map((row, i) =>
    row.split(",").map((cell, j) => {
      const v = Number(cell);
      if (cell.trim() === "" || !Number.isFinite(v)) throw new UsageError(`--x: row ${i}, value ${j} is ${JSON.stringify(cell)}, not a number (expected e.g. --x 3,2)`);
      return v;
    }),
  );
  const width = rows[0]!.length;
  const ragged = rows.findIndex((r) => r.length !== width);
  if (ragged !== -1) throw new UsageError(`--x: row ${ragged} has ${rows[ragged]!.length} values, row 0 has ${width}; rows must be equally wide`);
  return rows;
}

/** A Linear shaped by the state dict's weight [out, in], then loaded (which checks every entry). */
function linearFromStateDict(state: unknown, path: string): Module {
  const weight = (state as { weight?: unknown } | null)?.weight;
  if (!Array.isArray(weight) || !Array.isArray(weight[0]) || weight[0].length === 0) {
    throw new StateDictError(`--model ${path}: a state dict needs "weight": [[…], …] (shape [out, in]) and "bias": […], as the train task's --out writes`);
  }
  const model = new Linear(weight[0].length, weight.length);
  try {
    model.loadStateDict(state);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

/** Runs main, turning expected failures into one clear line on stderr and exit code 2. */
export async function run(argv: readonly string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (error) {
    const known = error instanceof Error && (EXPECTED_ERRORS.includes(error.name) || error instanceof OnnxImportError);
    console.error(`predict: ${known ? (error as Error).message : (error as Error)?.stack ?? String(error)}`);
    process.exitCode = known ? 2 : 1;
  }
}
