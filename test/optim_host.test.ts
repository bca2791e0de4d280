/**
 * The optimizers' host loops (lib/optim/host_steps.ts) against their tfjs-kernel path, on cpu and
 * wasm: bit-identical parameters and state after several steps for every option that changes the
 * arithmetic; a parameter sharing storage with its caller's tensor leaves that tensor alone; a
 * gradient of another shape or dtype takes the kernel path; the tensor count stays flat.
 */
import assert from "node:assert/strict";
import { after, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { setHostKernels } from "../lib/host/host_tensors";
import { backward } from "../lib/autograd/backward";
import { Parameter } from "../lib/nn/parameter";
import { Adam } from "../lib/optim/adam";
import { AdamW } from "../lib/optim/adamw";
import type { Optimizer } from "../lib/optim/optimizer";
import { adamHostStep, sgdHostStep } from "../lib/optim/host_steps";
import { adamStepWasm, sgdStepWasm } from "../lib/optim/optim_wasm";
import { SGD, type SGDOptions } from "../lib/optim/sgd";
import { Generator } from "../lib/random";
import { describeEachBackend } from "./support/backends";

after(() => setHostKernels(true));

type Make = (params: Parameter[]) => Optimizer<{ lr: number }>;

const SGD_CASES: [string, SGDOptions][] = [
  ["plain", { lr: 0.1 }],
  ["the seed's (momentum, weight decay)", { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 }],
  ["dampening", { lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 1e-3 }],
  ["nesterov", { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-2 }],
  ["maximize", { lr: 0.02, momentum: 0.5, maximize: true }],
];
const ADAM_CASES: [string, Make][] = [
  ["Adam", (ps) => new Adam(ps, { lr: 1e-2 })],
  ["Adam, weight decay, amsgrad", (ps) => new Adam(ps, { lr: 3e-3, betas: [0.8, 0.95], weightDecay: 1e-2, amsgrad: true })],
  ["Adam, maximize, eps", (ps) => new Adam(ps, { lr: 1e-3, eps: 1e-3, maximize: true })],
  ["AdamW", (ps) => new AdamW(ps, { lr: 1e-2, weightDecay: 0.1 })],
  ["AdamW, amsgrad", (ps) => new AdamW(ps, { lr: 1e-2, amsgrad: true })],
];
const CASES: [string, Make][] = [...SGD_CASES.map(([n, o]): [string, Make] => [`SGD ${n}`, (ps) => new SGD(ps, o)]), ...ADAM_CASES];

const SHAPES = [[16, 2], [16], [1, 16], [1], [7, 5, 3]];

function seededTensor(shape: number[], seed: number): tf.Tensor {
  const rng = new Generator(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
}

/** Runs `steps` steps with seeded gradients (one parameter skipped on odd steps); returns every parameter's and buffer's values. */
function trajectory(make: Make, host: boolean, steps = 6): { values: Float32Array[]; state: string } {
  setHostKernels(host);
  try {
    const rng = new Generator(7);
    const params = SHAPES.map((s) => Parameter.adopt(tf.tensor(Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal()), s)));
    const opt = make(params);
    for (let step = 0; step < steps; step++) {
      params.forEach((p, i) => {
        if (i === 1 && step % 2 === 1) return;
        const g = tf.tensor(Float32Array.from({ length: p.value.size }, () => rng.normal() * 10 ** (i - 2)), p.shape);
        p.accumulateGrad(g);
      });
      opt.step();
      opt.zeroGrad();
    }
    const values = params.map((p) => p.value.dataSync() as Float32Array);
    const state = JSON.stringify(opt.stateDict());
    opt.dispose();
    params.forEach((p) => p.dispose());
    return { values, state };
  } finally {
    setHostKernels(true);
  }
}

describeEachBackend("optimizer host loops", () => {
  for (const [name, make] of CASES) {
    it(`${name}: bit-identical to the kernel path, parameters and state`, () => {
      const before = tf.memory().numTensors;
      const kernels = trajectory(make, false);
      const loops = trajectory(make, true);
      loops.values.forEach((v, i) => assert.deepEqual(Array.from(v), Array.from(kernels.values[i]!), `parameter ${i}`));
      assert.equal(loops.state, kernels.state);
      assert.equal(tf.memory().numTensors, before, "tensor count");
    });
  }

  it("a parameter made from a tensor its caller keeps: the step leaves that tensor unchanged", () => {
    for (const make of [(ps: Parameter[]) => new SGD(ps, { lr: 0.1, momentum: 0.9 }), (ps: Parameter[]) => new Adam(ps, { lr: 0.1 })]) {
      const initial = tf.tensor([1, 2, 3]);
      const p = new Parameter(initial);
      const clone = p.value.clone();
      const opt = make([p]);
      p.accumulateGrad(tf.ones([3]));
      opt.step();
      assert.deepEqual(Array.from(initial.dataSync()), [1, 2, 3]);
      assert.deepEqual(Array.from(clone.dataSync()), [1, 2, 3]);
      assert.ok(p.value.dataSync()[0]! < 1, "the parameter moved");
      opt.zeroGrad();
      opt.dispose();
      p.dispose();
      tf.dispose([initial, clone]);
    }
  });

  it("a gradient of another shape (one that broadcasts) takes the kernel path: the same result with the loops on or off", () => {
    const run = (host: boolean) => {
      setHostKernels(host);
      try {
        const p = Parameter.adopt(tf.tensor([[1, 2, 3], [4, 5, 6]]));
        const opt = new Adam([p], { lr: 0.1 });
        p.grad = tf.keep(tf.tensor([1, -2, 3]));
        opt.step();
        const values = Array.from(p.value.dataSync());
        opt.zeroGrad();
        opt.dispose();
        p.dispose();
        return values;
      } finally {
        setHostKernels(true);
      }
    };
    assert.deepEqual(run(true), run(false));
  });

  it("a parameter used directly by tf.matMul (wasm caches its packed weights by tensor id): in-place steps are seen by the next product", () => {
    const run = (host: boolean) => {
      setHostKernels(host);
      try {
        const w = Parameter.adopt(seededTensor([3, 4], 1));
        const opt = new Adam([w], { lr: 0.1 });
        const x = seededTensor([5, 3], 3);
        const losses: number[] = [];
        for (let step = 0; step < 4; step++) {
          opt.zeroGrad();
          const loss = backward(() => tf.sum(tf.square(tf.matMul(x, w.value))), [w]);
          losses.push(loss.dataSync()[0]!);
          loss.dispose();
          opt.step();
        }
        opt.zeroGrad();
        opt.dispose();
        x.dispose();
        const out = [...losses, ...w.value.dataSync()];
        w.dispose();
        return out;
      } finally {
        setHostKernels(true);
      }
    };
    assert.deepEqual(run(true), run(false));
  });

  it("memory stays flat over many host steps", () => {
    const ps = [Parameter.adopt(tf.ones([4, 4])), Parameter.adopt(tf.ones([4]))];
    const opt = new Adam(ps, { amsgrad: true });
    const step = () => {
      ps.forEach((p) => p.accumulateGrad(tf.onesLike(p.value)));
      opt.step();
      opt.zeroGrad();
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) step();
    assert.equal(tf.memory().numTensors, before);
    opt.dispose();
    ps.forEach((p) => p.dispose());
  });
});

it("the WebAssembly steps and the JavaScript loops (engines without WebAssembly SIMD) agree bit for bit, NaN and tails included", () => {
  const rng = new Generator(5);
  for (const n of [1, 3, 4, 7, 33]) {
    const arr = () => Float32Array.from({ length: n }, (_, i) => (i === 2 ? Number.NaN : i === 5 ? Number.POSITIVE_INFINITY : rng.normal()));
    const [p, g, m, v, vmax, buf] = [arr(), arr(), arr().map(Math.abs), arr().map(Math.abs), arr().map(Math.abs), arr()];
    for (const h of [
      { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, maximize: false, step: 3 },
      { lr: 0.02, beta1: 0.8, beta2: 0.95, eps: 1e-3, weightDecay: 0.1, decoupled: false, maximize: true, step: 1 },
      { lr: 0.02, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1, decoupled: true, maximize: false, step: 7 },
    ]) {
      for (const amsgrad of [false, true]) {
        const a = [p, g, m, v, vmax].map((x) => x.slice());
        const b = [p, g, m, v, vmax].map((x) => x.slice());
        adamHostStep(a[0]!, a[1]!, a[2]!, a[3]!, amsgrad ? a[4]! : null, h);
        adamStepWasm(b[0]!, b[1]!, b[2]!, b[3]!, amsgrad ? b[4]! : null, h);
        a.forEach((x, i) => assert.deepEqual(Array.from(b[i]!), Array.from(x), `adam n=${n} ${JSON.stringify(h)} amsgrad=${amsgrad} array ${i}`));
      }
    }
    for (const h of [
      { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false },
      { lr: 0.01, momentum: 0.9, dampening: 0, weightDecay: 5e-4, nesterov: false, maximize: false },
      { lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 1e-3, nesterov: false, maximize: true },
      { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 1e-2, nesterov: true, maximize: false },
    ]) {
      for (const first of [true, false]) {
        const withBuffer = h.momentum !== 0;
        const a = [p, g, buf].map((x) => x.slice());
        const b = [p, g, buf].map((x) => x.slice());
        sgdHostStep(a[0]!, a[1]!, withBuffer ? a[2]! : null, h, first && withBuffer);
        sgdStepWasm(b[0]!, b[1]!, withBuffer ? b[2]! : null, h, first && withBuffer);
        a.forEach((x, i) => assert.deepEqual(Array.from(b[i]!), Array.from(x), `sgd n=${n} ${JSON.stringify(h)} first=${first} array ${i}`));
      }
    }
  }
});
