/**
 * Writers for tfjs kernels whose ONNX counterparts differ in a detail that matters: Cumsum (the
 * axis is an input), Mod (tfjs's floor remainder; ONNX's float Mod truncates), OneHot (tfjs gives
 * an out-of-range index an all-off row, ONNX's OneHot wraps negative ones), MirrorPad (ONNX has reflect but not
 * symmetric) and Einsum (ONNX from opset 12).
 */
import type { KernelWriter } from "./context";
import { unsqueeze } from "./shapes";

/** tf.cumsum(x, axis, exclusive, reverse) is ONNX CumSum with the axis as a 0-D input. */
export const cumsum: KernelWriter = (k) => {
  const x = k.info("x");
  const [axis] = k.axes(k.attr("axis"), x.shape.length);
  return k.g.op("CumSum", k.in("x"), k.scalar(axis!, "int32"), { exclusive_i: k.attr("exclusive") ? 1 : 0, reverse_i: k.attr("reverse") ? 1 : 0 });
};

/**
 * tf.mod: the remainder with the divisor's sign, as tfjs computes it (JavaScript's % then, where
 * a and b differ in sign, (r + b) % b). ONNX's Mod with fmod 1 is JavaScript's %, so the same steps
 * are written; integers take ONNX's Mod with fmod 0, which is that floor remainder already.
 */
export const mod: KernelWriter = (k) => {
  const [a, b] = [k.in("a"), k.in("b")];
  if (k.info("a").dtype === "int32") return k.g.op("Mod", a, b, { fmod_i: 0 });
  const rem = k.g.op("Mod", a, b, { fmod_i: 1 });
  const zero = k.scalar(0, k.info("a").dtype);
  const sameSign = k.g.op("Equal", k.g.op("Less", a, zero), k.g.op("Less", b, zero));
  return k.g.op("Where", sameSign, rem, k.g.op("Mod", k.g.op("Add", rem, b), b, { fmod_i: 1 }));
};

/**
 * tf.oneHot(indices, depth, onValue, offValue, dtype) as Where(indices[..., None] == [0 … depth),
 * on, off): an index outside [0, depth) matches nothing and gives an all-off row, as in tfjs. (ONNX's
 * OneHot wraps negative indices instead, and ONNX Runtime has it for few value types: no double.)
 */
export const oneHot: KernelWriter = (k) => {
  const depth = k.attr<number>("depth");
  const dtype = k.output.dtype;
  const positions = k.vector(Array.from({ length: depth }, (_, i) => i), "int32");
  const hit = k.g.op("Equal", unsqueeze(k, k.in("indices"), [-1]), positions);
  return k.g.op("Where", hit, k.scalar(k.attr<number>("onValue"), dtype), k.scalar(k.attr<number>("offValue"), dtype));
};

/** tf.mirrorPad in "reflect" mode is ONNX Pad's reflect; "symmetric" (the edge repeated) has no ONNX Pad mode. */
export const mirrorPad: KernelWriter = (k) => {
  const mode = k.attr<string>("mode");
  if (mode !== "reflect") k.fail(`its mode "${mode}" has no ONNX Pad mode (ONNX reflects without repeating the edge, as tfjs's "reflect"); use mode "reflect"`);
  const paddings = k.attr<[number, number][]>("paddings");
  const pads = [...paddings.map(([before]) => before), ...paddings.map(([, after]) => after)];
  return k.g.op("Pad", k.in("x"), k.ints(pads), { mode_s: "reflect" });
};

/** tf.einsum's equation is ONNX Einsum's (opset 12 on). */
export const einsum: KernelWriter = (k) => {
  if (k.opset < 12) k.fail(`ONNX has Einsum from opset 12; export at opset 12 or later (this export is at ${k.opset})`);
  return k.g.op("Einsum", ...k.all(), { equation_s: k.attr<string>("equation") });
};
