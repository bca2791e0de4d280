/**
 * An imported ONNX graph as a gradlab Module: its initializers are trainable Parameters, named as
 * in the file ("weight", "bias", "layers.0.weight", …), and forward runs the planned nodes in tfjs
 * ops, so the model predicts, trains with backward() and SGD, saves its state dict and, when its
 * nodes are gradlab ops (MYLINEAR, or Gemm in linear form), exports again.
 */
import * as tf from "@tensorflow/tfjs";
import { Module } from "../nn/module";
import { Parameter } from "../nn/parameter";
import { formatShape } from "../shape";
import { OnnxImportError } from "./errors";
import type { ImportPlan } from "./import_graph";
import { formatDims } from "./import_ops";

export class OnnxModel extends Module {
  readonly #plan: ImportPlan;
  readonly #parameters: [string, Parameter][];
  /** Graph input names, in forward's argument order. */
  readonly inputNames: readonly string[];
  readonly outputName: string;
  /** The width of a single [batch, features] input, when the file fixes it (lets exportOnnx build an example). */
  readonly inFeatures: number | undefined;

  constructor(plan: ImportPlan) {
    super();
    this.#plan = plan;
    this.#parameters = plan.initializers.map(({ name, shape, values }) => {
      const initial = tf.tensor(values, shape, "float32");
      const parameter = new Parameter(initial);
      initial.dispose();
      return [name, parameter];
    });
    this.inputNames = plan.inputs.map((i) => i.name);
    this.outputName = plan.output.name;
    const only = plan.inputs.length === 1 ? plan.inputs[0]!.shape : null;
    this.inFeatures = only?.length === 2 && typeof only[1] === "number" ? only[1] : undefined;
  }

  override namedParameters(prefix = ""): [string, Parameter][] {
    return this.#parameters.map(([name, p]) => [prefix + name, p]);
  }

  /** The graph inputs forward takes, in order, with their declared shapes (a name or null where free). */
  get inputs(): { name: string; shape: (number | string | null)[] }[] {
    return this.#plan.inputs.map((i) => ({ name: i.name, shape: [...i.shape] }));
  }

  /** Declared input shapes ("batch" or ? where free), as "x [batch, 2]". */
  get signature(): string {
    const inputs = this.#plan.inputs.map((i) => `${i.name} ${formatDims(i.shape)}`).join(", ");
    return `(${inputs}) → ${this.outputName} ${formatDims(this.#plan.output.shape)}`;
  }

  forward(...inputs: tf.Tensor[]): tf.Tensor {
    const plan = this.#plan;
    if (inputs.length !== plan.inputs.length) {
      throw new OnnxImportError(`${this}: forward takes ${plan.inputs.length} input${plan.inputs.length === 1 ? "" : "s"} (${this.inputNames.join(", ")}), got ${inputs.length}`);
    }
    inputs.forEach((x, i) => this.#checkInput(x, i));
    return tf.tidy(() => {
      const values = new Map<string, tf.Tensor>();
      plan.inputs.forEach((input, i) => values.set(input.name, inputs[i]!));
      for (const [name, p] of this.#parameters) values.set(name, p.value);
      for (const step of plan.steps) {
        const xs = step.inputs.map((n) => (n === "" ? null : values.get(n)!));
        try {
          values.set(step.output, step.op.run(xs, step.attrs));
        } catch (error) {
          const shapes = xs.map((x) => (x ? formatShape(x.shape) : "(absent)")).join(", ");
          throw new OnnxImportError(`${this}: node "${step.label}" (${step.opType}) failed on inputs ${shapes}: ${(error as Error).message}`);
        }
      }
      const y = values.get(plan.output.name)!;
      // An output that is an input or a weight itself is handed out as a copy, never the original.
      return plan.steps.some((s) => s.output === plan.output.name) ? y : tf.clone(y);
    });
  }

  #checkInput(x: tf.Tensor, i: number): void {
    const spec = this.#plan.inputs[i]!;
    const what = `${this}: input ${i} ("${spec.name}")`;
    if (!(x instanceof tf.Tensor)) throw new OnnxImportError(`${what} must be a tf.Tensor`);
    if (x.dtype !== "float32") throw new OnnxImportError(`${what} has dtype ${x.dtype}; imported models compute in float32`);
    const fixed = spec.shape.map((d, axis) => [d, axis] as const).filter(([d, axis]) => typeof d === "number" && d !== x.shape[axis]);
    if (x.rank !== spec.shape.length || fixed.length > 0) {
      const hint = fixed.length > 0 ? `; axis ${fixed[0]![1]} is fixed at ${fixed[0]![0]} in the file (export it with a dynamic axis to allow other sizes)` : "";
      throw new OnnxImportError(`${what} has shape ${formatShape(x.shape)}, but the model declares ${formatDims(spec.shape)}${hint}`);
    }
  }

  override toString(): string {
    return `OnnxModel${this.signature}`;
  }
}
