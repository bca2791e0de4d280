/**
 * Which sizes in a trace follow the dynamic axes. tfjs kernels see only numbers (a Reshape to
 * [2, 12] says nothing of which 2 is the batch), so the forward is traced a second time with every
 * dynamic axis of the inputs one larger, and the two traces are compared: a size that changed
 * follows a dynamic axis (null in `dims`), and a kernel attribute that changed (Reshape's shape,
 * Slice's size) is written so that ONNX computes it from the input (-1, 0, to the end) rather
 * than fixing it. A forward that runs other kernels at the other size cannot be exported with
 * those axes dynamic, and says so.
 */
import * as tf from "@tensorflow/tfjs";
import { formatShape } from "../shape";
import { OnnxExportError } from "./errors";
import type { Trace, TracedValue } from "./trace";

/** The examples with each dynamic axis one larger (the first slice repeated at the end). */
export function grownExamples(examples: readonly tf.Tensor[], dynamicAxes: readonly (ReadonlySet<number> | undefined)[]): tf.Tensor[] {
  return examples.map((x, i) =>
    tf.tidy(() => {
      let grown = x;
      for (const axis of dynamicAxes[i] ?? []) {
        const begin = grown.shape.map(() => 0);
        const size = grown.shape.map((d, k) => (k === axis ? 1 : d));
        grown = tf.concat([grown, tf.slice(grown, begin, size)], axis);
      }
      return grown === x ? tf.clone(x) : grown;
    }),
  );
}

/**
 * Marks in `trace` (in place) each value's shape in `other` and the dims that differ, and stores
 * each kernel's attributes at the other size; `inputs` maps the graph inputs' tensor ids (in
 * `trace`) to their dynamic axes.
 */
export function markDynamicSizes(trace: Trace, other: Trace, inputs: ReadonlyMap<number, ReadonlySet<number>>): void {
  const where = (i: number) => {
    const step = trace.steps[i]!;
    return `step ${i + 1} (${step.kind === "kernel" ? `tfjs kernel ${step.kernel}` : `${step.fn.name}`}, in ${step.module})`;
  };
  if (trace.steps.length !== other.steps.length) {
    throw new OnnxExportError(
      `exportOnnx: the forward runs ${trace.steps.length} ops at the example's sizes but ${other.steps.length} with the dynamic axes one larger; ` +
        "an export with dynamicAxes needs a forward whose ops do not depend on those sizes (or export without dynamicAxes)",
    );
  }
  const otherShapes = new Map<number, number[]>();
  trace.steps.forEach((step, i) => {
    const twin = other.steps[i]!;
    const name = (s: typeof step) => (s.kind === "kernel" ? s.kernel : s.fn.name);
    if (twin.kind !== step.kind || name(twin) !== name(step) || twin.outputs.length !== step.outputs.length) {
      throw new OnnxExportError(`exportOnnx: ${where(i)} is ${name(twin)} when the dynamic axes are one larger; the forward's ops must not depend on those sizes`);
    }
    if (step.kind === "kernel" && twin.kind === "kernel") step.attrsAtOtherSize = twin.attrs;
    const twinInputs = twin.kind === "kernel" ? twin.inputs.map(([, v]) => v) : twin.inputs;
    (step.kind === "kernel" ? step.inputs.map(([, v]) => v) : step.inputs).forEach((input, k) => {
      const twinInput = twinInputs[k];
      if (trace.constants.has(input.id) && twinInput !== undefined && formatShape(twinInput.shape) !== formatShape(input.shape)) {
        throw new OnnxExportError(
          `exportOnnx: ${where(i)} reads a tensor made in forward whose shape follows the dynamic axes (${formatShape(input.shape)}, then ${formatShape(twinInput.shape)}); ` +
            "ONNX would fix it at the example's size: compute it from the input with tfjs ops (tf.zerosLike, tf.onesLike, tf.mul) instead",
        );
      }
    });
    step.outputs.forEach((out, j) => {
      const twinOut = twin.outputs[j]!;
      if (twinOut.shape.length !== out.shape.length) {
        throw new OnnxExportError(`exportOnnx: ${where(i)} gives rank ${out.shape.length} at the example's sizes but rank ${twinOut.shape.length} with the dynamic axes one larger`);
      }
      otherShapes.set(out.id, twinOut.shape);
    });
  });
  const mark = (v: TracedValue) => {
    const axes = inputs.get(v.id);
    v.shapeAtOtherSize = axes !== undefined ? v.shape.map((d, k) => (axes.has(k) ? d + 1 : d)) : (otherShapes.get(v.id) ?? [...v.shape]);
    v.dims = v.shape.map((d, k) => (d === v.shapeAtOtherSize[k] ? d : null));
  };
  for (const step of trace.steps) {
    (step.kind === "kernel" ? step.inputs.map(([, v]) => v) : step.inputs).forEach(mark);
    step.outputs.forEach(mark);
  }
  mark(trace.output);
}

/**
 * Without a second trace (the forward refused the larger sizes): only the graph inputs' dynamic
 * axes are known, and every kernel attribute is marked as unknown at the other size.
 */
export function markInputAxes(trace: Trace, inputs: ReadonlyMap<number, ReadonlySet<number>>): void {
  const mark = (v: TracedValue) => {
    const axes = inputs.get(v.id);
    if (axes === undefined) return;
    v.shapeAtOtherSize = v.shape.map((d, k) => (axes.has(k) ? d + 1 : d));
    v.dims = v.shape.map((d, k) => (axes.has(k) ? null : d));
  };
  for (const step of trace.steps) (step.kind === "kernel" ? step.inputs.map(([, v]) => v) : step.inputs).forEach(mark);
}
