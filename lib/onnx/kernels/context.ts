/**
 * What a kernel writer sees: one traced tfjs kernel call (its named inputs as graph values, its
 * attributes, its output's shape and dtype) and a graph builder limited to standard ONNX ops, plus
 * the constants writers keep needing (int64 axes and shapes, scalars of an input's type).
 * A writer returns the value(s) that stand for the kernel's output(s), in tfjs's order.
 */
import type * as tf from "@tensorflow/tfjs";
import { OnnxExportError } from "../errors";
import type { GraphBuilder } from "../graph_builder";
import type { SymbolicValue } from "../symbolic";
import type { ExportDtype } from "../tensor_data";
import type { KernelStep, TracedValue } from "../trace";

/** ONNX TensorProto element types the exporter writes. */
export const ElementType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;

export type KernelWriter = (k: KernelContext) => SymbolicValue | SymbolicValue[];

/** A graph input's dynamic axis, where a size that follows it can be read at run time. */
export interface DynamicSize {
  input: string;
  axis: number;
  /** Its size in the example (one more in the second trace). */
  size: number;
}

export class KernelContext {
  readonly opset: number;
  readonly dtype: ExportDtype;
  private readonly dynamicSizes: readonly DynamicSize[];
  private readonly sizesUnknown: string | null;

  constructor(
    readonly step: KernelStep,
    readonly g: GraphBuilder,
    private readonly inputNames: ReadonlyMap<string, string>,
    settings: { opset: number; dtype: ExportDtype; dynamicSizes?: readonly DynamicSize[]; sizesUnknown?: string | null },
  ) {
    this.opset = settings.opset;
    this.dtype = settings.dtype;
    this.dynamicSizes = settings.dynamicSizes ?? [];
    this.sizesUnknown = settings.sizesUnknown ?? null;
  }

  get kernel(): string {
    return this.step.kernel;
  }

  /** The graph value of the tfjs input `name` ("x", "a", "filter", …). */
  in(name: string): SymbolicValue {
    const value = this.inputNames.get(name);
    if (value === undefined) this.fail(`it has no input "${name}" (it has ${[...this.inputNames.keys()].map((n) => `"${n}"`).join(", ")})`);
    return this.g.value(value);
  }

  has(name: string): boolean {
    return this.inputNames.has(name);
  }

  /** The traced tensor behind input `name`: its shape, dims and dtype. */
  info(name: string): TracedValue {
    const entry = this.step.inputs.find(([n]) => n === name);
    if (entry === undefined) this.fail(`it has no input "${name}"`);
    return entry[1];
  }

  /** Every input's value, in tfjs's order (Concat, AddN, Pack). */
  all(): SymbolicValue[] {
    return this.step.inputs.map(([name]) => this.in(name));
  }

  attr<T = unknown>(name: string): T {
    return this.step.attrs[name] as T;
  }

  /** The attribute at the other size (dynamic axes one larger), or the same one without dynamic axes. */
  attrAtOtherSize<T = unknown>(name: string): T {
    if (this.sizesUnknown !== null) {
      this.fail(
        `its ${name} may follow the dynamic axes, but gradlab cannot tell: the forward refused inputs with those axes one larger (${this.sizesUnknown}); ` +
          "export without dynamicAxes, or make the forward accept other sizes",
      );
    }
    return (this.step.attrsAtOtherSize ?? this.step.attrs)[name] as T;
  }

  get output(): TracedValue {
    return this.step.outputs[0]!;
  }

  /** ONNX element type of a tfjs dtype: float32 is written as the export's float type. */
  elementType(dtype: tf.DataType): number {
    switch (dtype) {
      case "float32":
        return this.dtype === "float64" ? ElementType.DOUBLE : ElementType.FLOAT;
      case "int32":
        return ElementType.INT32;
      case "bool":
        return ElementType.BOOL;
      default:
        return this.fail(`its dtype ${dtype} has no ONNX counterpart gradlab writes (float32, int32, bool)`);
    }
  }

  /** A 1-D int64 constant (axes, a shape, pads). */
  ints(values: readonly number[]): SymbolicValue {
    return this.g.constant({ dims: [values.length], dataType: ElementType.INT64, int64Data: [...values] });
  }

  /**
   * A 1-D int64 shape that is `here` at the example's sizes and `there` with the dynamic axes one
   * larger: equal entries are constants, the others are read from the graph input whose dynamic
   * axis has those sizes (Gather(Shape(input), axis)), so ONNX computes them for any batch.
   */
  shape(here: readonly number[], there: readonly number[], what: string): SymbolicValue {
    const pieces: SymbolicValue[] = [];
    let run: number[] = [];
    const flush = () => {
      if (run.length > 0) pieces.push(this.ints(run));
      run = [];
    };
    here.forEach((d, i) => {
      if (d === there[i]) return run.push(d);
      const source = this.dynamicSizes.find((s) => s.size === d && s.size + 1 === there[i]);
      if (source === undefined) {
        this.fail(`its ${what} [${here.join(", ")}] has a size, ${d} on axis ${i}, that follows the dynamic axes but is none of the inputs' dynamic sizes, so ONNX cannot compute it`);
      }
      flush();
      pieces.push(this.g.op("Gather", this.g.op("Shape", this.g.value(source.input)), this.ints([source.axis])));
    });
    flush();
    return pieces.length === 1 ? pieces[0]! : this.g.op("Concat", ...pieces, { axis_i: 0 });
  }

  /** A scalar constant of the ONNX type that `dtype` is written as. */
  scalar(value: number, dtype: tf.DataType = "float32"): SymbolicValue {
    return this.g.constant(scalarProto(value, this.elementType(dtype)));
  }

  /** A 1-D constant of the ONNX type that `dtype` is written as. */
  vector(values: readonly number[], dtype: tf.DataType = "float32"): SymbolicValue {
    return this.g.constant(tensorProto(values, [values.length], this.elementType(dtype)));
  }

  /** Axes as tfjs gives them (a number, a list, null for all), as non-negative ints. */
  axes(axis: unknown, rank: number): number[] {
    if (axis === null || axis === undefined) return Array.from({ length: rank }, (_, i) => i);
    const list = Array.isArray(axis) ? (axis as number[]) : [axis as number];
    return list.map((a) => (a < 0 ? a + rank : a));
  }

  fail(why: string): never {
    throw new OnnxExportError(`exportOnnx: tfjs kernel ${this.kernel}, called in ${this.step.module}: ${why}`);
  }
}

export function scalarProto(value: number, elementType: number) {
  return tensorProto([value], [], elementType);
}

/** A constant of the given ONNX element type, its values in the proto field that type uses. */
export function tensorProto(values: readonly number[], dims: readonly number[], elementType: number) {
  const data = [...values];
  switch (elementType) {
    case ElementType.DOUBLE:
      return { dims: [...dims], dataType: elementType, doubleData: data };
    case ElementType.FLOAT:
      return { dims: [...dims], dataType: elementType, floatData: data };
    case ElementType.INT64:
      return { dims: [...dims], dataType: elementType, int64Data: data };
    default:
      return { dims: [...dims], dataType: elementType, int32Data: data };
  }
}
