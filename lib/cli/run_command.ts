/**
 * How the train, export and predict commands end: the exit codes, the one line on stderr for
 * every failure that is the user's input or machine, and a clean stop on Ctrl-C or SIGTERM.
 *
 * Exit codes: 0 done; 1 a bug in gradlab (stack trace printed); 2 bad input, or a file that cannot
 * be read or written; 3 a non-finite value (training diverged, or a model holds NaN/Infinity);
 * 130 / 143 stopped by SIGINT / SIGTERM. On every exit but 0, no output file has been touched.
 */
import process from "node:process";
import { abortAllPendingWrites } from "../io/atomic_write";
import { TrainingInterruptedError } from "../experiments/seed";
import { NonFiniteError } from "../nn/non_finite";

export const EXIT_CODES = { ok: 0, bug: 1, badInput: 2, nonFinite: 3 } as const;
const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;
type StopSignal = keyof typeof SIGNAL_NUMBERS;

/** Failures that are the user's input or machine, not gradlab's bug: one line, no stack, exit 2. */
export const EXPECTED_ERRORS = ["UsageError", "DataFileError", "StateDictError", "RangeError", "BackendUnavailableError", "OnnxExportError", "OnnxImportError"];

export type CommandMain = (argv: readonly string[], signal: AbortSignal) => Promise<number>;

/**
 * Runs `main` and sets process.exitCode. With `stoppable` (commands that train), the first
 * SIGINT/SIGTERM asks the command to stop (the training loop notices within one block, a fraction
 * of a second) and a second one removes the temporary files and exits at once; otherwise signals
 * keep their default (the process ends at once; such a command has no file open for writing).
 */
export async function runCommand(name: string, main: CommandMain, argv: readonly string[], stoppable = true): Promise<number> {
  const controller = new AbortController();
  const signals = stoppable ? (Object.keys(SIGNAL_NUMBERS) as StopSignal[]) : [];
  const handlers = signals.map((signal) => {
    const handler = () => {
      if (controller.signal.aborted) {
        abortAllPendingWrites();
        console.error(`${name}: stopped by a second ${signal}`);
        process.exit(128 + SIGNAL_NUMBERS[signal]);
      }
      controller.abort(signal);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  let code: number;
  try {
    code = await main(argv, controller.signal);
  } catch (error) {
    code = reportFailure(name, error);
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
  process.exitCode = code;
  return code;
}

function reportFailure(name: string, error: unknown): number {
  if (error instanceof TrainingInterruptedError) {
    console.error(`${name}: ${error.message}; no file was written`);
    return 128 + (SIGNAL_NUMBERS[error.reason as StopSignal] ?? SIGNAL_NUMBERS.SIGINT);
  }
  if (error instanceof NonFiniteError) {
    console.error(`${name}: ${error.message}`);
    return EXIT_CODES.nonFinite;
  }
  const known = error instanceof Error && EXPECTED_ERRORS.includes(error.name);
  console.error(`${name}: ${known ? oneLine((error as Error).message) : (error as Error)?.stack ?? String(error)}`);
  return known ? EXIT_CODES.badInput : EXIT_CODES.bug;
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ");
