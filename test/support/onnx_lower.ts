/**
 * An op's `lower` run as a one-op ONNX model in ONNX Runtime: the op's tensor arguments become
 * graph inputs, its non-tensor arguments reach `lower` in place (as the exporter will pass them),
 * and the model's output is what ONNX Runtime computes. This checks `lower` on its own, whatever
 * the exporter's tracing supports.
 */
import * as tf from "@tensorflow/tfjs";
import type { Arg, CustomFunction, Outputs } from "../../lib/function";
import { GraphBuilder, NameTable } from "../../lib/onnx/graph_builder";
import { onnx } from "../../lib/onnx/proto";
import { encodeModel, tensorInfo } from "./onnx_models";

type Ort = typeof import("onnxruntime-node");
const ort: Ort | null = await import("onnxruntime-node").then((m) => ((m as { default?: Ort }).default ?? m) as Ort).catch(() => null);
export const ORT_SKIP = ort === null ? "onnxruntime-node cannot be loaded here" : false;

/** The model `fn.lower` writes for these arguments (opset 17). */
export function loweredModel(fn: CustomFunction<Arg[], Outputs>, args: readonly Arg[], outputShape: readonly number[]): Uint8Array {
  const names = new NameTable();
  const g = new GraphBuilder(names, { context: `${fn.name}.lower`, customOpName: null, allowOtherDomains: false });
  const inputs: { name: string; shape: number[] }[] = [];
  const symbolicArgs = args.map((a, i) => {
    if (!(a instanceof tf.Tensor)) return a;
    const name = names.fresh(`in${i}`);
    inputs.push({ name, shape: [...a.shape] });
    return g.value(name);
  });
  const out = (fn.definition.lower as (...xs: unknown[]) => { name: string })(g, ...symbolicArgs);
  const model = encodeModel(
    { name: fn.name, node: g.nodes, input: inputs.map((v) => tensorInfo(v.name, v.shape)), output: [tensorInfo(out.name, [...outputShape])] },
    { opsetImport: [{ domain: "", version: 17 }] },
  );
  return model;
}

/** ONNX Runtime's output of `fn.lower` for these arguments. */
export async function runLowered(fn: CustomFunction<Arg[], Outputs>, args: readonly Arg[], outputShape: readonly number[]): Promise<{ values: Float32Array; shape: number[] }> {
  const bytes = loweredModel(fn, args, outputShape);
  const decoded = onnx.ModelProto.decode(bytes);
  const session = await ort!.InferenceSession.create(bytes);
  try {
    const feeds: Record<string, InstanceType<Ort["Tensor"]>> = {};
    const tensors = args.filter((a): a is tf.Tensor => a instanceof tf.Tensor);
    decoded.graph!.input!.forEach((info, i) => {
      const t = tensors[i]!;
      feeds[info.name!] = new ort!.Tensor("float32", t.dataSync() as Float32Array, [...t.shape]);
    });
    const result = await session.run(feeds);
    const y = result[decoded.graph!.output![0]!.name!]!;
    return { values: y.data as Float32Array, shape: y.dims.map(Number) };
  } finally {
    await session.release();
  }
}
