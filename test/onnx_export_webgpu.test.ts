/**
 * On webgpu, LinearF runs gradlab's own MyLinear kernel rather than a customGrad: the engine sees a
 * registered kernel, and the exporter must still write it as the MYLINEAR node, not refuse an
 * unknown kernel. In a file of its own: describeEachBackend's webgpu probe switches the global
 * backend while the file is collected, which would land in the middle of other suites' tests.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { exportOnnx } from "../lib/onnx/export";
import { traceForward } from "../lib/onnx/trace";
import { LINEAR_KERNEL } from "../lib/webgpu/linear_kernels";
import { normwise } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";
import { kernelModelInput, kernelModels } from "./support/onnx_kernel_models";

type Ort = typeof import("onnxruntime-node");
const ort: Ort | null = await import("onnxruntime-node").then((m) => ((m as { default?: Ort }).default ?? m) as Ort).catch(() => null);
const SKIP = ort === null ? "onnxruntime-node cannot be loaded here (npm install it to run these tests)" : false;
const ORT_NORMWISE_RTOL = 1e-5;
const EXAMPLE_BATCH = 2;

async function runOrt(bytes: Uint8Array, x: tf.Tensor): Promise<Float32Array> {
  const session = await ort!.InferenceSession.create(bytes);
  try {
    const out = await session.run({ x: new ort!.Tensor("float32", Float32Array.from(await x.data()), x.shape) });
    return out.y!.data as Float32Array;
  } finally {
    await session.release();
  }
}


describeEachBackend(
  "a defineFunction op that runs as its own kernel (MyLinear on webgpu) is traced as its custom node",
  (backend) => {
    it("GELU head (Linear, then plain ops): MYLINEAR is its first step, and ORT agrees with gradlab", { skip: SKIP }, async () => {
      // On webgpu, LinearF runs gradlab's own kernel: the engine sees MyLinear, not a customGrad.
      if (backend === "webgpu") assert.ok(tf.getKernel(LINEAR_KERNEL, "webgpu"), "gradlab's MyLinear kernel is registered on webgpu");
      const [, entry] = kernelModels().find(([name]) => name === "GELU head")!;
      const model = entry.make();
      const example = kernelModelInput(entry, EXAMPLE_BATCH, 1);
      const trace = traceForward(model, [example]);
      trace.release();
      assert.equal(trace.steps[0]!.kind === "function" && trace.steps[0]!.fn.name, "MYLINEAR", `[${backend}] the first step`);
      const bytes = await exportOnnx(model, undefined, { example, dynamicAxes: { x: [0], y: [0] } });
      const x = kernelModelInput(entry, 3, 7);
      const difference = normwise(await runOrt(bytes, x), await model.forward(x).data());
      assert.ok(difference <= ORT_NORMWISE_RTOL, `[${backend}] norm-wise difference ${difference}`);
      tf.dispose([example, x]);
      model.dispose();
    });
  },
  { webgpu: true },
);
