/*
 * conv2d forward and backward for a run of NCHW images, whole inside this module: im2col
 * (im2col.c) into a column area, then sgemm (sgemm.c), image after image, per group. conv_module.ts
 * copies the images, the weight and dy in once per call and the results out once, so a LeNet conv
 * crosses between JavaScript and WebAssembly twice instead of a few hundred times, and no column
 * matrix is copied between modules or kept for backward (backward makes it again: cheaper, in
 * here, than copying it out and back in).
 *
 *   forward  y[n]   = W · cols[n] + b         W seen as [O, C/g·KH·KW], cols[n] [C·KH·KW, OH·OW]
 *   dW             += dy[n] · cols[n]ᵀ         (over the run's images; the caller zeroes dW first)
 *   dX[n]           = col2im(Wᵀ · dy[n])
 *   dB partial sums += Σ_{oh, ow} dy[n, o]     (float64, four per channel; the caller adds them up)
 *
 * A 1×1 kernel at stride 1 without padding needs no columns: the image is its own column matrix,
 * and Wᵀ · dy is dX. The same arithmetic as conv_host.ts's JavaScript loops.
 */

/* ConvGeometry's fields in conv_module.ts's order: the caller writes them as 16 int32s. */
struct conv_geometry {
  int batch, channels, height, width, out_channels, kernel_h, kernel_w, out_h, out_w;
  int stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups;
};

void sgemm(int m, int n, int k, float alpha, const float *a, int lda, int trans_a, const float *b, int ldb, int trans_b,
           float *c, int ldc, int accumulate, const float *bias);
void im2col(const float *x, float *cols, int channels, int height, int width, int kernel_h, int kernel_w, int out_h,
            int out_w, int stride_h, int stride_w, int pad_top, int pad_left, int dilation_h, int dilation_w);
void col2im(const float *dcols, float *dx, int channels, int height, int width, int kernel_h, int kernel_w, int out_h,
            int out_w, int stride_h, int stride_w, int pad_top, int pad_left, int dilation_h, int dilation_w);

static int cols_are_input(const struct conv_geometry *g) {
  return g->kernel_h == 1 && g->kernel_w == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_top == 0 &&
         g->pad_left == 0 && g->out_h == g->height && g->out_w == g->width;
}

static void to_columns(const struct conv_geometry *g, const float *image, float *cols) {
  im2col(image, cols, g->channels, g->height, g->width, g->kernel_h, g->kernel_w, g->out_h, g->out_w, g->stride_h,
         g->stride_w, g->pad_top, g->pad_left, g->dilation_h, g->dilation_w);
}

static void from_columns(const struct conv_geometry *g, const float *dcols, float *dimage) {
  col2im(dcols, dimage, g->channels, g->height, g->width, g->kernel_h, g->kernel_w, g->out_h, g->out_w, g->stride_h,
         g->stride_w, g->pad_top, g->pad_left, g->dilation_h, g->dilation_w);
}

/* y = conv2d(x, w) + bias for g->batch images; bias 0 for none; cols: one image's column area (unused for 1×1). */
__attribute__((export_name("conv2d_forward"))) void conv2d_forward(const struct conv_geometry *g, const float *x,
                                                                   const float *w, const float *bias, float *y,
                                                                   float *cols) {
  const int pixels = g->out_h * g->out_w;
  const int image = g->channels * g->height * g->width;
  const int out_per_group = g->out_channels / g->groups;
  const int cols_per_group = g->channels * g->kernel_h * g->kernel_w / g->groups;
  const int direct = cols_are_input(g);
  for (int n = 0; n < g->batch; n++) {
    const float *xn = x + n * image;
    const float *b = xn;
    if (!direct) {
      to_columns(g, xn, cols);
      b = cols;
    }
    float *yn = y + n * g->out_channels * pixels;
    /* The bias is per row of y[n] (an output channel), so it goes in first and the product adds to it. */
    if (bias) {
      for (int o = 0; o < g->out_channels; o++) {
        float *row = yn + o * pixels;
#pragma clang loop vectorize(enable)
        for (int p = 0; p < pixels; p++) row[p] = bias[o];
      }
    }
    for (int group = 0; group < g->groups; group++) {
      sgemm(out_per_group, pixels, cols_per_group, 1.0f, w + group * out_per_group * cols_per_group, cols_per_group, 0,
            b + group * cols_per_group * pixels, pixels, 0, yn + group * out_per_group * pixels, pixels, bias != 0, 0);
    }
  }
}

/*
 * For g->batch images: dx (0: not wanted) = the input's gradient; dw (0: not wanted) += the
 * weight's; bias_sums (0: not wanted) += four float64 partial sums per output channel of dy, in the
 * order conv_host.ts's JavaScript loop adds them. cols: one image's column area (unused for 1×1).
 */
__attribute__((export_name("conv2d_backward"))) void conv2d_backward(const struct conv_geometry *g, const float *x,
                                                                     const float *w, const float *dy, float *dx,
                                                                     float *dw, double *bias_sums, float *cols) {
  const int pixels = g->out_h * g->out_w;
  const int image = g->channels * g->height * g->width;
  const int out_per_group = g->out_channels / g->groups;
  const int cols_per_group = g->channels * g->kernel_h * g->kernel_w / g->groups;
  const int direct = cols_are_input(g);
  for (int n = 0; n < g->batch; n++) {
    const float *dyn = dy + n * g->out_channels * pixels;
    if (dw) {
      const float *b = x + n * image;
      if (!direct) {
        to_columns(g, b, cols);
        b = cols;
      }
      for (int group = 0; group < g->groups; group++) {
        sgemm(out_per_group, cols_per_group, pixels, 1.0f, dyn + group * out_per_group * pixels, pixels, 0,
              b + group * cols_per_group * pixels, pixels, 1, dw + group * out_per_group * cols_per_group,
              cols_per_group, 1, 0);
      }
    }
    if (dx) {
      /* With no columns, Wᵀ · dy is dX itself. */
      float *dcols = direct ? dx + n * image : cols;
      for (int group = 0; group < g->groups; group++) {
        sgemm(cols_per_group, pixels, out_per_group, 1.0f, w + group * out_per_group * cols_per_group, cols_per_group,
              1, dyn + group * out_per_group * pixels, pixels, 0, dcols + group * cols_per_group * pixels, pixels, 0, 0);
      }
      if (!direct) from_columns(g, cols, dx + n * image);
    }
    if (bias_sums) {
      for (int o = 0; o < g->out_channels; o++) {
        /* Four sums, so the adds do not wait on one another. */
        double *s = bias_sums + 4 * o;
        double s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
        const float *row = dyn + o * pixels;
        int p = 0;
        for (; p + 4 <= pixels; p += 4) {
          s0 += row[p];
          s1 += row[p + 1];
          s2 += row[p + 2];
          s3 += row[p + 3];
        }
        for (; p < pixels; p++) s0 += row[p];
        s[0] = s0, s[1] = s1, s[2] = s2, s[3] = s3;
      }
    }
  }
}
