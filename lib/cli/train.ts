/**
 * `deno task train` / `npm run train`: the seed's experiment from the command line.
 * Prints the learned weight, bias and y at x = (3, 2); with --json the last line of stdout is
 * {"weight", "bias", "losses", "lossEvery", "backend"}; --out writes the trained state dict.
 *
 * Every option and input file is checked, and --out's temporary file created, before the backend
 * starts; training stops (exit 3) at the first NaN or Infinity unless --allow-nonfinite; --out is
 * replaced only by a finished, finite run (see run_command.ts for the exit codes).
 */
import { BACKEND_CHOICES, setBackend, type BackendChoice } from "../backend";
import { runSeedExperiment, SEED_HYPERPARAMETERS, TrainingInterruptedError, type SeedExperimentResult } from "../experiments/seed";
import { samplesFromJson, type Samples } from "../experiments/seed_data";
import { findNonFiniteParameter, formatEntry } from "../nn/non_finite";
import type { StateDict } from "../nn/state_dict";
import { parseArgs, usage, UsageError, type OptionSpec, type ParsedOptions } from "./args";
import { commitOutput, DEFAULT_MAX_INPUT_MIB, openOutput, readJsonFile, type InputFile } from "./json_file";
import { ProgressLine } from "./progress";
import { runCommand } from "./run_command";

/** --json keeps every step's loss up to this many steps, then every k-th: memory does not grow with --steps. */
export const MAX_JSON_LOSSES = 10_000;
const FLOAT32_MAX = 3.4028234663852886e38;
/** The generator's seed is 32 bits: a larger one would silently repeat a smaller one's stream. */
export const MAX_SEED = 2 ** 32 - 1;

export const TRAIN_OPTIONS = {
  steps: { kind: "integer", help: "training steps (default 300, or one pass over --data)" },
  lr: { kind: "number", help: `learning rate (default ${SEED_HYPERPARAMETERS.lr})` },
  momentum: { kind: "number", help: `SGD momentum (default ${SEED_HYPERPARAMETERS.momentum})` },
  "weight-decay": { kind: "number", help: `SGD weight decay (default ${SEED_HYPERPARAMETERS.weightDecay})` },
  seed: { kind: "integer", help: `seed for the initial weights and the samples, 0 to ${MAX_SEED} (default 0)` },
  backend: { kind: "string", help: `${BACKEND_CHOICES.join(" | ")} (default auto)` },
  init: { kind: "string", help: 'start from a state dict JSON {"weight": [[…]], "bias": […]}' },
  data: { kind: "string", help: 'train on {"x": [[x1, x2], …], "y"?: […]} instead of random samples' },
  out: { kind: "string", help: "write the trained state dict (JSON) here; replaced only by a finished, finite run" },
  "allow-nonfinite": { kind: "boolean", help: "train on through NaN/Infinity and write them, as PyTorch does (default: stop, exit code 3)" },
  "max-input-mib": { kind: "integer", help: `largest input file read, in MiB (default ${DEFAULT_MAX_INPUT_MIB})` },
  json: { kind: "boolean", help: `end stdout with one line of JSON; "losses" has every step's loss up to ${MAX_JSON_LOSSES} steps, beyond that every k-th ("lossEvery": k), so memory stays flat` },
  help: { kind: "boolean", help: "show this help" },
} satisfies OptionSpec;
export type TrainArgs = ParsedOptions<typeof TRAIN_OPTIONS>;

const HELP_FOOTER = `
exit codes: 0 done; 2 bad input or an unwritable --out; 3 NaN/Infinity in the loss or weights;
130/143 stopped by Ctrl-C/SIGTERM. On any failure --out is left exactly as it was.
On a terminal, a progress line (step, loss, steps/s) is shown on stderr unless --json.`;

export async function main(argv: readonly string[], signal: AbortSignal = new AbortController().signal): Promise<number> {
  const args = parseArgs(argv, TRAIN_OPTIONS);
  if (args.help) {
    console.log(usage("train", TRAIN_OPTIONS) + "\n" + HELP_FOOTER);
    return 0;
  }
  const inputs = readTrainInputs(args);
  const out = args.out === undefined ? undefined : openOutput(args.out, "--out", inputs.files);
  try {
    const result = await trainWithInputs(args, inputs, signal);
    try {
      if (out !== undefined) {
        const state = await result.model.stateDictAsync();
        if (signal.aborted) throw new TrainingInterruptedError(result.steps, result.steps, signal.reason);
        commitOutput(out, args.out!, "--out", JSON.stringify(state) + "\n");
        console.log(`state dict written to ${args.out}`);
      }
      if (args.json) {
        console.log(JSON.stringify({ weight: result.weight, bias: result.bias, losses: result.losses, lossEvery: result.lossEvery, backend: result.backend }));
      }
    } finally {
      result.model.dispose();
    }
  } finally {
    out?.abort(); // a no-op after a commit
  }
  return 0;
}

