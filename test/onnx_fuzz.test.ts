/**
 * Property-based tests (fast-check) of importOnnx on bytes it should not trust: every truncation
 * and random byte flips of real exports (gradlab's and PyTorch's), random bytes, and hostile
 * models built field by field (absurd or negative dimensions, data that does not fit its shape,
 * missing initializers, cycles, unknown and self-calling functions, wrong attributes; shape ops
 * wired to random shapes, axes and indices). The one property: importOnnx either returns a model
 * whose forward runs (or refuses with an OnnxImportError), or throws an OnnxImportError; never
 * another error, a crash, a hang or a leak. Then the budgets: files built to exhaust memory (the
 * issue's doubling functions, 1 GiB broadcast and 20 000 Relus) are refused within a second,
 * naming the budget, the node and the figure.
 *
 * Runs are bounded (numRuns) and so is time (interruptAfterTimeLimit, and each test's timeout);
 * the seed is fixed so CI is reproducible; GRADLAB_FC_SEED picks another, GRADLAB_FC_RUNS more runs.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import fc from "fast-check";
import { OnnxImportError } from "../lib/onnx/errors";
import { exportOnnx } from "../lib/onnx/export";
import { importOnnx, type ImportOptions } from "../lib/onnx/import";
import type { OnnxModel } from "../lib/onnx/onnx_model";
import { onnx, type OnnxTypes } from "../lib/onnx/proto";
import { describeEachBackend } from "./support/backends";
import { FIXTURES, seedModel, TORCH_ONNX_BYTES, TwoLayer } from "./support/onnx_models";

const SEED = Number(process.env.GRADLAB_FC_SEED ?? 20241126);
const RUNS = Number(process.env.GRADLAB_FC_RUNS ?? 300);
const TIME_LIMIT_MS = Number(process.env.GRADLAB_FC_RUNS) > 0 ? 1e9 : 15_000;
const TEST_TIMEOUT_MS = 60_000;
const params = (numRuns = RUNS) => ({ seed: SEED, numRuns, interruptAfterTimeLimit: TIME_LIMIT_MS });

/** Largest input the property feeds a model that did import (a mutated size can be legal and huge). */
const MAX_FED_ELEMENTS = 10_000;

/** importOnnx, and if it succeeds a forward on inputs of the declared shape; "ok" or "refused". Anything else throws. */
function tryBytes(bytes: Uint8Array): "ok" | "refused" {
  const before = tf.memory().numTensors;
  let outcome: "ok" | "refused" = "ok";
  let model;
  try {
    model = importOnnx(bytes);
  } catch (error) {
    if (!(error instanceof OnnxImportError)) throw error;
    outcome = "refused";
  }
  if (model) {
    const shapes = model.inputs.map((i) => i.shape.map((d) => (typeof d === "number" ? d : 2)));
    if (shapes.every((s) => s.reduce((n, d) => n * d, 1) <= MAX_FED_ELEMENTS)) {
      const xs = shapes.map((s) => tf.ones(s));
      try {
        tf.dispose(model.forward(...xs));
      } catch (error) {
        if (!(error instanceof OnnxImportError)) throw error;
        outcome = "refused";
      } finally {
        tf.dispose(xs);
      }
    }
    model.dispose();
  }
  assert.equal(tf.memory().numTensors, before, "no tensors left behind");
  return outcome;
}

async function validFiles(): Promise<[string, Uint8Array][]> {
  const seed = seedModel();
  const two = new TwoLayer();
  const batch = { x: { 0: "batch" }, y: { 0: "batch" } };
  const files: [string, Uint8Array][] = [
    ["gradlab function", await exportOnnx(seed, undefined, { dynamicAxes: batch })],
    ["gradlab standard", await exportOnnx(seed, undefined, { customOps: "standard", dtype: "float64" })],
    ["gradlab two layers", await exportOnnx(two, undefined, { customOps: "function", dynamicAxes: batch })],
    ["PyTorch seed", TORCH_ONNX_BYTES],
  ];
  seed.dispose();
  two.dispose();
  return files;
}

/** Made once, on whatever backend is current: they are bytes, the same on every backend. */
const files = await validFiles();

