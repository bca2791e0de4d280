/** Collects gradlab warnings during a callback instead of printing them. */
import { resetWarnings, setWarningHandler } from "../../lib/warnings";

export async function captureWarnings<T>(body: () => T | Promise<T>): Promise<{ result: T; warnings: string[] }> {
  const warnings: string[] = [];
  resetWarnings();
  const previous = setWarningHandler((m) => warnings.push(m));
  try {
    return { result: await body(), warnings };
  } finally {
    setWarningHandler(previous);
  }
}