export interface TrainInputs {
  init?: StateDict;
  data?: Samples;
  /** The files read, for refusing an output that is one of them. */
  files: InputFile[];
}

/** Checks every training option and reads every input file; no backend, no training yet. */
export function readTrainInputs(args: TrainArgs): TrainInputs {
  const backendChoice = (args.backend ?? "auto") as BackendChoice;
  if (!BACKEND_CHOICES.includes(backendChoice)) throw new UsageError(`--backend must be one of ${BACKEND_CHOICES.join(", ")}, got ${JSON.stringify(args.backend)}`);
  if (args.steps !== undefined && args.steps < 1) throw new UsageError(`--steps must be a positive integer, got ${args.steps}`);
  if (args.seed !== undefined && (args.seed < 0 || args.seed > MAX_SEED)) throw new UsageError(`--seed must be an integer from 0 to ${MAX_SEED}, got ${args.seed}`);
  for (const name of ["lr", "momentum", "weight-decay"] as const) {
    const value = args[name];
    // The optimizer computes in float32: a larger value would be Infinity there.
    if (value !== undefined && !(value >= 0 && value <= FLOAT32_MAX)) throw new UsageError(`--${name} must be a number from 0 to ${FLOAT32_MAX.toExponential(4)} (float32's largest), got ${value}`);
  }
  const maxMib = args["max-input-mib"] ?? DEFAULT_MAX_INPUT_MIB;
  if (maxMib < 1) throw new UsageError(`--max-input-mib must be a positive integer, got ${maxMib}`);
  const files: InputFile[] = [];
  const init = args.init === undefined ? undefined : (readJsonFile(args.init, "--init", maxMib) as StateDict);
  if (args.init !== undefined) files.push({ option: "--init", path: args.init });
  const data = args.data === undefined ? undefined : samplesFromJson(readJsonFile(args.data, "--data", maxMib), `--data file ${args.data}`);
  if (args.data !== undefined) files.push({ option: "--data", path: args.data });
  return { ...(init !== undefined && { init }), ...(data !== undefined && { data }), files };
}

/** Selects the backend, trains (with a progress line on a terminal) and prints the summary. */
export async function trainWithInputs(args: TrainArgs, inputs: TrainInputs, signal: AbortSignal): Promise<SeedExperimentResult> {
  const backend = await setBackend((args.backend ?? "auto") as BackendChoice);
  console.log(`backend: ${backend.name} on ${backend.device}${backend.skipped.length ? ` (skipped ${backend.skipped.join("; ")})` : ""}`);
  const progress = new ProgressLine({ json: args.json });
  let result: SeedExperimentResult;
  try {
    result = await runSeedExperiment({
      ...(args.steps !== undefined && { steps: args.steps }),
      ...(args.lr !== undefined && { lr: args.lr }),
      ...(args.momentum !== undefined && { momentum: args.momentum }),
      ...(args["weight-decay"] !== undefined && { weightDecay: args["weight-decay"] }),
      ...(args.seed !== undefined && { seed: args.seed }),
      ...(inputs.init !== undefined && { init: inputs.init }),
      ...(inputs.data !== undefined && { data: inputs.data }),
      stopOnNonFinite: !args["allow-nonfinite"],
      maxLosses: MAX_JSON_LOSSES,
      onProgress: (p) => progress.update(p),
      signal,
    });
  } catch (error) {
    if ((error as Error)?.name === "NonFiniteError") {
      (error as Error).message = `training diverged: ${(error as Error).message}. ${divergenceAdvice(args)}`;
    }
    throw error;
  } finally {
    progress.clear();
  }
  console.log(`trained ${result.steps} steps in ${result.ms.toFixed(1)} ms; last loss ${result.lastLoss.toExponential(3)}`);
  console.log(`weight: ${JSON.stringify(result.weight)}`);
  console.log(`bias:   ${JSON.stringify(result.bias)}`);
  if (Number.isFinite(result.prediction)) console.log(`y at x = (3, 2): ${result.prediction}`);
  if (args["allow-nonfinite"]) {
    const bad = await findNonFiniteParameter(result.model);
    if (bad !== null) console.error(`warning: the trained weights are not finite (${formatEntry(bad)}; JSON writes NaN and Infinity as null)`);
  }
  return result;
}

function divergenceAdvice(args: TrainArgs): string {
  const lr = args.lr ?? SEED_HYPERPARAMETERS.lr;
  return `Try a lower --lr (now ${lr}; e.g. --lr ${lr / 10})${args.init !== undefined ? ", or check --init's values" : ""}; --allow-nonfinite trains on regardless, as PyTorch does`;
}

/** Runs main with the shared exit codes (run_command.ts). */
export function run(argv: readonly string[]): Promise<number> {
  return runCommand("train", main, argv);
}
