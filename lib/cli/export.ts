/**
 * `deno task export` / `npm run export`: the seed's whole program, training and then
 * torch.onnx.export, in one command. Takes the train task's options (--steps, --lr, --seed,
 * --backend, --init, --data, …) and writes the trained model to --out (default linear.onnx),
 * atomically, with the batch axis of x and y dynamic (what the seed's dynamic_axes meant to do).
 * --mode picks how MYLINEAR is written (see exportOnnx); --json ends stdout with one JSON line.
 */
import process from "node:process";
import { OnnxExportError } from "../onnx/errors";
import { CUSTOM_OPS_MODES, type CustomOpsMode } from "../onnx/export_options";
import { exportOnnx } from "../onnx/export";
import { describeOnnx, formatOnnxDescription } from "../onnx/describe";
import { DEFAULT_OPSET, MAX_OPSET, MIN_OPSET } from "../onnx/proto";
import { parseArgs, usage, UsageError, type OptionSpec } from "./args";
import { checkWritableTarget, writeOutput } from "./json_file";
import { EXPECTED_ERRORS, TRAIN_OPTIONS, trainFromArgs } from "./train";

const MODE_HELP: Record<CustomOpsMode, string> = {
  function: "MYLINEAR plus its definition as a model-local function (runs anywhere; the default)",
  standard: "MYLINEAR lowered to a standard Gemm",
  opaque: "the bare MYLINEAR node, as PyTorch writes it (needs a runtime with a MYLINEAR kernel)",
};

const OPTIONS = {
  ...TRAIN_OPTIONS,
  out: { kind: "string", help: "the ONNX file to write (default linear.onnx)" },
  mode: { kind: "string", help: `${CUSTOM_OPS_MODES.join(" | ")} (default function)` },
  opset: { kind: "integer", help: `default-domain opset, ${MIN_OPSET} to ${MAX_OPSET} (default ${DEFAULT_OPSET})` },
  dtype: { kind: "string", help: "float32 | float64 (default float32; float64 widens the weights)" },
  json: { kind: "boolean", help: "end stdout with one line of JSON" },
} satisfies OptionSpec;

export async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, OPTIONS);
  if (args.help) {
    console.log(usage("export", OPTIONS) + "\n\nmodes:\n" + CUSTOM_OPS_MODES.map((m) => `  ${m.padEnd(10)}${MODE_HELP[m]}`).join("\n"));
    return 0;
  }
  const mode = (args.mode ?? "function") as CustomOpsMode;
  if (!CUSTOM_OPS_MODES.includes(mode)) throw new UsageError(`--mode must be one of ${CUSTOM_OPS_MODES.join(", ")}, got ${JSON.stringify(args.mode)}`);
  if (args.dtype !== undefined && args.dtype !== "float32" && args.dtype !== "float64") throw new UsageError(`--dtype must be float32 or float64, got ${JSON.stringify(args.dtype)}`);
  if (args.opset !== undefined && (args.opset < MIN_OPSET || args.opset > MAX_OPSET)) throw new UsageError(`--opset must be from ${MIN_OPSET} to ${MAX_OPSET}, got ${args.opset}`);
  const out = args.out ?? "linear.onnx";
  checkWritableTarget(out, "--out");
  // Every option is checked above, before the training; what is left to fail is the export itself.

  const result = await trainFromArgs({ ...args, out });
  let bytes: Uint8Array;
  try {
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
  writeOutput(out, "--out", bytes);
  console.log(`wrote ${out} (${bytes.length} bytes; --mode ${mode}: ${MODE_HELP[mode]})`);
  console.log(formatOnnxDescription(describeOnnx(bytes)));
  if (args.json) {
    console.log(JSON.stringify({ out, mode, bytes: bytes.length, weight: result.weight, bias: result.bias, backend: result.backend }));
  }
  return 0;
}

/** Runs main, turning expected failures into one clear line on stderr and exit code 2. */
export async function run(argv: readonly string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (error) {
    const known = error instanceof Error && (EXPECTED_ERRORS.includes(error.name) || error instanceof OnnxExportError);
    console.error(`export: ${known ? (error as Error).message : (error as Error)?.stack ?? String(error)}`);
    process.exitCode = known ? 2 : 1;
  }
}
