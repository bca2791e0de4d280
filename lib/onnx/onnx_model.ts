/**
 * An imported ONNX graph as a gradlab Module: its float initializers are trainable Parameters,
 * named as in the file ("weight", "layers.0.weight", …), its other initializers constants, and it
 * runs the planned nodes in tfjs ops, so the model predicts, trains with backward() and an
 * optimizer, saves its state dict and exports again. `run({ x })` returns every output by name,
 * as ONNX Runtime's session.run does; `forward(x)` returns the first output, as a Module does.
 */
import * as tf from "@tensorflow/tfjs";
import { Module } from "../nn/module";
import { Parameter } from "../nn/parameter";
import { formatShape } from "../shape";
import { OnnxImportError } from "./errors";
import type { ImportPlan } from "./import_graph";
import { runPlan } from "./import_run";
import { formatDims, tfDtype, type Dim, type ValueInfo } from "./import_ops/values";
import { materialize } from "./import_ops/contents";
import { dataTypeName } from "./proto";

export class OnnxModel extends Module {
  readonly #plan: ImportPlan;
  readonly #parameters: [string, Parameter][];
  /** Constants too large to track on the host, as tensors (kept for the model's life). */
  readonly #constants: Map<string, tf.Tensor>;
  /** Graph input names, in forward's argument order. */
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** The width of a single [batch, features] input, when the file fixes it (lets exportOnnx build an example). */
  readonly inFeatures: number | undefined;

  constructor(plan: ImportPlan) {
    super();
    this.#plan = plan;
    this.#parameters = plan.parameters.map(({ name, tensor }) => [name, Parameter.adopt(tf.tensor(tensor.values as Float32Array, tensor.shape, "float32"))]);
    this.#constants = new Map();
    try {
      for (const { name } of plan.constants) {
        const info = plan.infos.get(name)!;
        if (info.data === undefined) {
          const c = plan.constants.find((k) => k.name === name)!.tensor;
          this.#constants.set(name, materialize({ ...info, data: Array.from(c.values) }));
        }
      }
    } catch (error) {
      this.dispose();
      throw new OnnxImportError(`a constant initializer cannot be held: ${(error as Error).message}`);
    }
    this.inputNames = plan.inputs.map((i) => i.name);
    this.outputNames = plan.outputs.map((o) => o.name);
    const only = plan.inputs.length === 1 ? plan.inputs[0]!.info.shape : null;
    this.inFeatures = only?.length === 2 && typeof only[1] === "number" ? only[1] : undefined;
  }

  /** The first output's name (forward returns it). */
  get outputName(): string {
    return this.outputNames[0]!;
  }

  override namedParameters(prefix = ""): [string, Parameter][] {
    return this.#parameters.map(([name, p]) => [prefix + name, p]);
  }

  /** The graph inputs, in order, with their element types and declared shapes (a name or null where free). */
  get inputs(): { name: string; dtype: string; shape: Dim[] }[] {
    return this.#plan.inputs.map((i) => ({ name: i.name, dtype: dataTypeName(i.info.dtype), shape: [...(i.info.shape ?? [])] }));
  }

  /** The graph outputs with their inferred shapes. */
  get outputs(): { name: string; dtype: string; shape: Dim[] | null }[] {
    return this.#plan.outputs.map((o) => ({ name: o.name, dtype: dataTypeName(o.info.dtype), shape: o.info.shape ? [...o.info.shape] : null }));
  }

  /** Declared input shapes ("batch" or ? where free), as "(x [batch, 2]) → y [batch, 1]". */
  get signature(): string {
    const inputs = this.#plan.inputs.map((i) => `${i.name} ${formatDims(i.info.shape)}`).join(", ");
    const outputs = this.#plan.outputs.map((o) => `${o.name} ${formatDims(o.info.shape)}`).join(", ");
    return `(${inputs}) → ${outputs}`;
  }

