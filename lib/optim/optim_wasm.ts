/**
 * The optimizers' steps run in gradlab's WebAssembly module (gemm/optim.c): four elements per
 * instruction and float32 arithmetic natively, where the JavaScript loop (host_steps.ts) spends a
 * Math.fround per operation to stay bit-identical (≈ 15 ns per element for Adam, against ≈ 2 here
 * plus the copies). The parameter, gradient and buffers are copied into the module's memory,
 * stepped, and copied back; results are bit-identical to the loop's and the kernel path's.
 */
import { align4, reserve, sgemmModule } from "../host/gemm/sgemm_module";
import type { AdamHost, SGDHost } from "./host_steps";

const DECAY_NONE = 0;
const DECAY_COUPLED = 1;
const DECAY_DECOUPLED = 2;

/** Places `arrays` (each n floats, null skipped) one after another in the module's memory; returns their float offsets. */
function stage(n: number, arrays: readonly (Float32Array | null)[]): number[] {
  const module = sgemmModule();
  const stride = align4(n);
  reserve(module, module.base + stride * arrays.length);
  const heap = module.heap;
  return arrays.map((a, i) => {
    const at = module.base + i * stride;
    if (a !== null) heap.set(a, at);
    return at;
  });
}

export function adamStepWasm(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, h: AdamHost): void {
  const n = p.length;
  const [pAt, gAt, mAt, vAt, vmaxAt] = stage(n, [p, g, m, v, vmax]);
  const module = sgemmModule();
  module.adamStep(
    n, pAt! * 4, gAt! * 4, mAt! * 4, vAt! * 4, vmax === null ? 0 : vmaxAt! * 4,
    h.beta1, 1 - h.beta1, h.beta2, 1 - h.beta2,
    h.lr / (1 - h.beta1 ** h.step), Math.sqrt(1 - h.beta2 ** h.step), h.eps,
    h.weightDecay, 1 - h.lr * h.weightDecay,
    h.weightDecay === 0 ? DECAY_NONE : h.decoupled ? DECAY_DECOUPLED : DECAY_COUPLED, h.maximize ? 1 : 0,
  );
  const heap = module.heap;
  p.set(heap.subarray(pAt!, pAt! + n));
  m.set(heap.subarray(mAt!, mAt! + n));
  v.set(heap.subarray(vAt!, vAt! + n));
  if (vmax !== null) vmax.set(heap.subarray(vmaxAt!, vmaxAt! + n));
}

export function sgdStepWasm(p: Float32Array, g: Float32Array, buf: Float32Array | null, h: SGDHost, first: boolean): void {
  const n = p.length;
  const [pAt, gAt, bufAt] = stage(n, [p, g, first ? null : buf]);
  const module = sgemmModule();
  module.sgdStep(n, pAt! * 4, gAt! * 4, buf === null ? 0 : bufAt! * 4, h.lr, h.momentum, 1 - h.dampening, h.weightDecay, h.dampening === 0 ? 0 : 1, h.nesterov ? 1 : 0, h.maximize ? 1 : 0, first ? 1 : 0);
  const heap = module.heap;
  p.set(heap.subarray(pAt!, pAt! + n));
  if (buf !== null) buf.set(heap.subarray(bufAt!, bufAt! + n));
}
