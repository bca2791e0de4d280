/**
 * The progress line of a long run on a terminal: step, loss and steps/s, redrawn in place on
 * stderr at most every 0.5 s, and erased at the end. Silent when stderr is not a terminal or
 * when stdout is --json (a pipe or a log gets no carriage returns).
 */
import process from "node:process";
import type { TrainingProgress } from "../experiments/seed";

export const PROGRESS_INTERVAL_MS = 500;

export class ProgressLine {
  readonly enabled: boolean;
  #lastDraw = -Infinity;
  #drawn = false;

  constructor(options: { json?: boolean | undefined }, private readonly stream: { isTTY?: boolean; write(text: string): unknown } = process.stderr) {
    this.enabled = stream.isTTY === true && !options.json;
  }

  update(p: TrainingProgress): void {
    const now = performance.now();
    if (!this.enabled || p.step >= p.steps || now - this.#lastDraw < PROGRESS_INTERVAL_MS) return;
    this.#lastDraw = now;
    const rate = p.ms > 0 ? Math.round((p.step / p.ms) * 1000) : 0;
    this.stream.write(`\r\x1b[Kstep ${p.step}/${p.steps}  loss ${p.loss.toExponential(3)}  ${rate} steps/s`);
    this.#drawn = true;
  }

  /** Erases the line, so what follows starts at the left margin. */
  clear(): void {
    if (this.#drawn) this.stream.write("\r\x1b[K");
    this.#drawn = false;
  }
}
