/**
 * The contract of one ONNX op in the importer: how many inputs and outputs it takes, the attributes
 * it reads, how it infers its outputs (types, shapes and, for shape arithmetic, contents) from its
 * inputs before anything is allocated, and how it runs in tfjs ops, so imported models train.
 */
import type * as tf from "@tensorflow/tfjs";
import type { AttributeKind, Attrs } from "./attributes";
import type { ValueInfo } from "./values";

export interface OpContext {
  /** The model's default-domain opset: several ops changed their inputs or defaults over time. */
  opset: number;
  /** How many outputs the node names (Split makes one per output). */
  outputs: number;
}

export interface RunContext extends OpContext {
  /** What infer said of this call's inputs and outputs (concrete shapes at run time). */
  ins: readonly (ValueInfo | null)[];
  outs: readonly ValueInfo[];
}

export interface ImportOp {
  /** Fewest and most inputs (absent optional inputs, written "", count as given). */
  inputs: readonly [number, number];
  /** Fewest and most outputs; [1, 1] when absent. */
  outputs?: readonly [number, number];
  /** The attributes it reads, by kind; "any" takes every attribute (a user's op). */
  attributes?: Readonly<Record<string, AttributeKind>> | "any";
  /**
   * Inputs whose contents decide the outputs' shapes (Reshape's shape, Slice's starts): infer
   * reads them from ValueInfo.data, which the graph fills (reading the tensor if need be) before
   * infer runs; run gets null in their place.
   */
  hostInputs?: readonly number[];
  /** Output types and shapes; throws OpError (does not fit) or Refusal (gradlab does not compute it). */
  infer(ins: readonly (ValueInfo | null)[], a: Attrs, ctx: OpContext): ValueInfo[];
  run(ins: readonly (tf.Tensor | null)[], a: Attrs, ctx: RunContext): tf.Tensor | tf.Tensor[];
}
