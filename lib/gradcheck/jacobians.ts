/**
 * The two Jacobians gradcheck compares, for looking at them (a notebook's scatter plot): the
 * numerical one from Ridders' extrapolated central differences and the analytic one from the backward, row-major
 * [output elements × input elements]. Asynchronous, so it runs on every backend.
 */
import type * as tf from "@tensorflow/tfjs";
import { makeEvaluator, opName, tensorFnOf, type CheckedOp } from "./evaluate";
import { analyticJacobians, numericJacobian } from "./jacobian";
import { estimateTermScale } from "./projection";
import { Generator } from "../random";
import { runAsync, type Reads } from "./reads";
import { FLOAT32_TOLERANCES } from "./tolerance";

export interface JacobianPair {
  /** The input's index among the op's inputs. */
  index: number;
  numerical: Float64Array;
  analytic: Float64Array;
}

export function jacobians(op: CheckedOp, inputs: readonly tf.Tensor[], indices?: readonly number[], eps = FLOAT32_TOLERANCES.eps): Promise<JacobianPair[]> {
  const which = indices ?? inputs.map((_, i) => i);
  function* steps(): Reads<JacobianPair[]> {
    const ev = yield* makeEvaluator(tensorFnOf(op), inputs, opName(op));
    const analytic = yield* analyticJacobians(ev, which);
    const estimate = yield* estimateTermScale(ev, which, 2 ** -10, new Generator(0));
    const noiseScale = ev.output.map((f, k) => Math.abs(f) + estimate[k]!);
    const out: JacobianPair[] = [];
    for (const index of which) out.push({ index, numerical: (yield* numericJacobian(ev, index, eps, noiseScale)).values, analytic: analytic.get(index)! });
    return out;
  }
  return runAsync(steps());
}
