/**
 * Elementwise kernels: arithmetic and comparisons (tfjs and ONNX broadcast alike, numpy-style),
 * unary maths, casts and clipping. Most are one ONNX op; a few tfjs kernels with no ONNX twin are
 * written as the ops they compute (Rsqrt as 1/√x, SquaredDifference as (a−b)²).
 */
import type { SymbolicValue } from "../symbolic";
import type { KernelContext, KernelWriter } from "./context";

/** A tfjs binary kernel (inputs a, b) as one ONNX op. */
export const binary =
  (opType: string): KernelWriter =>
  (k) =>
    k.g.op(opType, k.in("a"), k.in("b"));

/** A tfjs unary kernel (input x) as one ONNX op, with optional attributes. */
export const unary =
  (opType: string, attributes: Record<string, number> = {}): KernelWriter =>
  (k) =>
    k.g.op(opType, k.in("x"), attributes);

/** GreaterOrEqual and LessOrEqual arrive in opset 12; before, the strict comparison or Equal. */
export const orEqual =
  (opType: "Greater" | "Less"): KernelWriter =>
  (k) =>
    k.opset >= 12 ? k.g.op(`${opType}OrEqual`, k.in("a"), k.in("b")) : k.g.op("Or", k.g.op(opType, k.in("a"), k.in("b")), k.g.op("Equal", k.in("a"), k.in("b")));

export const notEqual: KernelWriter = (k) => k.g.op("Not", k.g.op("Equal", k.in("a"), k.in("b")));

export const squaredDifference: KernelWriter = (k) => {
  const d = k.g.op("Sub", k.in("a"), k.in("b"));
  return k.g.op("Mul", d, d);
};

/** tfjs floorDiv floors the quotient and gives int32; ONNX's integer Div truncates, so floats only. */
export const floorDiv: KernelWriter = (k) => {
  if (k.info("a").dtype !== "float32") k.fail(`floorDiv of ${k.info("a").dtype} tensors is not written (ONNX's integer Div truncates); cast to float32 first`);
  const floored = k.g.op("Floor", k.g.op("Div", k.in("a"), k.in("b")));
  return k.output.dtype === "float32" ? floored : k.g.op("Cast", floored, { to_i: k.elementType(k.output.dtype) });
};

export const square: KernelWriter = (k) => k.g.op("Mul", k.in("x"), k.in("x"));
export const rsqrt: KernelWriter = (k) => k.g.op("Reciprocal", k.g.op("Sqrt", k.in("x")));
export const log1p: KernelWriter = (k) => k.g.op("Log", k.g.op("Add", k.in("x"), k.scalar(1, k.info("x").dtype)));
export const expm1: KernelWriter = (k) => k.g.op("Sub", k.g.op("Exp", k.in("x")), k.scalar(1, k.info("x").dtype));

/** Select(condition, t, e) is ONNX's Where. */
export const select: KernelWriter = (k) => k.g.op("Where", k.in("condition"), k.in("t"), k.in("e"));

export const addN: KernelWriter = (k) => k.g.op("Sum", ...k.all());

export const cast: KernelWriter = (k) => k.g.op("Cast", k.in("x"), { to_i: k.elementType(k.attr("dtype")) });

export const clipByValue: KernelWriter = (k) => {
  const dtype = k.info("x").dtype;
  return k.g.op("Clip", k.in("x"), k.scalar(k.attr("clipValueMin"), dtype), k.scalar(k.attr("clipValueMax"), dtype));
};

/** ZerosLike and OnesLike: the scalar expanded to x's shape (which may follow a dynamic axis). */
export const filledLike =
  (value: number): KernelWriter =>
  (k) =>
    k.g.op("Expand", k.scalar(value, k.info("x").dtype), k.g.op("Shape", k.in("x")));

export function identity(k: KernelContext): SymbolicValue {
  return k.g.op("Identity", k.in("x"));
}
