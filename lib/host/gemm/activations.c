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

/*
 * softmax's backward along rows of `size` contiguous elements (the last dim, lib/ops/softmax.ts):
 * dx = y·(dy − Σ dy·y), the dot product and the difference in float64 as the JavaScript loop
 * (softmax_host.ts) computes them, two lanes at a time; each dx rounded once to float32.
 */
static v128_t promote_high(v128_t v) {
  return wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 2, 3));
}

__attribute__((export_name("softmax_backward"))) void softmax_backward(int rows, int size, const float *y, const float *dy,
                                                                       float *dx) {
  for (int r = 0; r < rows; r++, y += size, dy += size, dx += size) {
    v128_t s0 = wasm_f64x2_splat(0.0), s1 = s0;
    int i = 0;
    for (; i + 4 <= size; i += 4) {
      const v128_t yv = wasm_v128_load(y + i), dv = wasm_v128_load(dy + i);
      s0 = wasm_f64x2_add(s0, wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(yv), wasm_f64x2_promote_low_f32x4(dv)));
      s1 = wasm_f64x2_add(s1, wasm_f64x2_mul(promote_high(yv), promote_high(dv)));
    }
    double dot = (wasm_f64x2_extract_lane(s0, 0) + wasm_f64x2_extract_lane(s1, 0)) +
                 (wasm_f64x2_extract_lane(s0, 1) + wasm_f64x2_extract_lane(s1, 1));
    for (; i < size; i++) dot += (double)y[i] * (double)dy[i];
    const v128_t vdot = wasm_f64x2_splat(dot);
    i = 0;
    for (; i + 4 <= size; i += 4) {
      const v128_t yv = wasm_v128_load(y + i), dv = wasm_v128_load(dy + i);
      const v128_t lo = wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(yv), wasm_f64x2_sub(wasm_f64x2_promote_low_f32x4(dv), vdot));
      const v128_t hi = wasm_f64x2_mul(promote_high(yv), wasm_f64x2_sub(promote_high(dv), vdot));
      wasm_v128_store(dx + i, wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(lo), wasm_f32x4_demote_f64x2_zero(hi), 0, 1, 4, 5));
    }
    for (; i < size; i++) dx[i] = (float)((double)y[i] * ((double)dy[i] - dot));
  }
}

/*
 * sigmoid's and tanh's backward from the saved output, dx = dy·y·(1 − y) and dy·(1 − y·y): in
 * float64, as the JavaScript loops (lib/ops/sigmoid.ts, tanh.ts) evaluate them, so each dx is
 * rounded once to float32 and the results are theirs bit for bit. Either may run in place.
 */
enum saved_output_grad { SIGMOID, TANH };

static inline __attribute__((always_inline)) v128_t grad2(const enum saved_output_grad op, v128_t dy, v128_t y) {
  const v128_t one = wasm_f64x2_splat(1.0);
  return op == SIGMOID ? wasm_f64x2_mul(wasm_f64x2_mul(dy, y), wasm_f64x2_sub(one, y))
                       : wasm_f64x2_mul(dy, wasm_f64x2_sub(one, wasm_f64x2_mul(y, y)));
}

static inline __attribute__((always_inline)) void saved_output_backward(const enum saved_output_grad op, int n, const float *y,
                                                                        const float *dy, float *dx) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t yv = wasm_v128_load(y + i), dv = wasm_v128_load(dy + i);
    const v128_t lo = grad2(op, wasm_f64x2_promote_low_f32x4(dv), wasm_f64x2_promote_low_f32x4(yv));
    const v128_t hi = grad2(op, promote_high(dv), promote_high(yv));
    wasm_v128_store(dx + i, wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(lo), wasm_f32x4_demote_f64x2_zero(hi), 0, 1, 4, 5));
  }
  for (; i < n; i++) {
    const double yv = y[i], dv = dy[i];
    dx[i] = (float)(op == SIGMOID ? dv * yv * (1.0 - yv) : dv * (1.0 - yv * yv));
  }
}

__attribute__((export_name("sigmoid_backward"))) void sigmoid_backward(int n, const float *y, const float *dy, float *dx) {
  saved_output_backward(SIGMOID, n, y, dy, dx);
}

__attribute__((export_name("tanh_backward"))) void tanh_backward(int n, const float *y, const float *dy, float *dx) {
  saved_output_backward(TANH, n, y, dy, dx);
}
