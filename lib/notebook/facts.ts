/**
 * What a notebook establishes, recorded in its outputs: a sentence for the reader and, beside it
 * in the same output, the value as JSON (application/vnd.gradlab.fact+json) for the regression
 * tests, which check facts rather than bytes.
 */
import { display } from "./display";

export const FACT_MIME = "application/vnd.gradlab.fact+json";

export interface Fact<T = unknown> {
  name: string;
  value: T;
}

/** Shows `sentence` and records {name, value}. */
export function fact<T>(name: string, value: T, sentence: string): void {
  display({ "text/plain": sentence, [FACT_MIME]: { name, value } satisfies Fact<T> }, { gradlab: { fact: name } });
}

/** A claim the notebook's story depends on: false stops the notebook, saying what failed. */
export class NotebookCheckError extends Error {
  override name = "NotebookCheckError";
}

export function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new NotebookCheckError(`check failed: ${what}`);
}
