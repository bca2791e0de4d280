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

#include <wasm_simd128.h>

/*
 * ConvGeometry's fields in conv_module.ts's order, then how many taps (C/g·KH·KW) the direct
 * kernels take at most (0: always im2col and products): the caller writes them as 17 int32s.
 */
struct conv_geometry {
  int batch, channels, height, width, out_channels, kernel_h, kernel_w, out_h, out_w;
  int stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups;
  int direct_max_taps;
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

/*
 * The direct kernels: where a row of output pixels reads a row of input at stride 1 (stride_w 1,
 * any stride_h, padding and dilation), no column matrix is needed. The image is copied once into a
 * zero-padded buffer (so no tap reads outside it), and each tap (c, kh, kw) is an offset into it.
 * Each kernel's register block has the same arithmetic per step as sgemm.c's micro-kernel (two
 * vectors, four broadcasts, eight multiply-adds), but no im2col writes the columns and no packing
 * reads them back (on LeNet that was a third of the conv's time):
 *   forward  4 output channels × two chunks of four output pixels (or 3 × 3), one tap a step;
 *   dW       4 output channels × two taps (or 3 × 3), four pixels a step, reduced across lanes per image;
 * dX stays Wᵀ·dy and col2im. Fusing col2im into that product (adding each block of columns onto
 * the padded image where its taps read) measured 1.5× slower on LeNet's shapes: the short sum over
 * output channels, and unaligned adds overlapping the previous block's; and as a "full"
 * convolution of dy it would take twice the multiplies.
 */

struct direct_layout {
  int taps;   /* C/g·KH·KW */
  int bo;     /* output channels per register block: 4, or 3 where that wastes fewer */
  int blocks; /* output-channel blocks of bo per group */
  int hp, wp; /* the padded image's rows and row length */
  int ow4;    /* out_w rounded up to 4: the pixels forward's chunks span */
};

static int direct_applies(const struct conv_geometry *g) {
  const int taps = g->channels / g->groups * g->kernel_h * g->kernel_w;
  return g->stride_w == 1 && !cols_are_input(g) && taps <= g->direct_max_taps;
}

/*
 * dW's direct kernel takes rows of whole chunks only: a ragged row's last chunk has lanes to mask,
 * and with rows of 10 (LeNet's second conv) that made it slower than im2col and the products.
 */
static int direct_weight_applies(const struct conv_geometry *g) {
  return direct_applies(g) && g->out_w % 4 == 0;
}

static struct direct_layout direct_layout(const struct conv_geometry *g) {
  struct direct_layout d;
  d.taps = g->channels / g->groups * g->kernel_h * g->kernel_w;
  /* Blocks of 3 (with 3 chunks or taps: 9 accumulators) fit 6 output channels, which blocks of 4 fill to 8. */
  const int og = g->out_channels / g->groups;
  d.bo = (3 - og % 3) % 3 < (4 - og % 4) % 4 ? 3 : 4;
  d.blocks = (og + d.bo - 1) / d.bo;
  d.hp = (g->out_h - 1) * g->stride_h + (g->kernel_h - 1) * g->dilation_h + 1;
  d.ow4 = (g->out_w + 3) & ~3;
  /* Forward's chunks read four pixels, up to ow4 when out_w < 4. */
  d.wp = d.ow4 + (g->kernel_w - 1) * g->dilation_w;
  return d;
}

/* The direct kernels' scratch: floats (ints for the offsets) of each part, each rounded up to a whole vector. */
struct direct_sizes {
  int weights; /* forward's packed weights */
  int image;   /* the padded image */
  int offsets; /* the taps' offsets */
  int dy;      /* dy, padded to whole blocks of output channels */
};

static int round4(int n) {
  return (n + 3) & ~3;
}

static struct direct_sizes direct_sizes(const struct conv_geometry *g, const struct direct_layout *d) {
  struct direct_sizes z;
  z.weights = round4(g->groups * d->blocks * d->taps * d->bo);
  z.image = round4(g->channels * d->hp * d->wp);
  z.offsets = round4(d->taps);
  z.dy = round4(g->groups * d->blocks * d->bo * g->out_h * d->ow4);
  return z;
}

static int direct_scratch(const struct conv_geometry *g, const struct direct_layout *d) {
  const struct direct_sizes z = direct_sizes(g, d);
  return z.weights + z.image + z.offsets + z.dy;
}

/* xp = x with the padding made explicit: row r of channel c is input row r − pad_top, zeros outside. */
static void pad_image(const struct conv_geometry *g, const struct direct_layout *d, const float *restrict x,
                      float *restrict xp) {
  for (int c = 0; c < g->channels; c++) {
    for (int r = 0; r < d->hp; r++) {
      float *dst = xp + (c * d->hp + r) * d->wp;
      const int sr = r - g->pad_top;
      int j = 0;
      if (sr >= 0 && sr < g->height) {
        const float *src = x + (c * g->height + sr) * g->width - g->pad_left;
        const int lo = g->pad_left < d->wp ? g->pad_left : d->wp;
        const int end = g->pad_left + g->width < d->wp ? g->pad_left + g->width : d->wp;
        for (; j < lo; j++) dst[j] = 0.0f;
        for (; j < end; j++) dst[j] = src[j];
      }
      for (; j < d->wp; j++) dst[j] = 0.0f;
    }
  }
}

/* off[t] = where tap t = (c, kh, kw) of a group reads, relative to its output pixel's row and column. */
static void tap_offsets(const struct conv_geometry *g, const struct direct_layout *d, int *off) {
  int t = 0;
  for (int c = 0; c < g->channels / g->groups; c++)
    for (int kh = 0; kh < g->kernel_h; kh++)
      for (int kw = 0; kw < g->kernel_w; kw++) off[t++] = (c * d->hp + kh * g->dilation_h) * d->wp + kw * g->dilation_w;
}

/* wpk[group][block][t][r] = w[o = group·O/g + block·bo + r][t], zero past the group's last channel. */
static void pack_weights(const struct conv_geometry *g, const struct direct_layout *d, const float *restrict w,
                         float *restrict wpk) {
  const int og = g->out_channels / g->groups;
  for (int grp = 0; grp < g->groups; grp++)
    for (int b = 0; b < d->blocks; b++)
      for (int t = 0; t < d->taps; t++)
        for (int r = 0; r < d->bo; r++) {
          const int o = b * d->bo + r;
          *wpk++ = o < og ? w[(grp * og + o) * d->taps + t] : 0.0f;
        }
}

/*
 * Forward's pixels come in chunks of four of one output row: ceil(out_w / 4) per row, the last
 * moved back to end at out_w when the row is longer than 4 (recomputing a pixel or three: the same
 * sums, stored again). The register block takes two or three chunks, consecutive in the image (the
 * next may start the next row), so a row of 10 is 12 pixels' work rather than 16 with 8-pixel blocks.
 */
static void chunk_at(const struct conv_geometry *g, int chunks_per_row, int chunk, int *oh, int *ow) {
  *oh = chunk / chunks_per_row;
  *ow = chunk % chunks_per_row * 4;
  if (*ow + 4 > g->out_w && g->out_w > 4) *ow = g->out_w - 4;
}

/* Stores a chunk of one output channel's row: four pixels, or the row's first out_w when it has fewer. */
static void store_chunk(const struct conv_geometry *g, float *dst, v128_t v) {
  if (g->out_w >= 4) {
    wasm_v128_store(dst, v);
    return;
  }
  float tile[4] __attribute__((aligned(16)));
  wasm_v128_store(tile, v);
  for (int j = 0; j < g->out_w; j++) dst[j] = tile[j];
}

/*
 * One image: yn = conv2d(xp) + bias, from the padded image, packed weights and tap offsets, in
 * blocks of `bo` output channels × `nx` chunks (4 × 2 or 3 × 3: 8 or 9 accumulators, constants in
 * each caller, so that clang keeps the block in registers).
 */
static inline __attribute__((always_inline)) void direct_forward_blocks(const int bo, const int nx,
                                                                        const struct conv_geometry *g,
                                                                        const struct direct_layout *d, const float *xp,
                                                                        const float *wpk, const int *off,
                                                                        const float *bias, float *yn) {
  const int og = g->out_channels / g->groups, cg = g->channels / g->groups;
  const int pixels = g->out_h * g->out_w;
  const int chunks_per_row = (g->out_w + 3) / 4;
  const int chunks = g->out_h * chunks_per_row;
  for (int grp = 0; grp < g->groups; grp++) {
    const float *xg = xp + grp * cg * d->hp * d->wp;
    for (int b = 0; b < d->blocks; b++) {
      const float *wb = wpk + (grp * d->blocks + b) * d->taps * bo;
      const int o0 = grp * og + b * bo;
      const int rows = og - b * bo < bo ? og - b * bo : bo;
      for (int chunk = 0; chunk < chunks; chunk += nx) {
        /* A last block short of chunks computes its last chunk again in the missing places. */
        int oh[3], ow[3];
        const float *x[3];
        for (int j = 0; j < nx; j++) {
          chunk_at(g, chunks_per_row, chunk + j < chunks ? chunk + j : chunks - 1, &oh[j], &ow[j]);
          x[j] = xg + oh[j] * g->stride_h * d->wp + ow[j];
        }
        v128_t acc[4][3];
        for (int r = 0; r < bo; r++)
          for (int j = 0; j < nx; j++) acc[r][j] = wasm_f32x4_splat(0.0f);
        const float *a = wb;
        for (int t = 0; t < d->taps; t++, a += bo) {
          v128_t v[3];
          for (int j = 0; j < nx; j++) v[j] = wasm_v128_load(x[j] + off[t]);
          for (int r = 0; r < bo; r++) {
            const v128_t w = wasm_v128_load32_splat(a + r);
            for (int j = 0; j < nx; j++) acc[r][j] = wasm_f32x4_add(acc[r][j], wasm_f32x4_mul(w, v[j]));
          }
        }
        for (int r = 0; r < rows; r++) {
          const int o = o0 + r;
          const v128_t vb = wasm_f32x4_splat(bias ? bias[o] : 0.0f);
          /* bias + product, as the products path adds the product onto the bias. */
          float *plane = yn + o * pixels;
          for (int j = 0; j < nx; j++) store_chunk(g, plane + oh[j] * g->out_w + ow[j], wasm_f32x4_add(vb, acc[r][j]));
        }
      }
    }
  }
}

static void direct_forward(const struct conv_geometry *g, const struct direct_layout *d, const float *xp, const float *wpk,
                           const int *off, const float *bias, float *yn) {
  if (d->bo == 4)
    direct_forward_blocks(4, 2, g, d, xp, wpk, off, bias, yn);
  else
    direct_forward_blocks(3, 3, g, d, xp, wpk, off, bias, yn);
}

/* dyp[group][block·bo + r][oh][ow] = dy of that channel, zeros past the group's channels (a block's missing rows). */
static void pad_dy(const struct conv_geometry *g, const struct direct_layout *d, const float *restrict dyn,
                   float *restrict dyp) {
  const int og = g->out_channels / g->groups;
  for (int grp = 0; grp < g->groups; grp++)
    for (int o = 0; o < d->blocks * d->bo; o++)
      for (int oh = 0; oh < g->out_h; oh++) {
        float *dst = dyp + ((grp * d->blocks * d->bo + o) * g->out_h + oh) * d->ow4;
        const float *src = dyn + ((grp * og + o) * g->out_h + oh) * g->out_w;
        int j = 0;
        if (o < og)
          for (; j < g->out_w; j++) dst[j] = src[j];
        for (; j < d->ow4; j++) dst[j] = 0.0f;
      }
}

static float lane_sum(v128_t v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) +
         (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

/*
 * One image: dw += dy · (the image's taps)ᵀ, from the padded image and padded dy, in blocks of
 * `bo` output channels × `nt` taps (4 × 2 or 3 × 3), four pixels a step; out_w a multiple of 4
 * (direct_weight_applies).
 */
static inline __attribute__((always_inline)) void direct_weight_grad_blocks(const int bo, const int nt,
                                                                            const struct conv_geometry *g,
                                                                            const struct direct_layout *d,
                                                                            const float *xp, const float *dyp,
                                                                            const int *off, float *dw) {
  const int og = g->out_channels / g->groups, cg = g->channels / g->groups;
  const int plane = g->out_h * d->ow4;
  for (int grp = 0; grp < g->groups; grp++) {
    const float *xg = xp + grp * cg * d->hp * d->wp;
    for (int b = 0; b < d->blocks; b++) {
      const float *db = dyp + (grp * d->blocks + b) * bo * plane;
      const int o0 = grp * og + b * bo;
      const int rows = og - b * bo < bo ? og - b * bo : bo;
      for (int t = 0; t < d->taps; t += nt) {
        /* A last block short of taps repeats its last tap, whose sums are then not added twice. */
        int tap[3];
        for (int j = 0; j < nt; j++) tap[j] = t + j < d->taps ? t + j : d->taps - 1;
        v128_t acc[4][3];
        for (int r = 0; r < bo; r++)
          for (int j = 0; j < nt; j++) acc[r][j] = wasm_f32x4_splat(0.0f);
        for (int oh = 0; oh < g->out_h; oh++) {
          const float *x[3];
          for (int j = 0; j < nt; j++) x[j] = xg + oh * g->stride_h * d->wp + off[tap[j]];
          const float *y = db + oh * d->ow4;
          for (int ow = 0; ow < d->ow4; ow += 4) {
            v128_t v[3];
            for (int j = 0; j < nt; j++) v[j] = wasm_v128_load(x[j] + ow);
            for (int r = 0; r < bo; r++) {
              const v128_t dv = wasm_v128_load(y + r * plane + ow);
              for (int j = 0; j < nt; j++) acc[r][j] = wasm_f32x4_add(acc[r][j], wasm_f32x4_mul(dv, v[j]));
            }
          }
        }
        for (int r = 0; r < rows; r++) {
          float *row = dw + (o0 + r) * d->taps;
          for (int j = 0; j < nt; j++)
            if (t + j < d->taps) row[t + j] += lane_sum(acc[r][j]);
        }
      }
    }
  }
}

static void direct_weight_grad(const struct conv_geometry *g, const struct direct_layout *d, const float *xp,
                               const float *dyp, const int *off, float *dw) {
  if (d->bo == 4)
    direct_weight_grad_blocks(4, 2, g, d, xp, dyp, off, dw);
  else
    direct_weight_grad_blocks(3, 3, g, d, xp, dyp, off, dw);
}

/* Scratch floats conv2d_forward and conv2d_backward need beyond the column area, for geometry g. */
__attribute__((export_name("conv2d_scratch_floats"))) int conv2d_scratch_floats(const struct conv_geometry *g) {
  if (!direct_applies(g)) return 0;
  const struct direct_layout d = direct_layout(g);
  return direct_scratch(g, &d);
}

/* The scratch's parts, in direct_sizes's order. */
struct direct_parts {
  float *weights, *image;
  int *offsets;
  float *dy;
};

static struct direct_parts direct_parts(const struct conv_geometry *g, const struct direct_layout *d, float *scratch) {
  const struct direct_sizes z = direct_sizes(g, d);
  struct direct_parts p;
  p.weights = scratch;
  p.image = p.weights + z.weights;
  p.offsets = (int *)(p.image + z.image);
  p.dy = (float *)p.offsets + z.offsets;
  return p;
}

/*
 * y = conv2d(x, w) + bias for g->batch images; bias 0 for none; cols: one image's column area
 * (unused for 1×1), or for the direct kernels conv2d_scratch_floats(g) floats.
 */
__attribute__((export_name("conv2d_forward"))) void conv2d_forward(const struct conv_geometry *g, const float *x,
                                                                   const float *w, const float *bias, float *y,
                                                                   float *cols) {
  if (direct_applies(g)) {
    const struct direct_layout d = direct_layout(g);
    const struct direct_parts p = direct_parts(g, &d, cols);
    pack_weights(g, &d, w, p.weights);
    tap_offsets(g, &d, p.offsets);
    const int image = g->channels * g->height * g->width;
    for (int n = 0; n < g->batch; n++) {
      pad_image(g, &d, x + n * image, p.image);
      direct_forward(g, &d, p.image, p.weights, p.offsets, bias, y + n * g->out_channels * g->out_h * g->out_w);
    }
    return;
  }
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
 * order conv_host.ts's JavaScript loop adds them. cols: one image's column area (unused for 1×1),
 * followed, for the direct kernels, by conv2d_scratch_floats(g) floats.
 */
__attribute__((export_name("conv2d_backward"))) void conv2d_backward(const struct conv_geometry *g, const float *x,
                                                                     const float *w, const float *dy, float *dx,
                                                                     float *dw, double *bias_sums, float *cols) {
  const int pixels = g->out_h * g->out_w;
  const int image = g->channels * g->height * g->width;
  const int out_per_group = g->out_channels / g->groups;
  const int cols_per_group = g->channels * g->kernel_h * g->kernel_w / g->groups;
  const int direct = cols_are_input(g);
  const int weight_direct = dw && direct_weight_applies(g);
  struct direct_layout d;
  struct direct_parts parts;
  if (weight_direct) {
    d = direct_layout(g);
    parts = direct_parts(g, &d, cols + round4(g->channels * g->kernel_h * g->kernel_w * pixels));
    tap_offsets(g, &d, parts.offsets);
  }
  for (int n = 0; n < g->batch; n++) {
    const float *dyn = dy + n * g->out_channels * pixels;
    if (weight_direct) {
      pad_dy(g, &d, dyn, parts.dy);
      pad_image(g, &d, x + n * image, parts.image);
      direct_weight_grad(g, &d, parts.image, parts.dy, parts.offsets, dw);
    } else if (dw) {
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
