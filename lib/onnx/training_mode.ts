/**
 * The mode a model is traced in, as torch.onnx.export's `training` argument: "eval" by default
 * (Dropout off, batch norm on its running statistics: what a deployed model computes), "train",
 * or "preserve" (as the model is). Every module's own flag is put back afterwards, even where
 * sub-modules differed (a frozen encoder kept in eval mode inside a training model).
 */
import type { Module } from "../nn/module";
import { OnnxExportError } from "./errors";

export type ExportTrainingMode = "eval" | "train" | "preserve";
export const EXPORT_TRAINING_MODES: readonly ExportTrainingMode[] = ["eval", "train", "preserve"];

export function checkTrainingMode(mode: unknown): ExportTrainingMode {
  if (mode === undefined) return "eval";
  if (!EXPORT_TRAINING_MODES.includes(mode as ExportTrainingMode)) {
    throw new OnnxExportError(`exportOnnx: training must be one of ${EXPORT_TRAINING_MODES.map((m) => `"${m}"`).join(", ")}, got ${JSON.stringify(mode)}`);
  }
  return mode as ExportTrainingMode;
}

/** Runs `body` with `model` in `mode`, then restores each module's `training` flag. */
export function withTrainingMode<T>(model: Module, mode: ExportTrainingMode, body: () => T): T {
  if (mode === "preserve") return body();
  const flags = new Map<Module, boolean>();
  const visit = (m: Module) => {
    if (flags.has(m)) return;
    flags.set(m, m.training);
    m.childModules().forEach(visit);
  };
  visit(model);
  model.train(mode === "train");
  try {
    return body();
  } finally {
    for (const [m, training] of flags) m.training = training;
  }
}
