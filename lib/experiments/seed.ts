/**
 * The seed's experiment: Linear(2 → 1, uniform init), SGD(lr 0.01, momentum 0.9, weight decay
 * 5e-4), MSELoss, one sample per step. Shared by the train task, the benchmark and the notebooks.
 *
 * The loop does not wait for the device at every step: losses stay on it as kept tensors and are
 * read back in blocks (every few hundred steps or 0.2 s), so memory stays flat however many steps
 * run, progress can be reported, and a stop request or the first non-finite value is seen within
 * one block. Random samples are drawn step by step, in the order the seed draws them.
 */
import * as tf from "@tensorflow/tfjs";
import { backward } from "../autograd/backward";
import { backendInfo } from "../backend";
import { Linear } from "../nn/linear";
import { MSELoss } from "../nn/mse_loss";
import type { StateDict } from "../nn/state_dict";
import { SGD, type SGDOptions } from "../optim/sgd";
import { Generator } from "../random";
import { NonFiniteError } from "../nn/non_finite";
import { seedRule, type Samples } from "./seed_data";

export interface SeedExperimentOptions extends Partial<SGDOptions> {
  /** Steps to train (default 300, or one pass over `data` when it is given). */
  steps?: number;
  /** Seeds the initial weights and the random samples (default 0). */
  seed?: number;
  /** Start from these weights instead of the seeded U[0, 1) init. */
  init?: StateDict;
  /** Train on these rows (cycled) instead of fresh random samples. */
  data?: Samples;
  /** Also return w and b after every step (for plots; kept in memory, so not for millions of steps). */
  recordTrajectory?: boolean;
  /**
   * Stop at the first non-finite loss or parameter with a NonFiniteError naming the step and the
   * value (default false: train on, as PyTorch does).
   */
  stopOnNonFinite?: boolean;
  /** Keep at most this many losses: every k-th step's, k = ceil(steps / maxLosses) (default: all). */
  maxLosses?: number;
  /** Called after each block of steps is read back (every few hundred steps or 0.2 s). */
  onProgress?: (progress: TrainingProgress) => void;
  /** When aborted, training stops after the current block with a TrainingInterruptedError. */
  signal?: AbortSignal;
}

export interface TrainingProgress {
  /** Steps done. */
  step: number;
  steps: number;
  /** The loss of the last step done. */
  loss: number;
  /** Time since the loop started, in ms. */
  ms: number;
}

export class TrainingInterruptedError extends Error {
  override name = "TrainingInterruptedError";
  constructor(readonly step: number, readonly steps: number, readonly reason: unknown) {
    super(`training stopped at step ${step} of ${steps}${typeof reason === "string" ? ` (${reason})` : ""}`);
  }
}

export interface SeedExperimentResult {
  weight: number[][];
  bias: number[];
  /** Loss of each step, before that step's update (every lossEvery-th step when maxLosses is set). */
  losses: number[];
  /** losses[i] is the loss of step i · lossEvery (1 unless maxLosses thinned them). */
  lossEvery: number;
  /** The loss of the last step. */
  lastLoss: number;
  /** The model's output at x = (3, 2), the seed's own check (NaN when the width is not 2). */
  prediction: number;
  /** [w…, b…] after each step, when recordTrajectory was set. */
  trajectory?: number[][];
  backend: string;
  steps: number;
  /** Wall time of the training loop alone, in ms (device work included: read-back at the end). */
  ms: number;
  model: Linear;
}

export const SEED_HYPERPARAMETERS = { lr: 0.01, momentum: 0.9, weightDecay: 5e-4, dampening: 0, nesterov: false } as const;

/** A block is read back from the device after this many steps or this many ms, whichever comes first. */
const BLOCK_STEPS = 256;
const BLOCK_MS = 200;

