/**
 * A model, optimizer or scheduler saved to a file and loaded from it in one call each (torch's
 * torch.save(model.state_dict(), path) / model.load_state_dict(torch.load(path))). The file is
 * the state dict as JSON, written atomically, so a crash mid-write leaves the previous file.
 */
import { writeFileAtomic } from "./atomic_write";
import { jsonNestingDepth, MAX_JSON_DEPTH, readBoundedBytes } from "./bounded_read";

/**
 * The largest state file loadState reads by default, in MiB: about the longest string V8 makes
 * (2²⁹ − 24 characters), so a larger JSON file could not be parsed whole anyway.
 */
export const DEFAULT_STATE_MAX_MIB = 512;

export interface LoadStateOptions {
  /** Refuse files over this many MiB (default DEFAULT_STATE_MAX_MIB) before reading them. */
  maxMib?: number;
}

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
 * A state dict torch wrote ({name: tensor.tolist()} as JSON) loads the same way. The file is
 * checked before it is parsed: its size against `maxMib` (a pipe or device is read up to it), its
 * nesting against what a state dict needs; either failing leaves `target` as it was.
 */
export function loadState(target: LoadsStateDict, path: string, options: LoadStateOptions = {}): void {
  const maxMib = options.maxMib ?? DEFAULT_STATE_MAX_MIB;
  if (!(Number.isFinite(maxMib) && maxMib > 0)) throw new RangeError(`loadState: maxMib must be a positive number of MiB, got ${String(maxMib)}`);
  const bytes = readBoundedBytes(path, maxMib, (failure) => {
    switch (failure.kind) {
      case "missing": return new Error(`loadState: cannot read ${path}: ENOENT, no such file`);
      case "folder": return new Error(`loadState: cannot read ${path}: it is a folder, expected a state file`);
      case "unreadable": return new Error(`loadState: cannot read ${path}: ${failure.message}`);
      case "too big": return new RangeError(`loadState: ${path} is ${failure.size}, over the ${maxMib} MiB limit on state files; if it is meant, pass { maxMib: ${failure.hintMib} }`);
    }
  });
  const text = new TextDecoder().decode(bytes);
  if (jsonNestingDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new SyntaxError(`loadState: ${path} nests arrays/objects more than ${MAX_JSON_DEPTH} deep; expected a JSON state dict (a few levels: names, then nested number arrays)`);
  }
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`loadState: ${path} is not a JSON state dict: ${(error as Error).message}`, { cause: error });
  }
  target.loadStateDict(state);
}
