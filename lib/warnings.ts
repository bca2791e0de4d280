/**
 * Warnings shown once per distinct message, as Python's default warning filter does: the seed's
 * loss call warns on its first step, not on all 300.
 */

export type WarningHandler = (message: string) => void;

let handler: WarningHandler = (message) => console.warn(`gradlab warning: ${message}`);
const shown = new Set<string>();

export function warnOnce(message: string): void {
  if (shown.has(message)) return;
  shown.add(message);
  handler(message);
}

/** Route warnings elsewhere (a test, a notebook cell); returns the previous handler. */
export function setWarningHandler(next: WarningHandler): WarningHandler {
  const previous = handler;
  handler = next;
  return previous;
}

/** Forget which warnings were shown, so they show again (tests). */
export function resetWarnings(): void {
  shown.clear();
}
