/*
 * The optimizers' per-parameter steps (lib/optim/host_steps.ts) in WebAssembly SIMD, four
 * elements at a time. Every operation is one float32 operation (wasm has no FMA without relaxed
 * SIMD, and clang does not reassociate without -ffast-math), in the order torch and the tfjs-kernel
 * path run them, so the results are bit-identical to theirs. The scalar tails run the same
 * operations one element at a time.
 *
 * Adam/AdamW, torch 1.13's single-tensor path:
 *   g = ±grad (+ wd·p, coupled);  p = p·decay (decoupled);  m = β₁·m + (1−β₁)·g;
 *   v = β₂·v + ((1−β₂)·g)·g;  [v̂ = max(v̂, v)];  p = p − (stepSize·m) / (√v / bc2 + eps)
 */
#include <wasm_simd128.h>

enum { DECAY_NONE = 0, DECAY_COUPLED = 1, DECAY_DECOUPLED = 2 };

__attribute__((export_name("adam_step"))) void adam_step(int n, float *restrict p, const float *restrict g, float *restrict m, float *restrict v, float *restrict vmax,
               float beta1, float one_minus_beta1, float beta2, float one_minus_beta2, float step_size, float bc2_sqrt, float eps,
               float weight_decay, float decay, int decay_mode, int maximize) {
  const v128_t b1 = wasm_f32x4_splat(beta1), omb1 = wasm_f32x4_splat(one_minus_beta1);
  const v128_t b2 = wasm_f32x4_splat(beta2), omb2 = wasm_f32x4_splat(one_minus_beta2);
  const v128_t ss = wasm_f32x4_splat(step_size), bc2 = wasm_f32x4_splat(bc2_sqrt), ep = wasm_f32x4_splat(eps);
  const v128_t wd = wasm_f32x4_splat(weight_decay), dc = wasm_f32x4_splat(decay);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t pi = wasm_v128_load(p + i);
    v128_t gi = wasm_v128_load(g + i);
    if (maximize) gi = wasm_f32x4_neg(gi);
    if (decay_mode == DECAY_DECOUPLED) pi = wasm_f32x4_mul(pi, dc);
    else if (decay_mode == DECAY_COUPLED) gi = wasm_f32x4_add(gi, wasm_f32x4_mul(pi, wd));
    const v128_t mi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), b1), wasm_f32x4_mul(gi, omb1));
    const v128_t vi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), b2), wasm_f32x4_mul(wasm_f32x4_mul(gi, omb2), gi));
    wasm_v128_store(m + i, mi);
    wasm_v128_store(v + i, vi);
    v128_t second = vi;
    if (vmax) {
      second = wasm_f32x4_max(wasm_v128_load(vmax + i), vi);
      wasm_v128_store(vmax + i, second);
    }
    const v128_t denom = wasm_f32x4_add(wasm_f32x4_div(wasm_f32x4_sqrt(second), bc2), ep);
    wasm_v128_store(p + i, wasm_f32x4_sub(pi, wasm_f32x4_div(wasm_f32x4_mul(mi, ss), denom)));
  }
  for (; i < n; i++) {
    float pi = p[i];
    float gi = maximize ? -g[i] : g[i];
    if (decay_mode == DECAY_DECOUPLED) pi = pi * decay;
    else if (decay_mode == DECAY_COUPLED) gi = gi + pi * weight_decay;
    const float mi = m[i] * beta1 + gi * one_minus_beta1;
    const float vi = v[i] * beta2 + (gi * one_minus_beta2) * gi;
    m[i] = mi;
    v[i] = vi;
    float second = vi;
    if (vmax) {
      /* wasm's f32.max propagates NaN from either side, as f32x4.max, Math.max and torch.maximum. */
      second = __builtin_wasm_max_f32(vmax[i], vi);
      vmax[i] = second;
    }
    const float denom = __builtin_sqrtf(second) / bc2_sqrt + eps;
    p[i] = pi - (mi * step_size) / denom;
  }
}

/*
 * SGD, torch's order: d = ±g (+ wd·p);  buf = m·buf + (1−dampening)·d, or d itself on the first
 * step;  d = nesterov ? d + m·buf : buf;  p = p − lr·d. buf is 0 without momentum.
 */
__attribute__((export_name("sgd_step"))) void sgd_step(int n, float *restrict p, const float *restrict g, float *restrict buf, float lr, float momentum, float dampen,
              float weight_decay, int dampened, int nesterov, int maximize, int first) {
  for (int i = 0; i < n; i++) {
    const float pi = p[i];
    float d = maximize ? -g[i] : g[i];
    if (weight_decay != 0.0f) d = d + pi * weight_decay;
    if (buf) {
      const float b = first ? d : buf[i] * momentum + (dampened ? d * dampen : d);
      buf[i] = b;
      d = nesterov ? d + b * momentum : b;
    }
    p[i] = pi - d * lr;
  }
}
