/**
 * The window functions of opset 17 (HannWindow, HammingWindow, BlackmanWindow): computed on the
 * host from the size, in float64, and handed out as a tensor of the requested type.
 */
import type { ImportOp } from "./op";
import { materialize } from "./contents";
import { ints, OpError, Refusal, T, tfDtype, tracked } from "./values";

function windowOp(terms: (n: number, N: number) => number): ImportOp {
  return {
    inputs: [1, 1],
    attributes: { periodic: "int", output_datatype: "int" },
    hostInputs: [0],
    infer([size], a) {
      const dtype = a.int("output_datatype", T.FLOAT);
      if (tfDtype(dtype) === null) throw new Refusal(`output_datatype ${dtype} is not supported`);
      const n = ints(size);
      if (n === null) return [{ dtype, shape: [null] }];
      if (n.length !== 1 || n[0]! < 0) throw new OpError(`size must be one non-negative integer, got [${n.join(", ")}]`);
      const N = a.int("periodic", 1) ? n[0]! : n[0]! - 1;
      return [tracked(dtype, [n[0]!], Array.from({ length: n[0]! }, (_, k) => terms(k, N)))];
    },
    run: (_x, _a, { outs }) => {
      if (!outs[0]!.data) throw new Refusal("windows longer than gradlab tracks on the host are not supported");
      return materialize(outs[0]!);
    },
  };
}

const cos = (k: number, n: number, N: number) => Math.cos((2 * Math.PI * k * n) / N);

export const WINDOW_OPS: Record<string, ImportOp> = {
  HannWindow: windowOp((n, N) => 0.5 - 0.5 * cos(1, n, N)),
  HammingWindow: windowOp((n, N) => 25 / 46 - (21 / 46) * cos(1, n, N)),
  BlackmanWindow: windowOp((n, N) => 0.42 - 0.5 * cos(1, n, N) + 0.08 * cos(2, n, N)),
};
