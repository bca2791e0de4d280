/**
 * Loss modules, as torch.nn's: each holds its options (a class weight is kept as given, like
 * torch's registered buffer, not a Parameter) and applies its functional. MSELoss lives in
 * mse_loss.ts; the ops behind these are in lib/ops/losses/.
 */
import type * as tf from "@tensorflow/tfjs";
import { checkOptions } from "../ops/argument_checks";
import { binaryCrossEntropyWithLogits, type BceWithLogitsOptions } from "../ops/losses/bce_with_logits";
import { crossEntropy, type CrossEntropyOptions } from "../ops/losses/cross_entropy";
import { nllLoss, type NllLossOptions } from "../ops/losses/nll_loss";
import { checkReduction, checkNumber } from "../ops/argument_checks";
import { checkIgnoreIndex } from "../ops/losses/class_targets";
import { Module } from "./module";

export class CrossEntropyLoss extends Module {
  readonly options: Readonly<CrossEntropyOptions>;
  /** torch.nn.CrossEntropyLoss(weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0). */
  constructor(options: CrossEntropyOptions = {}) {
    super();
    checkOptions("CrossEntropyLoss", options, ["weight", "ignoreIndex", "reduction", "labelSmoothing"]);
    checkReduction("CrossEntropyLoss", options.reduction ?? "mean");
    checkIgnoreIndex("CrossEntropyLoss", options.ignoreIndex ?? -100);
    checkNumber("CrossEntropyLoss", "labelSmoothing", options.labelSmoothing ?? 0, { min: 0, max: 1, text: "in [0, 1]" });
    this.options = { ...options };
  }
  forward(input: tf.Tensor, target: tf.Tensor): tf.Tensor {
    return crossEntropy(input, target, this.options);
  }
}

export class NLLLoss extends Module {
  readonly options: Readonly<NllLossOptions>;
  /** torch.nn.NLLLoss(weight=None, ignore_index=-100, reduction="mean"). */
  constructor(options: NllLossOptions = {}) {
    super();
    checkOptions("NLLLoss", options, ["weight", "ignoreIndex", "reduction"]);
    checkReduction("NLLLoss", options.reduction ?? "mean");
    checkIgnoreIndex("NLLLoss", options.ignoreIndex ?? -100);
    this.options = { ...options };
  }
  forward(input: tf.Tensor, target: tf.Tensor): tf.Tensor {
    return nllLoss(input, target, this.options);
  }
}

export class BCEWithLogitsLoss extends Module {
  readonly options: Readonly<BceWithLogitsOptions>;
  /** torch.nn.BCEWithLogitsLoss(weight=None, reduction="mean", pos_weight=None). */
  constructor(options: BceWithLogitsOptions = {}) {
    super();
    checkOptions("BCEWithLogitsLoss", options, ["weight", "reduction", "posWeight"]);
    checkReduction("BCEWithLogitsLoss", options.reduction ?? "mean");
    this.options = { ...options };
  }
  forward(input: tf.Tensor, target: tf.Tensor): tf.Tensor {
    return binaryCrossEntropyWithLogits(input, target, this.options);
  }
}
