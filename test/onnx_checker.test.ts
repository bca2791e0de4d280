/**
 * The ONNX checker (onnx.checker.check_model with full_check, i.e. strict shape inference too,
 * from Debian's python3-onnx 1.12 on /usr/bin/python3) as the independent judge of the files'
 * validity: gradlab's "function" and "standard" exports pass; PyTorch's export of the seed fails
 * with "No Op registered for MYLINEAR", as the issue reports; and a broken function body fails
 * too, which shows the checker really reads the model-local function. Without python3-onnx the
 * tests are skipped, and the skip says why.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { exportOnnx } from "../lib/onnx/export";
import { onnx } from "../lib/onnx/proto";
import { kernelModelInput, kernelModels } from "./support/onnx_kernel_models";
import { ONNX_CHECKER_MISSING, onnxCheckerError, seedModel, TORCH_ONNX_BYTES, TwoLayer } from "./support/onnx_models";

const SKIP = ONNX_CHECKER_MISSING ?? false;
const BATCH = { x: { 0: "batch" }, y: { 0: "batch" } };

describe("onnx.checker.check_model (full_check)", () => {
  for (const customOps of ["function", "standard"] as const) {
    for (const dtype of ["float32", "float64"] as const) {
      it(`passes gradlab's "${customOps}" export (${dtype}, dynamic batch)`, { skip: SKIP }, async () => {
        const model = seedModel();
        assert.equal(onnxCheckerError(await exportOnnx(model, undefined, { customOps, dtype, dynamicAxes: BATCH })), null);
        model.dispose();
      });
    }
    for (const opset of [11, 13]) {
      it(`passes the two-layer "${customOps}" export at opset ${opset}`, { skip: SKIP }, async () => {
        const model = new TwoLayer();
        assert.equal(onnxCheckerError(await exportOnnx(model, undefined, { customOps, opset })), null);
        model.dispose();
      });
    }
  }

  for (const [name, entry] of kernelModels()) {
    for (const [opset, dtype] of [[17, "float32"], [11, "float32"], [17, "float64"]] as const) {
      it(`passes the ${name} (plain tfjs ops) at opset ${opset}, ${dtype}, dynamic batch`, { skip: SKIP }, async () => {
        const model = entry.make();
        const example = kernelModelInput(entry, 2, 1);
        const bytes = await exportOnnx(model, undefined, { example, opset, dtype, dynamicAxes: BATCH });
        example.dispose();
        model.dispose();
        assert.equal(onnxCheckerError(bytes), null);
      });
    }
  }

  it("rejects PyTorch's export of the seed: No Op registered for MYLINEAR", { skip: SKIP }, async () => {
    assert.match(onnxCheckerError(TORCH_ONNX_BYTES) ?? "passed", /No Op registered for MYLINEAR/);
  });

  it("reads the function body: one with an op that does not exist is rejected", { skip: SKIP }, async () => {
    const model = seedModel();
    const proto = onnx.ModelProto.decode(await exportOnnx(model));
    proto.functions[0]!.node![0]!.opType = "Gemmm";
    assert.match(onnxCheckerError(onnx.ModelProto.encode(proto).finish()) ?? "passed", /No Op registered for Gemmm/);
    model.dispose();
  });
});
