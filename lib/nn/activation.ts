/** Activation modules, as torch.nn's: each holds its arguments and applies its functional. */
import type * as tf from "@tensorflow/tfjs";
import { checkNumber, checkOptions } from "../ops/argument_checks";
import { gelu, type GeluApproximate } from "../ops/gelu";
import { leakyRelu } from "../ops/leaky_relu";
import { logSoftmax } from "../ops/log_softmax";
import { relu } from "../ops/relu";
import { sigmoid } from "../ops/sigmoid";
import { softmax } from "../ops/softmax";
import { tanh } from "../ops/tanh";
import { Module } from "./module";

export class ReLU extends Module {
  forward(input: tf.Tensor): tf.Tensor {
    return relu(input);
  }
  override toString(): string {
    return "ReLU()";
  }
}

export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
    checkNumber("LeakyReLU", "negativeSlope", negativeSlope);
  }
  forward(input: tf.Tensor): tf.Tensor {
    return leakyRelu(input, this.negativeSlope);
  }
  override toString(): string {
    return `LeakyReLU(negative_slope=${this.negativeSlope})`;
  }
}

export class Sigmoid extends Module {
  forward(input: tf.Tensor): tf.Tensor {
    return sigmoid(input);
  }
  override toString(): string {
    return "Sigmoid()";
  }
}

export class Tanh extends Module {
  forward(input: tf.Tensor): tf.Tensor {
    return tanh(input);
  }
  override toString(): string {
    return "Tanh()";
  }
}

export class GELU extends Module {
  readonly approximate: GeluApproximate;
  constructor(options: { approximate?: GeluApproximate } = {}) {
    super();
    checkOptions("GELU", options, ["approximate"]);
    this.approximate = options.approximate ?? "none";
    if (this.approximate !== "none" && this.approximate !== "tanh") throw new RangeError(`GELU: approximate must be "none" or "tanh", got ${JSON.stringify(this.approximate)}`);
  }
  forward(input: tf.Tensor): tf.Tensor {
    return gelu(input, { approximate: this.approximate });
  }
  override toString(): string {
    return `GELU(approximate='${this.approximate}')`;
  }
}

/** torch.nn.Softmax(dim=None): without dim, torch's implicit choice and its warning at each call's rank. */
export class Softmax extends Module {
  constructor(readonly dim?: number) {
    super();
    checkDimArgument("Softmax", dim);
  }
  forward(input: tf.Tensor): tf.Tensor {
    return softmax(input, this.dim);
  }
  override toString(): string {
    return `Softmax(dim=${this.dim ?? "None"})`;
  }
}

export class LogSoftmax extends Module {
  constructor(readonly dim?: number) {
    super();
    checkDimArgument("LogSoftmax", dim);
  }
  forward(input: tf.Tensor): tf.Tensor {
    return logSoftmax(input, this.dim);
  }
  override toString(): string {
    return `LogSoftmax(dim=${this.dim ?? "None"})`;
  }
}

/** The range depends on the input's rank, checked at forward; here only that it is an integer. */
function checkDimArgument(layer: string, dim: number | undefined): void {
  if (dim !== undefined && !Number.isInteger(dim)) throw new TypeError(`${layer}: dim must be an integer or undefined, got ${typeof dim === "number" ? dim : typeof dim}`);
}
