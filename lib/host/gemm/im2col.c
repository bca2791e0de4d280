/*
 * im2col and col2im for one NCHW image, in WebAssembly (built without libc by build.sh), for
 * conv.c: the same index arithmetic as lib/host/im2col/im2col_js.ts, which runs where this module
 * cannot. JavaScript loops over typed arrays copy about one float per nanosecond; here a stride-1
 * run is a vector copy, so the column matrix costs a few times less than in JavaScript.
 *
 * The column matrix is [C·KH·KW, OH·OW]: row (c, kh, kw), column (oh, ow) holds
 * x[c, oh·sh − pt + kh·dh, ow·sw − pl + kw·dw], zero where that is outside the image.
 */
#include <wasm_simd128.h>

/*
 * The run helpers below are explicit vector loops; clang's own vectorising and unrolling of them
 * (runtime overlap checks, long prologues) cost more than the copy on LeNet's 10-float runs, so
 * it is turned off there, and pointers are restrict (image, columns and gradients never overlap).
 */

/* The outputs [*lo, *hi) of an axis whose tap index o·stride + offset lies in [0, in_len). */
static void valid_range(int out_len, int in_len, int stride, int offset, int *lo, int *hi) {
  int l = 0;
  if (offset < 0) l = (-offset + stride - 1) / stride;
  if (l > out_len) l = out_len;
  int h = 0;
  if (in_len - 1 - offset >= 0) h = (in_len - 1 - offset) / stride + 1;
  if (h > out_len) h = out_len;
  if (h < l) h = l;
  *lo = l;
  *hi = h;
}

static void zero(float *restrict dst, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_f32x4_splat(0.0f));
#pragma clang loop vectorize(disable) unroll(disable)
  for (; i < n; i++) dst[i] = 0.0f;
}

static void copy(float *restrict dst, const float *restrict src, int n) {
  if (n >= 4) {
    int i = 0;
#pragma clang loop vectorize(disable) unroll(disable)
    for (; i + 4 < n; i += 4) wasm_v128_store(dst + i, wasm_v128_load(src + i));
    /* The last vector overlaps the previous one rather than finishing element by element. */
    wasm_v128_store(dst + n - 4, wasm_v128_load(src + n - 4));
  } else {
#pragma clang loop vectorize(disable) unroll(disable)
    for (int i = 0; i < n; i++) dst[i] = src[i];
  }
}

static void add(float *restrict dst, const float *restrict src, int n) {
  int i = 0;
#pragma clang loop vectorize(disable) unroll(disable)
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_f32x4_add(wasm_v128_load(dst + i), wasm_v128_load(src + i)));
#pragma clang loop vectorize(disable) unroll(disable)
  for (; i < n; i++) dst[i] += src[i];
}

/* cols = the column matrix of the image at x. */
void im2col(const float *x, float *cols, int channels, int height, int width, int kernel_h, int kernel_w, int out_h, int out_w,
            int stride_h, int stride_w, int pad_top, int pad_left, int dilation_h, int dilation_w) {
  const int plane = height * width;
  for (int c = 0; c < channels; c++) {
    const float *xc = x + c * plane;
    for (int kh = 0; kh < kernel_h; kh++) {
      const int row_offset = kh * dilation_h - pad_top;
      int oh_lo, oh_hi;
      valid_range(out_h, height, stride_h, row_offset, &oh_lo, &oh_hi);
      for (int kw = 0; kw < kernel_w; kw++) {
        const int col_offset = kw * dilation_w - pad_left;
        int ow_lo, ow_hi;
        valid_range(out_w, width, stride_w, col_offset, &ow_lo, &ow_hi);
        zero(cols, oh_lo * out_w);
        for (int oh = oh_lo; oh < oh_hi; oh++) {
          float *dst = cols + oh * out_w;
          const float *src = xc + (oh * stride_h + row_offset) * width + col_offset;
          zero(dst, ow_lo);
          if (stride_w == 1) {
            copy(dst + ow_lo, src + ow_lo, ow_hi - ow_lo);
          } else {
            for (int ow = ow_lo; ow < ow_hi; ow++) dst[ow] = src[ow * stride_w];
          }
          zero(dst + ow_hi, out_w - ow_hi);
        }
        zero(cols + oh_hi * out_w, (out_h - oh_hi) * out_w);
        cols += out_h * out_w;
      }
    }
  }
}

/* dx = col2im(dcols): dx is overwritten, each tap's gradient added onto the pixel it read. */
void col2im(const float *dcols, float *dx, int channels, int height, int width, int kernel_h, int kernel_w, int out_h, int out_w,
            int stride_h, int stride_w, int pad_top, int pad_left, int dilation_h, int dilation_w) {
  const int plane = height * width;
  zero(dx, channels * plane);
  for (int c = 0; c < channels; c++) {
    float *xc = dx + c * plane;
    for (int kh = 0; kh < kernel_h; kh++) {
      const int row_offset = kh * dilation_h - pad_top;
      int oh_lo, oh_hi;
      valid_range(out_h, height, stride_h, row_offset, &oh_lo, &oh_hi);
      for (int kw = 0; kw < kernel_w; kw++) {
        const int col_offset = kw * dilation_w - pad_left;
        int ow_lo, ow_hi;
        valid_range(out_w, width, stride_w, col_offset, &ow_lo, &ow_hi);
        for (int oh = oh_lo; oh < oh_hi; oh++) {
          const float *src = dcols + oh * out_w;
          float *dst = xc + (oh * stride_h + row_offset) * width + col_offset;
          if (stride_w == 1) {
            add(dst + ow_lo, src + ow_lo, ow_hi - ow_lo);
          } else {
            for (int ow = ow_lo; ow < ow_hi; ow++) dst[ow * stride_w] += src[ow];
          }
        }
        dcols += out_h * out_w;
      }
    }
  }
}