describeEachBackend("importOnnx on untrusted bytes", () => {
  it("the untouched files import and run (the properties below start from working models)", async () => {
    for (const [label, bytes] of files) assert.equal(tryBytes(bytes), "ok", label);
  });

  it("every truncation of real exports: refused or runs", { timeout: TEST_TIMEOUT_MS }, async () => {
    // Exhaustive: the files are a few hundred bytes.
    let refused = 0;
    for (const [, bytes] of files) for (let n = 0; n < bytes.length; n++) if (tryBytes(bytes.subarray(0, n)) === "refused") refused++;
    assert.ok(refused > 0);
  });

  it("random byte flips in real exports: refused or runs", { timeout: TEST_TIMEOUT_MS }, async () => {
    const flips = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: files.length - 1 }), flips, (which, changes) => {
        const bytes = Uint8Array.from(files[which]![1]);
        for (const [at, value] of changes) bytes[at % bytes.length] = value;
        tryBytes(bytes);
      }),
      params(),
    );
  });

  it("random byte flips in PyTorch's exports of a CNN and a transformer layer (shape arithmetic, Conv, pooling): refused or runs", { timeout: TEST_TIMEOUT_MS }, async () => {
    const torchFiles = ["cnn_opset11.onnx", "transformer_opset17.onnx"].map((f) => new Uint8Array(readFileSync(new URL(`torch_onnx/${f}`, FIXTURES))));
    for (const bytes of torchFiles) assert.equal(tryBytes(bytes), "ok");
    const flips = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: torchFiles.length - 1 }), flips, (which, changes) => {
        const bytes = Uint8Array.from(torchFiles[which]!);
        // Flips land in the graph's structure (the first bytes and the nodes), not only in the weights.
        for (const [at, value] of changes) bytes[at % Math.min(bytes.length, 20_000)] = value;
        tryBytes(bytes);
      }),
      params(Math.min(RUNS, 150)),
    );
  });

  it("random bytes: refused (or, by chance, a model that runs)", { timeout: TEST_TIMEOUT_MS }, async () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => void tryBytes(bytes)), params());
  });

  it("hostile models built field by field: refused or runs", { timeout: TEST_TIMEOUT_MS }, async () => {
    fc.assert(fc.property(hostileModel(), (model) => void tryBytes(new Uint8Array(onnx.ModelProto.encode(model).finish()))), params());
  });

  it("messages nested absurdly deep (graph → node → attribute → graph → …) are refused, not a stack overflow crash", async () => {
    assert.equal(tryBytes(deeplyNested(200_000)), "refused");
  });
});

// --- budgets: files built to exhaust memory or time ------------------------------------------

/** importOnnx (and a forward when `feed` is given) must throw an OnnxImportError matching every pattern, within a second. */
function refusedFast(bytes: Uint8Array, patterns: RegExp[], options: ImportOptions = {}, feed?: () => tf.Tensor[]): void {
  const before = tf.memory().numTensors;
  // This process's CPU time, not wall time: CI machines run other suites alongside, and what a
  // hostile file costs is the work it makes gradlab do (about 0.1–0.3 s here for the worst below).
  const started = process.cpuUsage();
  let model: OnnxModel | undefined;
  assert.throws(
    () => {
      model = importOnnx(bytes, options);
      const xs = feed!();
      try {
        model.forward(...xs);
      } finally {
        tf.dispose(xs);
      }
    },
    (e: Error) => {
      assert.ok(e instanceof OnnxImportError, `expected OnnxImportError, got ${e.name}: ${e.message}`);
      for (const p of patterns) assert.match(e.message, p);
      return true;
    },
  );
  const used = process.cpuUsage(started);
  const ms = (used.user + used.system) / 1000;
  model?.dispose();
  assert.ok(ms < 1000, `answered after ${ms.toFixed(0)} ms of CPU time; budgets must refuse within a second`);
  assert.equal(tf.memory().numTensors, before, "nothing left allocated");
}

const floatInfo = (name: string, dims: (number | string)[]): OnnxTypes.IValueInfoProto => ({
  name,
  type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } },
});
const encode = (graph: OnnxTypes.IGraphProto, functions: OnnxTypes.IFunctionProto[] = []) =>
  new Uint8Array(onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: "", version: 17 }, { domain: "local", version: 1 }], functions, graph }).finish());

