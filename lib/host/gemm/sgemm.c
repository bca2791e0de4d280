/*
 * Single-threaded float32 GEMM for WebAssembly SIMD (128-bit; no relaxed SIMD, so no FMA: Node
 * 20's V8 does not enable it by default), built without libc by build.sh:
 *
 *   C = alpha·op(A)·op(B) [+ C if accumulate] [+ bias, a row vector added to every row]
 *
 * op(A) is m×k, op(B) is k×n, C is m×n; all row-major with explicit leading dimensions. op(X) is X
 * or its transpose: stored A is m×k, or k×m when trans_a. sgemm.ts copies the operands into this
 * module's memory and calls sgemm(); everything here is in-module addresses.
 *
 * The layout is the classic Goto/BLIS one: op(A) and op(B) are packed into contiguous panels
 * (which also takes care of the transposes, once, in O(mk + kn) work), then a register-blocked
 * micro-kernel computes MR×NR blocks of C from a panel of each, MR·NR/4 v128 accumulators in
 * registers, one broadcast element of A times two vectors of B per step. Panels are zero-padded
 * to whole MR/NR multiples, so the micro-kernel never branches on ragged edges; only its store does.
 */
#include <wasm_simd128.h>

/*
 * The register block. 4×8 keeps 8 accumulators, 2 vectors of B and 1 broadcast of A in 11 of the
 * 15 xmm registers V8's TurboFan allocates on x64 (xmm15 is its scratch). 6×8 would need all 15:
 * measured here (Node 20, AVX2 Xeon), it ran about 30% slower than 4×8. Without FMA every flop
 * pair is a mul and an add whichever the shape, so a bigger block buys only fewer loads.
 */
#define MR 4
#define NR 8

/*
 * Cache blocks. The inner loops reuse one KC×NR panel of B (8 KiB: L1) against every MR×KC panel
 * of an MC×KC block of A (128 KiB: L2); a KC×NC block of B (1 MiB) stays in L2/L3 across the MC
 * blocks. A deeper KC amortises the micro-kernel's loads and stores of C over more steps. (KC 128
 * or 512, MC 64 or 256, NC 512 all measured within noise of these at 256³ and 1024³.)
 */
#define KC 256
#define MC 128
#define NC 1024

static float packed_a[MC * KC] __attribute__((aligned(16)));
static float packed_b[KC * NC] __attribute__((aligned(16)));

/* The 4×4 transpose of rows r0..r3, in place. */
#define TRANSPOSE4(r0, r1, r2, r3)                                                                 \
  do {                                                                                             \
    const v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5);                                      \
    const v128_t t1 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7);                                      \
    const v128_t t2 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5);                                      \
    const v128_t t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);                                      \
    r0 = wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5);                                                   \
    r1 = wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7);                                                   \
    r2 = wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5);                                                   \
    r3 = wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7);                                                   \
  } while (0)

/*
 * Packs rows [0, mc) × columns [0, kc) of op(A), starting at a (already offset to the block's
 * corner), into MR-row panels: panel i holds op(A)[i·MR + r][p] at [p·MR + r], rows past mc zero.
 */
static void pack_a(int mc, int kc, const float *a, int lda, int trans_a, float *dst) {
  for (int i = 0; i < mc; i += MR, dst += MR * kc) {
    const int rows = mc - i < MR ? mc - i : MR;
    if (rows == MR && trans_a) {
      /* Stored A is k×m: the panel's MR elements of each step are contiguous. */
      const float *src = a + i;
      for (int p = 0; p < kc; p++) wasm_v128_store(dst + p * MR, wasm_v128_load(src + p * lda));
    } else if (rows == MR) {
      /* Stored A is m×k: 4×4 blocks transposed. */
      const float *s0 = a + i * lda, *s1 = s0 + lda, *s2 = s1 + lda, *s3 = s2 + lda;
      int p = 0;
      for (; p + 4 <= kc; p += 4) {
        v128_t r0 = wasm_v128_load(s0 + p), r1 = wasm_v128_load(s1 + p);
        v128_t r2 = wasm_v128_load(s2 + p), r3 = wasm_v128_load(s3 + p);
        TRANSPOSE4(r0, r1, r2, r3);
        wasm_v128_store(dst + p * MR, r0);
        wasm_v128_store(dst + p * MR + 4, r1);
        wasm_v128_store(dst + p * MR + 8, r2);
        wasm_v128_store(dst + p * MR + 12, r3);
      }
      for (; p < kc; p++) {
        dst[p * MR + 0] = s0[p];
        dst[p * MR + 1] = s1[p];
        dst[p * MR + 2] = s2[p];
        dst[p * MR + 3] = s3[p];
      }
    } else {
      for (int p = 0; p < kc; p++) {
        for (int r = 0; r < MR; r++) {
          dst[p * MR + r] = r < rows ? (trans_a ? a[p * lda + i + r] : a[(i + r) * lda + p]) : 0.0f;
        }
      }
    }
  }
}

