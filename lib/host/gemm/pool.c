/*
 * max_pool2d's forward over NCHW planes, PyTorch's CPU kernel (cpu_max_pool) line for line, as
 * lib/ops/max_pool2d_host.ts's JavaScript loop: each window, clipped to the input (padding is −∞,
 * so never a maximum), scanned row by row from −∞; an element replaces the maximum when it is
 * greater or NaN. It writes each window's maximum and the flat input index of that element (−1 for
 * a window with no input element), which backward adds dy to. The JavaScript loop spends most of
 * its time on the unpredictable comparison; here it is two selects.
 *
 * Windows two columns wide at column stride 2 (LeNet's and most CNNs' 2×2, stride 2 pooling) take
 * a SIMD path, four windows at a time: the same taps in the same order with the same rule, so the
 * same maxima and indices bit for bit; windows the input clips (padding, ceil_mode) take the loop.
 */
#include <wasm_simd128.h>

/* One window, the generic loop: rows r0..r1 and columns c0..c1 (clipped), at the dilations. */
static inline void window(const float *restrict x, int offset, int w, int r0, int r1, int c0, int c1, int dh, int dw, float *restrict y,
                          int *restrict argmax) {
  float best = -__builtin_inff();
  int index = r0 < r1 && c0 < c1 ? offset + r0 * w + c0 : -1;
  for (int r = r0; r < r1; r += dh) {
    for (int col = c0, k = offset + r * w + c0; col < c1; col += dw, k += dw) {
      const float v = x[k];
      /* Selects, not a branch: on real data which tap wins is unpredictable. */
      const int take = (v > best) | (v != v);
      best = take ? v : best;
      index = take ? k : index;
    }
  }
  *y = best;
  *argmax = index;
}

/* The rule on four windows: where v is greater or NaN, it and its index replace the maximum. */
static inline void take4(v128_t v, v128_t at, v128_t *best, v128_t *index) {
  const v128_t take = wasm_v128_or(wasm_f32x4_gt(v, *best), wasm_f32x4_ne(v, v));
  *best = wasm_v128_bitselect(v, *best, take);
  *index = wasm_v128_bitselect(at, *index, take);
}

/*
 * Four windows side by side, columns (2j, 2j+1) … (2j+6, 2j+7), over `rows` input rows `step`
 * floats apart from flat index k (the first row's column 2j). The first tap needs no comparison:
 * from −∞ it is taken unless it is −∞ itself, and then the maximum is −∞ and the index its own anyway.
 */
static inline __attribute__((always_inline)) void quad(const float *restrict x, int k, int rows, int step, float *restrict y,
                                                        int *restrict argmax) {
  const v128_t even = wasm_i32x4_make(0, 2, 4, 6), odd = wasm_i32x4_make(1, 3, 5, 7);
  v128_t a = wasm_v128_load(x + k), b = wasm_v128_load(x + k + 4);
  v128_t best = wasm_i32x4_shuffle(a, b, 0, 2, 4, 6);
  v128_t index = wasm_i32x4_add(wasm_i32x4_splat(k), even);
  take4(wasm_i32x4_shuffle(a, b, 1, 3, 5, 7), wasm_i32x4_add(wasm_i32x4_splat(k), odd), &best, &index);
  for (int r = 1; r < rows; r++) {
    k += step;
    a = wasm_v128_load(x + k);
    b = wasm_v128_load(x + k + 4);
    const v128_t at = wasm_i32x4_splat(k);
    take4(wasm_i32x4_shuffle(a, b, 0, 2, 4, 6), wasm_i32x4_add(at, even), &best, &index);
    take4(wasm_i32x4_shuffle(a, b, 1, 3, 5, 7), wasm_i32x4_add(at, odd), &best, &index);
  }
  wasm_v128_store(y, best);
  wasm_v128_store(argmax, index);
}

