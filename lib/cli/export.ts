/**
 * `deno task export` / `npm run export`: the seed's whole program, training and then
 * torch.onnx.export, in one command. Takes the train task's options (--steps, --lr, --seed,
 * --backend, --init, --data, …) and writes the trained model to --out (default linear.onnx),
 * atomically, with the batch axis of x and y dynamic (what the seed's dynamic_axes meant to do).
 * --mode picks how MYLINEAR is written (see exportOnnx); --json ends stdout with one JSON line.
 */
import { CUSTOM_OPS_MODES, type CustomOpsMode } from "../onnx/export_options";
import { exportOnnx } from "../onnx/export";
import { describeOnnx, formatOnnxDescription } from "../onnx/describe";
import { DEFAULT_OPSET, MAX_OPSET, MIN_OPSET } from "../onnx/proto";
import { TrainingInterruptedError } from "../experiments/seed";
import { findNonFiniteParameter, formatEntry, NonFiniteError } from "../nn/non_finite";
import { parseArgs, usage, UsageError, type OptionSpec } from "./args";
import { commitOutput, openOutput } from "./json_file";
import { runCommand } from "./run_command";
import { readTrainInputs, TRAIN_OPTIONS, trainWithInputs } from "./train";

const MODE_HELP: Record<CustomOpsMode, string> = {
  function: "MYLINEAR plus its definition as a model-local function (runs anywhere; the default)",
  standard: "MYLINEAR lowered to a standard Gemm",
  opaque: "the bare MYLINEAR node, as PyTorch writes it (needs a runtime with a MYLINEAR kernel)",
};

const OPTIONS = {
  ...TRAIN_OPTIONS,
  out: { kind: "string", help: "the ONNX file to write (default linear.onnx); replaced only by a finished, finite run" },
  "allow-nonfinite": { kind: "boolean", help: "train on through NaN/Infinity and export them, as PyTorch does (default: refuse, exit code 3)" },
  mode: { kind: "string", help: `${CUSTOM_OPS_MODES.join(" | ")} (default function)` },
  opset: { kind: "integer", help: `default-domain opset, ${MIN_OPSET} to ${MAX_OPSET} (default ${DEFAULT_OPSET})` },
  dtype: { kind: "string", help: "float32 | float64 (default float32; float64 widens the weights)" },
  json: { kind: "boolean", help: "end stdout with one line of JSON" },
} satisfies OptionSpec;

const HELP_FOOTER = `
exit codes: 0 done; 2 bad input or an unwritable --out; 3 NaN/Infinity in the loss or weights;
130/143 stopped by Ctrl-C/SIGTERM. On any failure --out is left exactly as it was.`;

export async function main(argv: readonly string[], signal: AbortSignal = new AbortController().signal): Promise<number> {
  const args = parseArgs(argv, OPTIONS);
  if (args.help) {
    console.log(usage("export", OPTIONS) + "\n\nmodes:\n" + CUSTOM_OPS_MODES.map((m) => `  ${m.padEnd(10)}${MODE_HELP[m]}`).join("\n") + "\n" + HELP_FOOTER);
    return 0;
  }
  const mode = (args.mode ?? "function") as CustomOpsMode;
  if (!CUSTOM_OPS_MODES.includes(mode)) throw new UsageError(`--mode must be one of ${CUSTOM_OPS_MODES.join(", ")}, got ${JSON.stringify(args.mode)}`);
  if (args.dtype !== undefined && args.dtype !== "float32" && args.dtype !== "float64") throw new UsageError(`--dtype must be float32 or float64, got ${JSON.stringify(args.dtype)}`);
  if (args.opset !== undefined && (args.opset < MIN_OPSET || args.opset > MAX_OPSET)) throw new UsageError(`--opset must be from ${MIN_OPSET} to ${MAX_OPSET}, got ${args.opset}`);
  const out = args.out ?? "linear.onnx";
  const inputs = readTrainInputs(args);
  const pending = openOutput(out, "--out", inputs.files);
  // Every option and input is checked above, before the training; what is left to fail is the export itself.
  try {
    const result = await trainWithInputs(args, inputs, signal);
    let bytes: Uint8Array;
    try {
      if (!args["allow-nonfinite"]) {
        const bad = await findNonFiniteParameter(result.model);
        if (bad !== null) throw new NonFiniteError(`refusing to export non-finite weights (${formatEntry(bad)}); try a lower --lr, or --allow-nonfinite to export them as PyTorch does`);
      }
      // Encoded in memory first: a failure here leaves any existing file untouched.
      bytes = await exportOnnx(result.model, undefined, {
        customOps: mode,
        dynamicAxes: { x: { 0: "batch" }, y: { 0: "batch" } },
        ...(args.opset !== undefined && { opset: args.opset }),
        ...(args.dtype !== undefined && { dtype: args.dtype as "float32" | "float64" }),
      });
    } finally {
      result.model.dispose();
    }
    if (signal.aborted) throw new TrainingInterruptedError(result.steps, result.steps, signal.reason);
    commitOutput(pending, out, "--out", bytes);
    console.log(`wrote ${out} (${bytes.length} bytes; --mode ${mode}: ${MODE_HELP[mode]})`);
    console.log(formatOnnxDescription(describeOnnx(bytes)));
    if (args.json) {
      console.log(JSON.stringify({ out, mode, bytes: bytes.length, weight: result.weight, bias: result.bias, backend: result.backend }));
    }
  } finally {
    pending.abort(); // a no-op after a commit
  }
  return 0;
}

/** Runs main with the shared exit codes (run_command.ts). */
export function run(argv: readonly string[]): Promise<number> {
  return runCommand("export", main, argv);
}
