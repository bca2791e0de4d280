/**
 * What an op's `symbolic` sees when a model is exported: a graph builder and opaque values that
 * stand for the op's inputs, as torch.onnx passes `g` and its graph values. The exporter supplies
 * the implementation; ops only describe themselves through this interface.
 */

/** A value in the graph being built (an input, an initializer or a node's output). */
export interface SymbolicValue {
  readonly name: string;
}

/** Attribute values an ONNX node can carry. */
export type SymbolicAttribute = number | string | number[] | string[];

export interface SymbolicGraph {
  /**
   * Adds a node of type `opType` (e.g. "Gemm", or a custom "MYLINEAR") and returns its output.
   * Attributes go in the last argument when it is a plain object.
   */
  op(opType: string, ...inputsAndAttributes: (SymbolicValue | Record<string, SymbolicAttribute>)[]): SymbolicValue;
}