/*
 * n windows side by side, columns (2j, 2j+1) for j < n, over `rows` rows from flat index `first`
 * (the first row's column 0). Four at a time; the last four overlap the previous ones when n is
 * not a multiple of 4 (each window's result depends on x alone, so those are written twice, the
 * same), which beats a scalar tail on LeNet's rows of 14 and 5 windows.
 */
static inline __attribute__((always_inline)) void pairs(const float *restrict x, int first, int rows, int step, int n, float *restrict y,
                                                         int *restrict argmax) {
  if (n >= 4) {
    for (int j = 0;; j += 4) {
      if (j > n - 4) j = n - 4;
      quad(x, first + 2 * j, rows, step, y + j, argmax + j);
      if (j == n - 4) return;
    }
  }
  for (int j = 0; j < n; j++) {
    int k = first + 2 * j;
    float best = x[k];
    int index = k;
    for (int r = 0; r < rows; r++, k += step) {
      for (int t = r == 0; t < 2; t++) {
        const float v = x[k + t];
        const int take = (v > best) | (v != v);
        best = take ? v : best;
        index = take ? k + t : index;
      }
    }
    y[j] = best;
    argmax[j] = index;
  }
}

__attribute__((export_name("max_pool2d"))) void max_pool2d(int planes, int h, int w, int oh, int ow, int kh, int kw, int sh, int sw,
                                                             int dh, int dw, int top, int left, const float *restrict x,
                                                             float *restrict y, int *restrict argmax) {
  /* Column pairs: windows j < w/2 lie inside the input's columns; the rows may be anything. */
  const int by_pairs = kw == 2 && sw == 2 && dw == 1 && left == 0;
  const int full = by_pairs ? (ow < w / 2 ? ow : w / 2) : 0;
  int o = 0;
  for (int plane = 0; plane < planes; plane++) {
    const int offset = plane * h * w;
    for (int i = 0; i < oh; i++) {
      int r0 = i * sh - top;
      const int r1 = r0 + (kh - 1) * dh + 1 < h ? r0 + (kh - 1) * dh + 1 : h;
      while (r0 < 0) r0 += dh;
      int j = 0;
      if (full > 0 && r0 < r1) {
        /* No division without dilation: it would cost about as much as a row of LeNet's windows. */
        const int rows = dh == 1 ? r1 - r0 : (r1 - r0 + dh - 1) / dh;
        /* Two rows (2×2 windows) as a constant, so the loop over rows unrolls. */
        if (rows == 2) pairs(x, offset + r0 * w, 2, dh * w, full, y + o, argmax + o);
        else pairs(x, offset + r0 * w, rows, dh * w, full, y + o, argmax + o);
        j = full;
        o += full;
      }
      for (; j < ow; j++, o++) {
        int c0 = j * sw - left;
        const int c1 = c0 + (kw - 1) * dw + 1 < w ? c0 + (kw - 1) * dw + 1 : w;
        while (c0 < 0) c0 += dw;
        window(x, offset, w, r0, r1, c0, c1, dh, dw, y + o, argmax + o);
      }
    }
  }
}

/*
 * max_pool2d's backward: dx = 0, then each output's dy added at its window's argmax (−1: none), in
 * output order, as lib/ops/max_pool2d_host.ts's JavaScript loop (the same float32 sums where
 * windows overlap). n_in floats of dx, n_out of dy and argmax.
 */
__attribute__((export_name("max_pool2d_backward"))) void max_pool2d_backward(int n_in, int n_out, const float *restrict dy,
                                                                               const int *restrict argmax, float *restrict dx) {
  int i = 0;
  for (; i + 4 <= n_in; i += 4) wasm_v128_store(dx + i, wasm_f32x4_splat(0));
  for (; i < n_in; i++) dx[i] = 0;
  for (int o = 0; o < n_out; o++) {
    const int index = argmax[o];
    if (index >= 0) dx[index] += dy[o];
  }
}
