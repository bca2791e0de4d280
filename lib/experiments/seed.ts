/**
 * The seed's experiment: Linear(2 → 1, uniform init), SGD(lr 0.01, momentum 0.9, weight decay
 * 5e-4), MSELoss, one sample per step. Shared by the train task, the benchmark and the notebooks.
 *
 * The loop never waits for the device: losses (and, when asked, parameter trajectories) stay on
 * it as kept tensors and are read back once, at the end.
 */
import * as tf from "@tensorflow/tfjs";
import { backward } from "../autograd/backward";
import { backendInfo } from "../backend";
import { Linear } from "../nn/linear";
import { MSELoss } from "../nn/mse_loss";
import type { StateDict } from "../nn/state_dict";
import { SGD, type SGDOptions } from "../optim/sgd";
import { Generator } from "../random";
import { randomSamples, type Samples } from "./seed_data";

export interface SeedExperimentOptions extends Partial<SGDOptions> {
  /** Steps to train (default 300, or one pass over `data` when it is given). */
  steps?: number;
  /** Seeds the initial weights and the random samples (default 0). */
  seed?: number;
  /** Start from these weights instead of the seeded U[0, 1) init. */
  init?: StateDict;
  /** Train on these rows (cycled) instead of fresh random samples. */
  data?: Samples;
  /** Also return w and b after every step (for plots). */
  recordTrajectory?: boolean;
}

export interface SeedExperimentResult {
  weight: number[][];
  bias: number[];
  /** Loss of each step, before that step's update. */
  losses: number[];
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

export async function runSeedExperiment(options: SeedExperimentOptions = {}): Promise<SeedExperimentResult> {
  const generator = new Generator(options.seed ?? 0);
  const data = options.data;
  const steps = options.steps ?? data?.rows ?? 300;
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps must be a positive integer, got ${steps}`);
  const width = data?.width ?? 2;
  const model = new Linear(width, 1, { init: "uniform", generator });
  if (options.init !== undefined) model.loadStateDict(options.init);
  const samples = data ?? randomSamples(steps, generator);

  const optimizer = new SGD(model.parameters(), {
    lr: options.lr ?? SEED_HYPERPARAMETERS.lr,
    momentum: options.momentum ?? SEED_HYPERPARAMETERS.momentum,
    weightDecay: options.weightDecay ?? SEED_HYPERPARAMETERS.weightDecay,
    dampening: options.dampening ?? SEED_HYPERPARAMETERS.dampening,
    nesterov: options.nesterov ?? SEED_HYPERPARAMETERS.nesterov,
    maximize: options.maximize ?? false,
  });
  const criterion = new MSELoss();
  const params = model.parameters();
  const losses: tf.Tensor[] = [];
  const trajectory: tf.Tensor[] = [];

  const start = performance.now();
  for (let step = 0; step < steps; step++) {
    const row = step % samples.rows;
    const x = tf.tensor2d(samples.x.subarray(row * width, (row + 1) * width), [1, width]);
    // The seed's label has shape [1] against the model's [1, 1]: the loss broadcasts and warns once.
    const y = tf.tensor1d(samples.y.subarray(row, row + 1));
    optimizer.zeroGrad();
    losses.push(backward(() => criterion.forward(model.forward(x), y), params));
    optimizer.step();
    x.dispose();
    y.dispose();
    if (options.recordTrajectory) {
      trajectory.push(tf.tidy(() => tf.concat([model.weight.value.flatten(), model.bias.value])));
    }
  }
  const lossValues = await readAll(losses);
  const ms = performance.now() - start;
  const trajectoryValues = options.recordTrajectory ? await readRows(trajectory) : undefined;
  optimizer.zeroGrad();
  optimizer.dispose();

  const prediction = width === 2 ? await predict(model, [3, 2]) : Number.NaN;
  return {
    weight: (await model.weight.value.array()) as number[][],
    bias: (await model.bias.value.array()) as number[],
    losses: lossValues,
    prediction,
    ...(trajectoryValues ? { trajectory: trajectoryValues } : {}),
    backend: backendInfo().name,
    steps,
    ms,
    model,
  };
}

async function readAll(scalars: tf.Tensor[]): Promise<number[]> {
  const stacked = tf.stack(scalars);
  const values = Array.from(await stacked.data());
  stacked.dispose();
  scalars.forEach((t) => t.dispose());
  return values;
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
