/**
 * What an op's `symbolic` (and `lower`) sees when a model is exported: a graph builder and opaque
 * values that stand for the op's inputs, as torch.onnx passes `g` and its graph values. The
 * exporter supplies the implementation; ops only describe themselves through this interface.
 *
 * Conventions, torch.onnx's, so a PyTorch symbolic carries over line for line:
 * - An op type is a standard ONNX op ("Gemm"), unless it is the custom op's own name (which goes
 *   in gradlab's custom domain) or is written "domain::Op".
 * - Attribute keys end in their type: `_i` (int or ints), `_f` (float or floats), `_s` (string
 *   or strings), e.g. `g.op("Gemm", x, w, b, { transB_i: 1 })`. A JavaScript number does not say
 *   whether it is an int or a float, and ONNX's checker rejects the wrong one.
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
  /**
   * A node with `outputs` outputs (torch.onnx's `outputs=`), e.g. a custom op whose forward
   * returns several tensors, or TopK; returns them in order.
   */
  multiOp(opType: string, outputs: number, ...inputsAndAttributes: (SymbolicValue | Record<string, SymbolicAttribute>)[]): SymbolicValue[];
}
