/**
 * `deno task train` / `npm run train`: the seed's experiment from the command line.
 * Prints the learned weight, bias and y at x = (3, 2); with --json the last line of stdout is
 * {"weight", "bias", "losses", "backend"}; --out writes the trained state dict (atomically).
 */
import process from "node:process";
import { BACKEND_CHOICES, setBackend, type BackendChoice } from "../backend";
import { runSeedExperiment, SEED_HYPERPARAMETERS, type SeedExperimentResult } from "../experiments/seed";
import { samplesFromJson } from "../experiments/seed_data";
import { writeFileAtomic } from "../io/atomic_write";
import type { StateDict } from "../nn/state_dict";
import { parseArgs, usage, UsageError, type OptionSpec, type ParsedOptions } from "./args";
import { checkWritableTarget, readJsonFile, writeOutput } from "./json_file";

export const TRAIN_OPTIONS = {
  steps: { kind: "integer", help: "training steps (default 300, or one pass over --data)" },
  lr: { kind: "number", help: `learning rate (default ${SEED_HYPERPARAMETERS.lr})` },
  momentum: { kind: "number", help: `SGD momentum (default ${SEED_HYPERPARAMETERS.momentum})` },
  "weight-decay": { kind: "number", help: `SGD weight decay (default ${SEED_HYPERPARAMETERS.weightDecay})` },
  seed: { kind: "integer", help: "seed for the initial weights and the samples (default 0)" },
  backend: { kind: "string", help: `${BACKEND_CHOICES.join(" | ")} (default auto)` },
  init: { kind: "string", help: 'start from a state dict JSON {"weight": [[…]], "bias": […]}' },
  data: { kind: "string", help: 'train on {"x": [[x1, x2], …], "y"?: […]} instead of random samples' },
  out: { kind: "string", help: "write the trained state dict (JSON) here" },
  json: { kind: "boolean", help: "end stdout with one line of JSON" },
  help: { kind: "boolean", help: "show this help" },
} satisfies OptionSpec;
export type TrainArgs = ParsedOptions<typeof TRAIN_OPTIONS>;

export async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, TRAIN_OPTIONS);
  if (args.help) {
    console.log(usage("train", TRAIN_OPTIONS));
    return 0;
  }
  const result = await trainFromArgs(args);
  if (args.out !== undefined) {
    writeOutput(args.out, "--out", JSON.stringify(await result.model.stateDictAsync()) + "\n");
    console.log(`state dict written to ${args.out}`);
  }
  if (args.json) {
    console.log(JSON.stringify({ weight: result.weight, bias: result.bias, losses: result.losses, backend: result.backend }));
  }
  result.model.dispose();
  return 0;
}

/**
 * The train task up to the trained model (shared with the export task): check every input,
 * select the backend, train, print the summary. `args.out` is only checked to be writable.
 */
export async function trainFromArgs(args: TrainArgs): Promise<SeedExperimentResult> {
  const backendChoice = (args.backend ?? "auto") as BackendChoice;
  if (!BACKEND_CHOICES.includes(backendChoice)) throw new UsageError(`--backend must be one of ${BACKEND_CHOICES.join(", ")}, got ${JSON.stringify(args.backend)}`);
  // Read and check every input before any work, so a bad file costs nothing.
  if (args.steps !== undefined && args.steps < 1) throw new UsageError(`--steps must be a positive integer, got ${args.steps}`);
  const init = args.init === undefined ? undefined : (readJsonFile(args.init, "--init") as StateDict);
  const data = args.data === undefined ? undefined : samplesFromJson(readJsonFile(args.data, "--data"), `--data file ${args.data}`);
  if (args.out !== undefined) checkWritableTarget(args.out, "--out");

  const backend = await setBackend(backendChoice);
  console.log(`backend: ${backend.name} on ${backend.device}${backend.skipped.length ? ` (skipped ${backend.skipped.join("; ")})` : ""}`);
  const result = await runSeedExperiment({
    ...(args.steps !== undefined && { steps: args.steps }),
    ...(args.lr !== undefined && { lr: args.lr }),
    ...(args.momentum !== undefined && { momentum: args.momentum }),
    ...(args["weight-decay"] !== undefined && { weightDecay: args["weight-decay"] }),
    ...(args.seed !== undefined && { seed: args.seed }),
    ...(init !== undefined && { init }),
    ...(data !== undefined && { data }),
  });
  const last = result.losses[result.losses.length - 1]!;
  console.log(`trained ${result.steps} steps in ${result.ms.toFixed(1)} ms; last loss ${last.toExponential(3)}`);
  console.log(`weight: ${JSON.stringify(result.weight)}`);
  console.log(`bias:   ${JSON.stringify(result.bias)}`);
  if (Number.isFinite(result.prediction)) console.log(`y at x = (3, 2): ${result.prediction}`);
  return result;
}

/** Failures that are the user's input or machine, not gradlab's bug: one line, no stack. */
export const EXPECTED_ERRORS = ["UsageError", "DataFileError", "StateDictError", "RangeError", "BackendUnavailableError"];

/** Runs main, turning expected failures into one clear line on stderr and exit code 2. */
export async function run(argv: readonly string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (error) {
    const known = error instanceof Error && EXPECTED_ERRORS.includes(error.name);
    console.error(`train: ${known ? (error as Error).message : (error as Error)?.stack ?? String(error)}`);
    process.exitCode = known ? 2 : 1;
  }
}