export async function runSeedExperiment(options: SeedExperimentOptions = {}): Promise<SeedExperimentResult> {
  const generator = new Generator(options.seed ?? 0);
  const data = options.data;
  const steps = options.steps ?? data?.rows ?? 300;
  if (!Number.isSafeInteger(steps) || steps < 1) throw new RangeError(`steps must be a positive integer, got ${steps}`);
  const maxLosses = options.maxLosses ?? Infinity;
  if (!(maxLosses >= 1)) throw new RangeError(`maxLosses must be at least 1, got ${maxLosses}`);
  const lossEvery = Math.max(1, Math.ceil(steps / maxLosses));
  const width = data?.width ?? 2;
  const model = new Linear(width, 1, { init: "uniform", generator });
  if (options.init !== undefined) {
    try {
      model.loadStateDict(options.init);
    } catch (error) {
      model.dispose();
      throw error;
    }
  }

  const optimizer = new SGD(model.parameters(), {
    lr: options.lr ?? SEED_HYPERPARAMETERS.lr,
    momentum: options.momentum ?? SEED_HYPERPARAMETERS.momentum,
    weightDecay: options.weightDecay ?? SEED_HYPERPARAMETERS.weightDecay,
    dampening: options.dampening ?? SEED_HYPERPARAMETERS.dampening,
    nesterov: options.nesterov ?? SEED_HYPERPARAMETERS.nesterov,
    maximize: options.maximize ?? false,
  });
  const criterion = new MSELoss();
  const named = model.namedParameters();
  const params = named.map(([, p]) => p);
  const check = options.stopOnNonFinite ?? false;
  // One record per step: [loss] or, when checking, [loss, Σ non-finite entries of each parameter after the update].
  let block: tf.Tensor[] = [];
  const trajectory: tf.Tensor[] = [];
  const losses: number[] = [];
  let lastLoss = Number.NaN;

  // Reads the block back: keeps the losses asked for, stops at the first non-finite value.
  const drain = async (done: number): Promise<void> => {
    const stacked = tf.stack(block);
    const values = await stacked.data();
    stacked.dispose();
    block.forEach((t) => t.dispose());
    const first = done - block.length;
    const stride = check ? 1 + params.length : 1;
    block = [];
    for (let i = 0; i * stride < values.length; i++) {
      const step = first + i;
      const loss = values[i * stride]!;
      if (check) findNonFinite(step, loss, values.subarray(i * stride + 1, (i + 1) * stride));
      if (step % lossEvery === 0) losses.push(loss);
      lastLoss = loss;
    }
  };
  const findNonFinite = (step: number, loss: number, sums: ArrayLike<number>): void => {
    const before = step > 0 ? ` (the step before: ${lastLoss.toExponential(3)})` : "";
    if (!Number.isFinite(loss)) throw new NonFiniteError(`the loss became ${loss} at step ${step}${before}`);
    for (let j = 0; j < sums.length; j++) {
      if (!Number.isFinite(sums[j]!)) throw new NonFiniteError(`parameter "${named[j]![0]}" became non-finite (${sums[j]}) in the update of step ${step}; its loss was ${loss.toExponential(3)}`);
    }
  };

  const start = performance.now();
  let blockStart = start;
  try {
    for (let step = 0; step < steps; step++) {
      // Fresh arrays each step: a backend may keep the array it was given rather than copy it.
      const xRow = new Float32Array(width);
      const yRow = new Float32Array(1);
      if (data) {
        const row = step % data.rows;
        xRow.set(data.x.subarray(row * width, (row + 1) * width));
        yRow[0] = data.y[row]!;
      } else {
        // Rounded to float32 before the target is computed, as the seed's torch.Tensor(...) does.
        xRow[0] = generator.uniform();
        xRow[1] = generator.uniform();
        yRow[0] = seedRule(xRow[0]!, xRow[1]!);
      }
      const x = tf.tensor2d(xRow, [1, width]);
      // The seed's label has shape [1] against the model's [1, 1]: the loss broadcasts and warns once.
      const y = tf.tensor1d(yRow);
      optimizer.zeroGrad();
      const loss = backward(() => criterion.forward(model.forward(x), y), params);
      optimizer.step();
      x.dispose();
      y.dispose();
      if (check) {
        block.push(tf.tidy(() => tf.stack([loss, ...params.map((p) => tf.sum(tf.where(tf.isFinite(p.value), tf.zerosLike(p.value), p.value)))])));
        loss.dispose();
      } else block.push(loss);
      if (options.recordTrajectory) {
        trajectory.push(tf.tidy(() => tf.concat([model.weight.value.flatten(), model.bias.value])));
      }
      if (block.length >= BLOCK_STEPS || step === steps - 1 || performance.now() - blockStart >= BLOCK_MS) {
        await drain(step + 1);
        options.onProgress?.({ step: step + 1, steps, loss: lastLoss, ms: performance.now() - start });
        // A macrotask turn, so signal handlers run even where data() resolves at once (cpu).
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (options.signal?.aborted && step + 1 < steps) throw new TrainingInterruptedError(step + 1, steps, options.signal.reason);
        blockStart = performance.now();
      }
    }
  } catch (error) {
    block.forEach((t) => t.dispose());
    trajectory.forEach((t) => t.dispose());
    optimizer.zeroGrad();
    optimizer.dispose();
    model.dispose();
    throw error;
  }
  const ms = performance.now() - start;
  const trajectoryValues = options.recordTrajectory ? await readRows(trajectory) : undefined;
  optimizer.zeroGrad();
  optimizer.dispose();

  const prediction = width === 2 ? await predict(model, [3, 2]) : Number.NaN;
  return {
    weight: (await model.weight.value.array()) as number[][],
    bias: (await model.bias.value.array()) as number[],
    losses,
    lossEvery,
    lastLoss,
    prediction,
    ...(trajectoryValues ? { trajectory: trajectoryValues } : {}),
    backend: backendInfo().name,
    steps,
    ms,
    model,
  };
}

async function readRows(rows: tf.Tensor[]): Promise<number[][]> {
  const stacked = tf.stack(rows);
  const values = (await stacked.array()) as number[][];
  stacked.dispose();
  rows.forEach((t) => t.dispose());
  return values;
}

async function predict(model: Linear, x: number[]): Promise<number> {
  const y = tf.tidy(() => model.forward(tf.tensor2d([x])));
  const [value] = await y.data();
  y.dispose();
  return value!;
}
