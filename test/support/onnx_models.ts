/**
 * Models and files the ONNX tests share: the seed's trained model (PyTorch's final weights), a
 * two-layer model (more than one node, dotted parameter names), ONNX models built by hand with
 * onnx-proto (as other tools write them, or hostile), and the independent checkers: ONNX
 * Runtime and Debian's python3-onnx.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { aptInstall, mayInstall } from "../../kernel/system_deps";
import { Linear } from "../../lib/nn/linear";
import { Module } from "../../lib/nn/module";
import { onnx, type OnnxTypes } from "../../lib/onnx/proto";
import { Generator } from "../../lib/random";

export const FIXTURES = new URL("../fixtures/", import.meta.url);

/** What test/fixtures/make_torch_onnx.py recorded: PyTorch's weights and its y for x = [[3, 2]]. */
export const TORCH_ONNX = JSON.parse(readFileSync(new URL("seed_torch_onnx.json", FIXTURES), "utf8")) as {
  weights: { weight: number[][]; bias: number[] };
  x: number[][];
  y: number[][];
  checker: string;
};
export const TORCH_ONNX_BYTES = new Uint8Array(readFileSync(new URL("seed_torch.onnx", FIXTURES)));

/** The seed's Linear(2 → 1) holding PyTorch's trained weights (rounded to float32). */
export function seedModel(): Linear {
  const model = new Linear(2, 1, { init: "uniform", generator: new Generator(0) });
  model.loadStateDict(TORCH_ONNX.weights);
  return model;
}

/** Linear(3 → 4) then Linear(4 → 2): two custom-op calls, parameters "first.weight", …. */
export class TwoLayer extends Module {
  readonly first: Linear;
  readonly second: Linear;
  constructor(seed = 1) {
    super();
    const generator = new Generator(seed);
    this.first = new Linear(3, 4, { generator });
    this.second = new Linear(4, 2, { generator });
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.second.forward(this.first.forward(x));
  }
  get inFeatures(): number {
    return 3;
  }
}

/** `rows` × `width` inputs in [0, 1) from a fixed seed. */
export function randomRows(rows: number, width: number, seed = 5): number[][] {
  const g = new Generator(seed);
  return Array.from({ length: rows }, () => Array.from(g.uniformArray(width, 0, 1)));
}

// --- hand-built models ---------------------------------------------------------------------

export const FLOAT = 1;
export const DOUBLE = 11;

export function tensorInfo(name: string, dims: (number | string)[], elemType = FLOAT): OnnxTypes.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } } };
}

export function floatInit(name: string, dims: number[], values: number[]): OnnxTypes.ITensorProto {
  return { name, dims, dataType: FLOAT, floatData: values };
}

export function node(opType: string, inputs: string[], outputs: string[], extra: Partial<OnnxTypes.INodeProto> = {}): OnnxTypes.INodeProto {
  return { opType, input: inputs, output: outputs, name: `${opType}_${outputs[0]}`, ...extra };
}

export function intAttr(name: string, i: number): OnnxTypes.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}

export function floatAttr(name: string, f: number): OnnxTypes.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f };
}

export function encodeModel(graph: OnnxTypes.IGraphProto, extra: Partial<OnnxTypes.IModelProto> = {}): Uint8Array {
  const model = onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: "", version: 13 }], producerName: "hand", graph, ...extra });
  return new Uint8Array(onnx.ModelProto.encode(model).finish());
}

/** W [out, in] and b [out] from a fixed seed, for the hand-built linear models. */
export function linearWeights(inF: number, outF: number, seed = 3): { w: number[]; b: number[] } {
  const g = new Generator(seed);
  return { w: Array.from(g.uniformArray(outF * inF, -1, 1)), b: Array.from(g.uniformArray(outF, -1, 1)) };
}

// --- the ONNX checker (Debian's python3-onnx on /usr/bin/python3) ----------------------------

/** Debian's python3 (the one with python3-onnx); GRADLAB_ONNX_PYTHON points elsewhere, e.g. to see the skip. */
const PYTHON = process.env.GRADLAB_ONNX_PYTHON ?? "/usr/bin/python3";

/** Why the checker cannot run here, or null when it can. */
export const ONNX_CHECKER_MISSING: string | null = (() => {
  const probe = () => spawnSync(PYTHON, ["-c", "import onnx, sys; sys.stdout.write(onnx.__version__)"], { encoding: "utf8", timeout: 60_000 });
  let run = probe();
  // The test command installs what it needs: as root, Debian's python3-onnx comes with apt.
  if (run.status !== 0 && !run.error && mayInstall()) {
    aptInstall(["python3-onnx"], (line) => console.log(line));
    run = probe();
  }
  if (run.error) return `${PYTHON} cannot be run (${run.error.message}); the ONNX checker needs Debian's python3 with python3-onnx`;
  if (run.status !== 0) return `python3-onnx is not installed for ${PYTHON} (apt-get install python3-onnx): ${run.stderr.trim().split("\n").pop()}`;
  return null;
})();

/** onnx.checker.check_model(model, full_check=True) (strict shape inference too): null, or its complaint. */
export function onnxCheckerError(bytes: Uint8Array): string | null {
  const script = [
    "import sys, onnx",
    "model = onnx.load_from_string(sys.stdin.buffer.read())",
    "try:",
    "    onnx.checker.check_model(model, full_check=True)",
    "except Exception as error:",
    "    sys.stdout.write(type(error).__name__ + ': ' + str(error)); sys.exit(1)",
  ].join("\n");
  const run = spawnSync(PYTHON, ["-c", script], { input: bytes, encoding: "utf8", timeout: 60_000 });
  if (run.error) throw run.error;
  if (run.status === 0) return null;
  if (run.status === 1) return run.stdout.trim();
  throw new Error(`the ONNX checker crashed (exit ${run.status}): ${run.stderr}`);
}