/** F0 calls F1 twice, …, F(levels − 1) calls F(levels) twice, which runs one Relu: 2^levels nodes once inlined. */
function doublingFunctions(levels: number): Uint8Array {
  const functions = Array.from({ length: levels + 1 }, (_, k): OnnxTypes.IFunctionProto => ({
    domain: "local", name: `F${k}`, input: ["a"], output: ["o"],
    node: k === levels ? [{ opType: "Relu", input: ["a"], output: ["o"] }] : [
      { opType: `F${k + 1}`, domain: "local", input: ["a"], output: ["m"] },
      { opType: `F${k + 1}`, domain: "local", input: ["m"], output: ["o"] },
    ],
  }));
  return encode({ name: "doubling", node: [{ name: "call", opType: "F0", domain: "local", input: ["x"], output: ["y"] }], input: [floatInfo("x", ["N", 4])], output: [floatInfo("y", ["N", 4])] }, functions);
}

describe("importOnnx budgets: files that would exhaust memory are refused at once, naming the budget, the node and the figure", () => {
  it("functions calling each other twice at each of 16 levels (2¹⁶ nodes once inlined): maxNodes, before anything is expanded", () => {
    refusedFast(doublingFunctions(16), [/budget maxNodes exceeded at node "call" \(local\.F0\): it inlines to 65536 nodes/, /the budget is 50000/]);
    // 60 levels: 2⁶⁰ nodes, counted without expanding.
    refusedFast(doublingFunctions(60), [/budget maxFunctionDepth exceeded at node "call" \(local\.F0\): its functions nest 61 deep; the budget is 32/]);
    refusedFast(doublingFunctions(30), [/budget maxNodes exceeded .* it inlines to 1073741824 nodes/], { budgets: { maxFunctionDepth: 64 } });
  });

  it("a 128 KB broadcast Add of [16384, 1] and [1, 16384] (a 1 GiB result): maxTensorElements at import", () => {
    const column = { name: "c", dims: [16384, 1], dataType: 1, rawData: new Uint8Array(16384 * 4) };
    const row = { name: "r", dims: [1, 16384], dataType: 1, rawData: new Uint8Array(16384 * 4) };
    const bytes = encode({ name: "broadcast", node: [{ name: "add", opType: "Add", input: ["c", "r"], output: ["y"] }], initializer: [column, row], output: [floatInfo("y", [16384, 16384])] });
    assert.ok(bytes.length < 140_000, `${bytes.length} bytes`);
    refusedFast(bytes, [/budget maxTensorElements exceeded at node "add" \(Add\): output "y" of shape \[16384, 16384\] would hold 268435456 elements; the budget is 134217728/, /budgets: \{ maxTensorElements/]);
    // A trusted file may raise the budget: it imports (nothing of that size is made until forward).
    importOnnx(bytes, { budgets: { maxTensorElements: 2 ** 28 } }).dispose();
    // Initializers count too.
    refusedFast(bytes, [/budget maxTensorElements exceeded at initializer "c": shape \[16384, 1\] holds 16384 elements; the budget is 1000/], { budgets: { maxTensorElements: 1000 } });
  });

  it("the same Add against a batch fed at run time: refused before the forward allocates anything", () => {
    const row = { name: "r", dims: [1, 16384], dataType: 1, rawData: new Uint8Array(16384 * 4) };
    const bytes = encode({ name: "broadcast", node: [{ name: "add", opType: "Add", input: ["x", "r"], output: ["y"] }], initializer: [row], input: [floatInfo("x", ["N", 1])], output: [floatInfo("y", ["N", 16384])] });
    refusedFast(bytes, [/budget maxTensorElements exceeded at node "add" \(Add\): output "y" of shape \[16384, 16384\]/], {}, () => [tf.zeros([16384, 1])]);
  });

  it("20 000 Relus on a 4 MB initializer (80 GB of results): maxTotalElements at import; on a fed input, before the forward", () => {
    const relus = (from: string) => Array.from({ length: 20_000 }, (_, k): OnnxTypes.INodeProto => ({ name: `r${k}`, opType: "Relu", input: [k === 0 ? from : `t${k - 1}`], output: [k === 19_999 ? "y" : `t${k}`] }));
    const big = { name: "w", dims: [1000, 1000], dataType: 1, rawData: new Uint8Array(4_000_000) };
    const bytes = encode({ name: "relus", node: relus("w"), initializer: [big], output: [floatInfo("y", [1000, 1000])] });
    assert.ok(bytes.length > 4_000_000);
    refusedFast(bytes, [/budget maxTotalElements exceeded at node "r1073" \(Relu\): the graph's tensors would hold 1074000000 elements/]);
    const fed = encode({ name: "relus", node: relus("x"), input: [floatInfo("x", ["N", 1000])], output: [floatInfo("y", ["N", 1000])] });
    refusedFast(fed, [/budget maxTotalElements exceeded at node "r1073" \(Relu\)/], {}, () => [tf.zeros([1000, 1000])]);
  });

  it("names longer than maxNameLength", () => {
    const long = "n".repeat(100_000);
    refusedFast(encode({ name: "g", node: [{ name: long, opType: "Relu", input: ["x"], output: ["y"] }], input: [floatInfo("x", [2])], output: [floatInfo("y", [2])] }), [/budget maxNameLength exceeded at node #0 name: a name of 100000 characters \("nnnn/, /the budget is 4096/]);
    refusedFast(encode({ name: "g", node: [{ opType: long, input: ["x"], output: ["y"] }], input: [floatInfo("x", [2])], output: [floatInfo("y", [2])] }), [/budget maxNameLength exceeded at node #0 op type/]);
    refusedFast(encode({ name: "g", node: [{ opType: "Relu", input: [long], output: ["y"] }], input: [floatInfo(long, [2])], output: [floatInfo("y", [2])] }), [/budget maxNameLength exceeded at graph input #0/]);
  });

  it("budgets given wrongly are named", () => {
    const bytes = encode({ name: "g", node: [{ opType: "Relu", input: ["x"], output: ["y"] }], input: [floatInfo("x", [2])], output: [floatInfo("y", [2])] });
    assert.throws(() => importOnnx(bytes, { budgets: { maxNodez: 3 } as never }), /unknown budget "maxNodez"; importOnnx's budgets are maxTensorElements, maxTotalElements, maxNodes, maxFunctionDepth, maxNameLength/);
    assert.throws(() => importOnnx(bytes, { budgets: { maxNodes: 0 } }), /budget maxNodes must be a positive integer, got 0/);
  });
});

// --- hostile models ------------------------------------------------------------------------

const NAMES = ["x", "W", "b", "t0", "t1", "y", ""];
const name = fc.constantFrom(...NAMES);
/** Sizes from ordinary to absurd: negative, past int32, past 2⁵³. */
const dim = fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constantFrom(-1, 2 ** 31, 2 ** 40, 2 ** 62));
const dims = fc.array(dim, { maxLength: 4 });

const tensor: fc.Arbitrary<OnnxTypes.ITensorProto> = fc
  .record({
    name,
    dims,
    dataType: fc.constantFrom(0, 1, 7, 11),
    values: fc.array(fc.float({ noDefaultInfinity: false }), { maxLength: 10 }),
    raw: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined }),
    dataLocation: fc.constantFrom(0, 0, 0, 1),
  })
  .map(({ values, raw, dataType, ...t }) => ({
    ...t,
    dataType,
    ...(raw !== undefined ? { rawData: raw } : dataType === 11 ? { doubleData: values } : { floatData: values }),
  }));

const valueInfo: fc.Arbitrary<OnnxTypes.IValueInfoProto> = fc.record({
  name,
  elemType: fc.constantFrom(0, 1, 7, 11),
  shape: fc.option(fc.array(fc.oneof(dim, fc.constantFrom("N", "batch")), { maxLength: 4 }), { nil: undefined }),
}).map(({ name, elemType, shape }) => ({
  name,
  type: { tensorType: { elemType, ...(shape && { shape: { dim: shape.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } }) } },
}));

const attribute: fc.Arbitrary<OnnxTypes.IAttributeProto> = fc.oneof(
  fc.record({ name: fc.constantFrom("transA", "transB", "broadcast"), type: fc.constant(2), i: fc.integer({ min: -1, max: 2 }) }),
  fc.record({ name: fc.constantFrom("alpha", "beta", "transB"), type: fc.constant(1), f: fc.float() }),
  fc.record({ name: fc.constant("transB"), type: fc.constant(2), refAttrName: fc.constant("t") }),
);

const nodeProto: fc.Arbitrary<OnnxTypes.INodeProto> = fc.record({
  name: fc.constantFrom("", "n0", "n1", "n1"),
  opType: fc.constantFrom("Gemm", "MatMul", "Add", "Identity", "Relu", "MYLINEAR", "F", "Softmax", ""),
  domain: fc.constantFrom("", "", "gradlab", "loop", "ai.onnx"),
  input: fc.array(name, { maxLength: 4 }),
  output: fc.array(name, { maxLength: 2 }),
  attribute: fc.array(attribute, { maxLength: 3 }),
});

const functionProto: fc.Arbitrary<OnnxTypes.IFunctionProto> = fc.record({
  domain: fc.constantFrom("gradlab", "loop", ""),
  name: fc.constantFrom("F", "MYLINEAR", "Gemm"),
  input: fc.array(name, { maxLength: 3 }),
  output: fc.array(name, { maxLength: 2 }),
  node: fc.array(nodeProto, { maxLength: 3 }),
});

/** Either fields corrupted anywhere, or well-formed parts wired at random (what reaches the graph checks and the ops). */
function hostileModel(): fc.Arbitrary<OnnxTypes.IModelProto> {
  return fc.oneof(corruptFields(), randomWiring());
}

function corruptFields(): fc.Arbitrary<OnnxTypes.IModelProto> {
  return fc
    .record({
      irVersion: fc.constantFrom(0, 3, 8, 8, 8, 99),
      opsets: fc.array(fc.record({ domain: fc.constantFrom("", "gradlab", "loop"), version: fc.integer({ min: 0, max: 25 }) }), { maxLength: 3 }),
      initializer: fc.array(tensor, { maxLength: 3 }),
      input: fc.array(valueInfo, { maxLength: 3 }),
      output: fc.array(valueInfo, { maxLength: 2 }),
      node: fc.array(nodeProto, { maxLength: 5 }),
      functions: fc.array(functionProto, { maxLength: 2 }),
    })
    .map(({ irVersion, opsets, functions, ...graph }) => ({ irVersion, opsetImport: opsets, functions, graph: { name: "hostile", ...graph } }));
}

const INITIALIZERS: OnnxTypes.ITensorProto[] = [
  { name: "W", dims: [2, 2], dataType: 1, floatData: [1, -2, 3, 0.5] },
  { name: "b", dims: [2], dataType: 1, floatData: [0.25, -1] },
];

/** int64 tensors the shape ops read: as shapes, axes, indices, starts. */
const INT_INITIALIZERS: OnnxTypes.ITensorProto[] = [
  { name: "s", dims: [2], dataType: 7, int64Data: [-1, 2] },
  { name: "i", dims: [1], dataType: 7, int64Data: [1] },
];

/**
 * Valid tensors and types, nodes and functions wired at random: node i writes t<i> (the last, y)
 * and reads any value, earlier or later (cycles), or one that does not exist; functions may call
 * themselves or each other.
 */
function randomWiring(): fc.Arbitrary<OnnxTypes.IModelProto> {
  const op = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom("Gemm", "MatMul", "Add", "Identity", "Relu", "MYLINEAR") },
    // Ops whose inference reads contents or axes: shapes, indices and axes wired at random.
    { weight: 4, arbitrary: fc.constantFrom("Softmax", "Transpose", "Concat", "Mul", "Reshape", "ReduceSum", "Gather", "Where", "Slice", "Expand", "Shape", "Conv", "MaxPool", "Split", "Unsqueeze", "Pad") },
    { weight: 1, arbitrary: fc.constant("F") },
  );
  const domain = fc.oneof({ weight: 6, arbitrary: fc.constant("") }, { weight: 1, arbitrary: fc.constantFrom("gradlab", "loop") });
  const gemmAttributes = fc.subarray([
    { name: "transB", type: 2, i: 1 },
    { name: "transA", type: 2, i: 1 },
    { name: "alpha", type: 1, f: 0.5 },
  ]);
  // An input of node i: mostly a source or an earlier node's value, sometimes a later one (a
  // cycle) or one that does not exist.
  const pick = (sources: string[], made: (j: number) => string) => (code: number, i: number, n: number) => {
    const k = code % 20;
    if (k < 11 || (k < 17 && i === 0)) return sources[code % sources.length]!;
    if (k < 17) return made(code % i);
    if (k < 19) return made(code % n);
    return "missing";
  };
  // Mostly as many inputs as the op takes, sometimes any number from 1 to 4.
  const ARITY: Record<string, number> = {
    Gemm: 3, MatMul: 2, Add: 2, Identity: 1, Relu: 1, MYLINEAR: 3, F: 3, Softmax: 1, Transpose: 1, Concat: 3, Mul: 2, Reshape: 2,
    ReduceSum: 2, Gather: 2, Where: 3, Slice: 3, Expand: 2, Shape: 1, Conv: 3, MaxPool: 1, Split: 2, Unsqueeze: 2, Pad: 2,
  };
  const node = fc.record({ opType: op, domain, codes: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }), anyArity: fc.integer({ min: 0, max: 9 }), attribute: gemmAttributes });
  const wired = (sources: string[], made: (j: number, n: number) => string, count: { minLength: number; maxLength: number }) =>
    fc.array(node, count).map((nodes) =>
      nodes.map(({ codes, anyArity, ...n }, i) => ({
        ...n,
        name: `n${i}`,
        input: codes.slice(0, anyArity === 0 ? 1 + (codes[0]! % 4) : ARITY[n.opType]).map((code) => pick(sources, (j) => made(j, nodes.length))(code, i, nodes.length)),
        output: [made(i, nodes.length)],
        attribute: n.opType === "Gemm" ? n.attribute : [],
      })),
    );
  const fn: fc.Arbitrary<OnnxTypes.IFunctionProto> = fc.record({
    domain: fc.constantFrom("gradlab", "loop"),
    name: fc.constantFrom("F", "MYLINEAR"),
    input: fc.constant<string[]>(["a", "c", "d"]),
    output: fc.constant<string[]>(["o"]),
    node: wired(["a", "c", "d"], (i, n) => (i === n - 1 ? "o" : `z${i}`), { minLength: 1, maxLength: 3 }),
  });
  return fc
    .record({
      node: wired(["x", "W", "b", "s", "i"], (i, n) => (i === n - 1 ? "y" : `t${i}`), { minLength: 1, maxLength: 5 }),
      functions: fc.uniqueArray(fn, { maxLength: 2, selector: (f) => `${f.domain}.${f.name}` }),
      initializer: fc.oneof(
        { weight: 5, arbitrary: fc.constant<OnnxTypes.ITensorProto[]>([...INITIALIZERS, ...INT_INITIALIZERS]) },
        { weight: 1, arbitrary: fc.subarray(INITIALIZERS).map((list) => [...list]) },
      ),
      xShape: fc.constantFrom<(number | string)[]>(["N", 2], [3, 2], [2], ["N", 2, 2]),
    })
    .map(({ node, functions, initializer, xShape }): OnnxTypes.IModelProto => ({
      irVersion: 8,
      opsetImport: [{ domain: "", version: 13 }, { domain: "gradlab", version: 1 }, { domain: "loop", version: 1 }],
      functions,
      graph: {
        name: "wired",
        node,
        initializer,
        input: [{ name: "x", type: { tensorType: { elemType: 1, shape: { dim: xShape.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } } }],
        output: [{ name: "y", type: { tensorType: { elemType: 1 } } }],
      },
    }));
}

/**
 * A graph whose node has an attribute holding a graph whose node has …, `levels` deep: each level
 * is three length-delimited headers (GraphProto.node = 1, NodeProto.attribute = 5,
 * AttributeProto.g = 6) inside ModelProto.graph = 7, written from the outside in.
 */
function deeplyNested(levels: number): Uint8Array {
  const fields = [7, ...Array.from({ length: levels }, () => [1, 5, 6]).flat()];
  const headers: number[][] = [];
  let length = 0;
  for (let i = fields.length - 1; i >= 0; i--) {
    const header = [(fields[i]! << 3) | 2, ...varint(length)];
    headers.push(header);
    length += header.length;
  }
  return Uint8Array.from(headers.reverse().flat());
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
