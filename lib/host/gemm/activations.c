/*
 * relu's forward and backward (lib/ops/relu.ts) in WebAssembly SIMD, four elements at a time, with
 * the JavaScript loops' results bit for bit: y = x where x > 0 or x is NaN (its bits kept), else
 * +0 (−0 and −∞ too); dx = dy · (1 where !(y ≤ 0), else 0), so dy passes where y is NaN, as
 * torch's threshold_backward, and a product, not a select, elsewhere (±∞ or NaN dy gives NaN
 * there, as the JavaScript loop and tfjs's step-and-multiply do). Either may run in place.
 */
#include <wasm_simd128.h>

__attribute__((export_name("relu_forward"))) void relu_forward(int n, const float *x, float *y) {
  const v128_t zero = wasm_f32x4_splat(0);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t v = wasm_v128_load(x + i);
    const v128_t keep = wasm_v128_or(wasm_f32x4_gt(v, zero), wasm_f32x4_ne(v, v));
    wasm_v128_store(y + i, wasm_v128_and(v, keep));
  }
  for (; i < n; i++) y[i] = x[i] > 0 || x[i] != x[i] ? x[i] : 0;
}

__attribute__((export_name("relu_backward"))) void relu_backward(int n, const float *y, const float *dy, float *dx) {
  const v128_t zero = wasm_f32x4_splat(0), one = wasm_f32x4_splat(1);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t pass = wasm_v128_andnot(one, wasm_f32x4_le(wasm_v128_load(y + i), zero));
    wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), pass));
  }
  for (; i < n; i++) dx[i] = dy[i] * (y[i] <= 0 ? 0.0f : 1.0f);
}
