/**
 * Matrix products: MatMul (NumPy's matmul: 1-D operands promoted, batch axes broadcast), Gemm, and
 * the seed's MYLINEAR (X·Wᵀ + B, in any domain: PyTorch writes it into the default one). MYLINEAR
 * and Gemm in linear form run through LinearF, so an imported linear layer keeps its hand-written
 * backward and can be exported again.
 */
import * as tf from "@tensorflow/tfjs";
import { LinearF } from "../../ops/linear";
import type { ImportOp } from "./op";
import { broadcast, formatDims, isFloat, OpError, Refusal, requireRank, same, type DimShape, type ValueInfo } from "./values";

function floats(...xs: (ValueInfo | null | undefined)[]): void {
  for (const x of xs) if (x && !isFloat(x.dtype)) throw new Refusal(`element type ${x.dtype}: gradlab multiplies float matrices only`);
}

/** The shape of C broadcast to the result: C must not grow it. */
function broadcastsTo(shape: DimShape, target: DimShape, what: string): void {
  const b = broadcast(shape, target);
  if (b.length !== target.length || b.some((d, i) => typeof d === "number" && typeof target[i] === "number" && d !== target[i])) {
    throw new OpError(`${what} ${formatDims(shape)} does not broadcast to the result ${formatDims(target)}`);
  }
}

export const LINALG_OPS: Record<string, ImportOp> = {
  MatMul: {
    inputs: [2, 2],
    infer([a, b]) {
      floats(a, b);
      const sa = a!.shape!, sb = b!.shape!;
      if (sa.length === 0 || sb.length === 0) throw new OpError(`MatMul needs operands of rank ≥ 1, got ${formatDims(sa)} and ${formatDims(sb)}`);
      const A = sa.length === 1 ? [1, sa[0]!] : sa;
      const B = sb.length === 1 ? [sb[0]!, 1] : sb;
      same(A[A.length - 1]!, B[B.length - 2]!, () => `inner dimensions differ: ${formatDims(sa)} times ${formatDims(sb)}`);
      const batch = broadcast(A.slice(0, -2), B.slice(0, -2));
      const shape = [...batch, ...(sa.length === 1 ? [] : [A[A.length - 2]!]), ...(sb.length === 1 ? [] : [B[B.length - 1]!])];
      return [{ dtype: a!.dtype, shape }];
    },
    run([a, b], _attrs, { outs }) {
      const out = outs[0]!.shape as number[];
      if (a!.rank >= 2 && b!.rank === 2) {
        if (a!.rank === 2) return tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
        // A batch of matrices times one matrix: fold the leading axes into the rows.
        const y = tf.matMul(tf.reshape(a!, [-1, a!.shape[a!.rank - 1]!]) as tf.Tensor2D, b as tf.Tensor2D);
        return tf.reshape(y, out);
      }
      const A = a!.rank === 1 ? tf.reshape(a!, [1, a!.shape[0]!]) : a!;
      const B = b!.rank === 1 ? tf.reshape(b!, [b!.shape[0]!, 1]) : b!;
      const batch = broadcast(A.shape.slice(0, -2), B.shape.slice(0, -2)) as number[];
      const flat = (t: tf.Tensor) => {
        const [m, n] = t.shape.slice(-2) as [number, number];
        return tf.reshape(tf.broadcastTo(t, [...batch, m, n]), [-1, m, n]) as tf.Tensor3D;
      };
      return tf.reshape(tf.matMul(flat(A), flat(B)), out);
    },
  },
  Gemm: {
    inputs: [2, 3],
    attributes: { alpha: "float", beta: "float", transA: "int", transB: "int", broadcast: "int" },
    infer([a, b, c], at) {
      floats(a, b, c);
      requireRank(a!, "A", 2);
      requireRank(b!, "B", 2);
      const transA = at.int("transA", 0), transB = at.int("transB", 0);
      const [m, k] = transA ? [a!.shape![1]!, a!.shape![0]!] : [a!.shape![0]!, a!.shape![1]!];
      const [k2, n] = transB ? [b!.shape![1]!, b!.shape![0]!] : [b!.shape![0]!, b!.shape![1]!];
      same(k, k2, () => `inner dimensions differ: A${transA ? "ᵀ" : ""} ${formatDims(a!.shape)} times B${transB ? "ᵀ" : ""} ${formatDims(b!.shape)}`);
      if (c) broadcastsTo(c.shape!, [m, n], "C");
      return [{ dtype: a!.dtype, shape: [m, n] }];
    },
    run([a, b, c], at) {
      const alpha = at.float("alpha", 1), beta = at.float("beta", 1), transA = at.int("transA", 0), transB = at.int("transB", 0);
      if (c && !transA && transB && alpha === 1 && beta === 1 && c.rank === 1 && c.shape[0] === b!.shape[0]) {
        return LinearF.apply(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor1D);
      }
      let y = tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, transA !== 0, transB !== 0) as tf.Tensor;
      if (alpha !== 1) y = tf.mul(y, alpha);
      if (c && beta !== 0) y = tf.add(y, beta === 1 ? c : tf.mul(c, beta));
      return y;
    },
  },
};

/** The seed's custom op, Y = X·Wᵀ + B, in whatever domain the file puts it. */
export const MYLINEAR: ImportOp = {
  inputs: [3, 3],
  infer([x, w, b]) {
    requireRank(x!, "X", 2);
    requireRank(w!, "W", 2);
    same(x!.shape![1]!, w!.shape![1]!, () => `X ${formatDims(x!.shape)} and W ${formatDims(w!.shape)} disagree on the input width (X·Wᵀ needs X's columns = W's columns)`);
    const out = [x!.shape![0]!, w!.shape![0]!];
    broadcastsTo(b!.shape!, out, "B");
    return [{ dtype: x!.dtype, shape: out }];
  },
  run([x, w, b]) {
    if (b!.rank === 1 && b!.shape[0] === w!.shape[0]) return LinearF.apply(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D);
    return tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D, false, true), b!);
  },
};