  /** The first output for these inputs, in the order of inputNames. */
  forward(...inputs: tf.Tensor[]): tf.Tensor {
    const plan = this.#plan;
    if (inputs.length !== plan.inputs.length) {
      throw new OnnxImportError(`${this}: forward takes ${plan.inputs.length} input${plan.inputs.length === 1 ? "" : "s"} (${this.inputNames.join(", ")}), got ${inputs.length}`);
    }
    return this.#run(inputs, [this.outputNames[0]!])[0]!;
  }

  /**
   * Every output (or those named in `outputs`) for inputs given by name, as ONNX Runtime's
   * session.run: `model.run({ x })` → `{ y: tf.Tensor }`.
   */
  run(feeds: Readonly<Record<string, tf.Tensor>>, outputs: readonly string[] = this.outputNames): Record<string, tf.Tensor> {
    if (feeds === null || typeof feeds !== "object") throw new OnnxImportError(`${this}: run takes an object of input name → tf.Tensor`);
    const unknown = Object.keys(feeds).filter((k) => !this.inputNames.includes(k));
    const missing = this.inputNames.filter((k) => !(k in feeds));
    if (unknown.length || missing.length) {
      const parts = [missing.length ? `missing ${missing.map((k) => `"${k}"`).join(", ")}` : "", unknown.length ? `unknown ${unknown.map((k) => `"${k}"`).join(", ")}` : ""].filter(Boolean);
      throw new OnnxImportError(`${this}: run's inputs do not match the model (${parts.join("; ")}); it takes ${this.inputNames.map((k) => `"${k}"`).join(", ")}`);
    }
    for (const name of outputs) {
      if (!this.#plan.infos.has(name)) throw new OnnxImportError(`${this}: there is no value "${name}" to return; the outputs are ${this.outputNames.map((k) => `"${k}"`).join(", ")}`);
    }
    const values = this.#run(this.inputNames.map((k) => feeds[k]!), outputs);
    return Object.fromEntries(outputs.map((name, i) => [name, values[i]!]));
  }

  #run(inputs: tf.Tensor[], wanted: readonly string[]): tf.Tensor[] {
    const plan = this.#plan;
    inputs.forEach((x, i) => this.#checkInput(x, i));
    return tf.tidy(() => {
      const sources = new Map<string, { info: ValueInfo; tensor: tf.Tensor | null }>();
      plan.inputs.forEach((input, i) => sources.set(input.name, { info: { dtype: input.info.dtype, shape: inputs[i]!.shape }, tensor: inputs[i]! }));
      for (const [name, p] of this.#parameters) sources.set(name, { info: plan.infos.get(name)!, tensor: p.value });
      for (const { name } of plan.constants) sources.set(name, { info: plan.infos.get(name)!, tensor: this.#constants.get(name) ?? null });
      return runPlan(plan, sources, wanted, String(this));
    });
  }

  #checkInput(x: tf.Tensor, i: number): void {
    const spec = this.#plan.inputs[i]!;
    const what = `${this}: input ${i} ("${spec.name}")`;
    if (!(x instanceof tf.Tensor)) throw new OnnxImportError(`${what} must be a tf.Tensor`);
    const dtype = tfDtype(spec.info.dtype);
    if (x.dtype !== dtype) throw new OnnxImportError(`${what} has dtype ${x.dtype}; the model declares ${dataTypeName(spec.info.dtype)}, fed as ${dtype}`);
    const declared = spec.info.shape;
    if (declared === null) return;
    const fixed = declared.map((d, axis) => [d, axis] as const).filter(([d, axis]) => typeof d === "number" && d !== x.shape[axis]);
    if (x.rank !== declared.length || fixed.length > 0) {
      const hint = fixed.length > 0 && x.rank === declared.length ? `; axis ${fixed[0]![1]} is fixed at ${fixed[0]![0]} in the file (export it with a dynamic axis to allow other sizes)` : "";
      throw new OnnxImportError(`${what} has shape ${formatShape(x.shape)}, but the model declares ${formatDims(declared)}${hint}`);
    }
  }

  override dispose(): void {
    super.dispose();
    for (const t of this.#constants.values()) t.dispose();
    this.#constants.clear();
  }

  override toString(): string {
    return `OnnxModel${this.signature}`;
  }
}
