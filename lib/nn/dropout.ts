/** torch.nn.Dropout(p=0.5): masks in training mode (module.train()), the identity after eval(). */
import type * as tf from "@tensorflow/tfjs";
import { checkOptions } from "../ops/argument_checks";
import { checkDropoutProbability, dropout, type DropoutOptions } from "../ops/dropout";
import { defaultGenerator, type Generator } from "../random";
import { Module } from "./module";

export class Dropout extends Module {
  readonly generator: Generator;
  constructor(readonly p = 0.5, options: DropoutOptions = {}) {
    super();
    checkDropoutProbability("Dropout", p);
    checkOptions("Dropout", options, ["generator"]);
    this.generator = options.generator ?? defaultGenerator;
  }
  forward(input: tf.Tensor): tf.Tensor {
    return dropout(input, this.p, this.training, { generator: this.generator });
  }
  override toString(): string {
    return `Dropout(p=${this.p}, inplace=False)`;
  }
}