/*
 * Packs rows [0, kc) × columns [0, nc) of op(B), starting at b (the block's corner), into NR-column
 * panels: panel j holds op(B)[p][j·NR + c] at [p·NR + c], columns past nc zero.
 */
static void pack_b(int kc, int nc, const float *b, int ldb, int trans_b, float *dst) {
  for (int j = 0; j < nc; j += NR, dst += NR * kc) {
    const int cols = nc - j < NR ? nc - j : NR;
    if (cols == NR && !trans_b) {
      /* Stored B is k×n: the panel's NR elements of each step are contiguous. */
      const float *src = b + j;
      for (int p = 0; p < kc; p++) {
        wasm_v128_store(dst + p * NR, wasm_v128_load(src + p * ldb));
        wasm_v128_store(dst + p * NR + 4, wasm_v128_load(src + p * ldb + 4));
      }
    } else if (cols == NR) {
      /* Stored B is n×k: two 4×4 blocks transposed per four steps. */
      const float *s0 = b + j * ldb;
      int p = 0;
      for (; p + 4 <= kc; p += 4) {
        for (int half = 0; half < 2; half++) {
          const float *s = s0 + half * 4 * ldb + p;
          v128_t r0 = wasm_v128_load(s), r1 = wasm_v128_load(s + ldb);
          v128_t r2 = wasm_v128_load(s + 2 * ldb), r3 = wasm_v128_load(s + 3 * ldb);
          TRANSPOSE4(r0, r1, r2, r3);
          float *d = dst + p * NR + half * 4;
          wasm_v128_store(d, r0);
          wasm_v128_store(d + NR, r1);
          wasm_v128_store(d + 2 * NR, r2);
          wasm_v128_store(d + 3 * NR, r3);
        }
      }
      for (; p < kc; p++) {
        for (int c = 0; c < NR; c++) dst[p * NR + c] = s0[c * ldb + p];
      }
    } else {
      for (int p = 0; p < kc; p++) {
        for (int c = 0; c < NR; c++) {
          dst[p * NR + c] = c < cols ? (trans_b ? b[(j + c) * ldb + p] : b[p * ldb + j + c]) : 0.0f;
        }
      }
    }
  }
}

/*
 * One MR×NR block of C from a packed panel of A (MR×kc) and of B (kc×NR): C = alpha·AB, plus C
 * when load_c, plus bias[0..NR) along the block's columns when bias is not null. Element (r, j) of
 * the block is c[r·rs + j·cs]; only the rows × cols corner is written.
 */
static void micro_kernel(int kc, const float *a, const float *b, float *c, int rs, int cs, int rows, int cols,
                         float alpha, int load_c, const float *bias) {
  v128_t c00 = wasm_f32x4_splat(0.0f), c01 = c00, c10 = c00, c11 = c00;
  v128_t c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int p = 0; p < kc; p++, a += MR, b += NR) {
    const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    const v128_t a0 = wasm_v128_load32_splat(a);
    c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(a0, b0));
    c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(a0, b1));
    const v128_t a1 = wasm_v128_load32_splat(a + 1);
    c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(a1, b0));
    c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(a1, b1));
    const v128_t a2 = wasm_v128_load32_splat(a + 2);
    c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(a2, b0));
    c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(a2, b1));
    const v128_t a3 = wasm_v128_load32_splat(a + 3);
    c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(a3, b0));
    c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(a3, b1));
  }
  const v128_t va = wasm_f32x4_splat(alpha);
  v128_t acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
  if (rows == MR && cols == NR && cs == 1) {
    const v128_t bias0 = bias ? wasm_v128_load(bias) : wasm_f32x4_splat(0.0f);
    const v128_t bias1 = bias ? wasm_v128_load(bias + 4) : wasm_f32x4_splat(0.0f);
    for (int r = 0; r < MR; r++, c += rs) {
      v128_t v0 = wasm_f32x4_add(wasm_f32x4_mul(acc[r][0], va), bias0);
      v128_t v1 = wasm_f32x4_add(wasm_f32x4_mul(acc[r][1], va), bias1);
      if (load_c) {
        v0 = wasm_f32x4_add(v0, wasm_v128_load(c));
        v1 = wasm_f32x4_add(v1, wasm_v128_load(c + 4));
      }
      wasm_v128_store(c, v0);
      wasm_v128_store(c + 4, v1);
    }
    return;
  }
  /* A ragged edge or a transposed C: the whole block through a small buffer, the valid corner from there. */
  float tile[MR * NR] __attribute__((aligned(16)));
  for (int r = 0; r < MR; r++) {
    wasm_v128_store(tile + r * NR, wasm_f32x4_mul(acc[r][0], va));
    wasm_v128_store(tile + r * NR + 4, wasm_f32x4_mul(acc[r][1], va));
  }
  for (int r = 0; r < rows; r++, c += rs) {
    for (int j = 0; j < cols; j++) {
      float v = tile[r * NR + j];
      if (bias) v += bias[j];
      if (load_c) v += c[j * cs];
      c[j * cs] = v;
    }
  }
}

