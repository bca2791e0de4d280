/**
 * A model, optimizer or scheduler saved to a file and loaded from it in one call each (torch's
 * torch.save(model.state_dict(), path) / model.load_state_dict(torch.load(path))). The file is
 * the state dict as JSON, written atomically, so a crash mid-write leaves the previous file.
 */
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "./atomic_write";

/** Anything with a state dict: Module, the optimizers, the schedulers. */
export interface HasStateDict {
  stateDict(): unknown;
}
export interface HasStateDictAsync {
  stateDictAsync(): Promise<unknown>;
}
export interface LoadsStateDict {
  loadStateDict(state: unknown): void;
}

/** Writes `target.stateDict()` to `path` as JSON (values read synchronously: cpu, wasm, tfjs-node). */
export function saveState(target: HasStateDict, path: string): void {
  writeFileAtomic(path, `${JSON.stringify(target.stateDict())}\n`);
}

/** Writes `target.stateDictAsync()` to `path` as JSON: every backend, webgpu included. */
export async function saveStateAsync(target: HasStateDictAsync, path: string): Promise<void> {
  writeFileAtomic(path, `${JSON.stringify(await target.stateDictAsync())}\n`);
}

/**
 * Reads `path` and loads it into `target`, which checks every entry before changing anything.
 * A state dict torch wrote ({name: tensor.tolist()} as JSON) loads the same way.
 */
export function loadState(target: LoadsStateDict, path: string): void {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`loadState: cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`loadState: ${path} is not a JSON state dict: ${(error as Error).message}`, { cause: error });
  }
  target.loadStateDict(state);
}
