/*
 * max_pool2d's forward over NCHW planes, PyTorch's CPU kernel (cpu_max_pool) line for line, as
 * lib/ops/max_pool2d_host.ts's JavaScript loop: each window, clipped to the input (padding is −∞,
 * so never a maximum), scanned row by row from −∞; an element replaces the maximum when it is
 * greater or NaN. It writes each window's maximum and the flat input index of that element (−1 for
 * a window with no input element), which backward adds dy to. The JavaScript loop spends most of
 * its time on the unpredictable comparison; here it is two selects.
 */

__attribute__((export_name("max_pool2d"))) void max_pool2d(int planes, int h, int w, int oh, int ow, int kh, int kw, int sh, int sw,
                                                             int dh, int dw, int top, int left, const float *restrict x,
                                                             float *restrict y, int *restrict argmax) {
  int o = 0;
  for (int plane = 0; plane < planes; plane++) {
    const int offset = plane * h * w;
    for (int i = 0; i < oh; i++) {
      int r0 = i * sh - top;
      const int r1 = r0 + (kh - 1) * dh + 1 < h ? r0 + (kh - 1) * dh + 1 : h;
      while (r0 < 0) r0 += dh;
      for (int j = 0; j < ow; j++, o++) {
        int c0 = j * sw - left;
        const int c1 = c0 + (kw - 1) * dw + 1 < w ? c0 + (kw - 1) * dw + 1 : w;
        while (c0 < 0) c0 += dw;
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
        y[o] = best;
        argmax[o] = index;
      }
    }
  }
}