/*
 * C = alpha·op(A)·op(B) [+ C when accumulate] [+ bias along rows], k > 0, element (i, j) of C at
 * c[i·rs + j·cs]: the blocked loops around the micro-kernel.
 */
static void gemm_blocked(int m, int n, int k, float alpha, const float *a, int lda, int trans_a, const float *b,
                         int ldb, int trans_b, float *c, int rs, int cs, int accumulate, const float *bias) {
  for (int jc = 0; jc < n; jc += NC) {
    const int nc = n - jc < NC ? n - jc : NC;
    for (int pc = 0; pc < k; pc += KC) {
      const int kc = k - pc < KC ? k - pc : KC;
      pack_b(kc, nc, trans_b ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, trans_b, packed_b);
      /* The first K block sets C (from C itself when accumulating) and adds the bias; later ones add. */
      const int load_c = pc > 0 || accumulate;
      const float *block_bias = pc == 0 && bias ? bias + jc : 0;
      for (int ic = 0; ic < m; ic += MC) {
        const int mc = m - ic < MC ? m - ic : MC;
        pack_a(mc, kc, trans_a ? a + pc * lda + ic : a + ic * lda + pc, lda, trans_a, packed_a);
        for (int jr = 0; jr < nc; jr += NR) {
          const int cols = nc - jr < NR ? nc - jr : NR;
          for (int ir = 0; ir < mc; ir += MR) {
            const int rows = mc - ir < MR ? mc - ir : MR;
            micro_kernel(kc, packed_a + ir * kc, packed_b + jr * kc, c + (ic + ir) * rs + (jc + jr) * cs, rs, cs, rows,
                         cols, alpha, load_c, block_bias ? block_bias + jr : 0);
          }
        }
      }
    }
  }
}

/* C = C (when accumulate) or 0, plus the bias along every row (when given). */
static void init_c(int m, int n, float *c, int ldc, int accumulate, const float *bias) {
  for (int i = 0; i < m; i++, c += ldc) {
    for (int j = 0; j < n; j++) c[j] = (accumulate ? c[j] : 0.0f) + (bias ? bias[j] : 0.0f);
  }
}

/*
 * C = alpha·op(A)·op(B) [+ C when accumulate] [+ bias, n elements added to every row; 0 for none].
 * Stored A is m×k (k×m when trans_a) with leading dimension lda; B k×n (n×k when trans_b); C m×n.
 */
__attribute__((export_name("sgemm"))) void sgemm(int m, int n, int k, float alpha, const float *a, int lda,
                                                 int trans_a, const float *b, int ldb, int trans_b, float *c, int ldc,
                                                 int accumulate, const float *bias) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    init_c(m, n, c, ldc, accumulate, bias);
    return;
  }
  if (n < NR && m > n) {
    /*
     * A narrow C (a matrix-vector product, a layer with one or two outputs) would fill 1 or 2 of
     * the register block's 8 columns. Cᵀ = op(B)ᵀ·op(A)ᵀ has the long side across instead; it is
     * written through C's transposed strides. The bias runs along Cᵀ's columns, so it goes in first.
     */
    if (bias) {
      init_c(m, n, c, ldc, accumulate, bias);
      accumulate = 1;
    }
    gemm_blocked(n, m, k, alpha, b, ldb, !trans_b, a, lda, !trans_a, c, 1, ldc, accumulate, 0);
    return;
  }
  gemm_blocked(m, n, k, alpha, a, lda, trans_a, b, ldb, trans_b, c, ldc, 1, accumulate, bias);
}
