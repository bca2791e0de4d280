/**
 * conv2d forward and backward on host storage (cpu, wasm), in NCHW as the op's tensors are, as
 * im2col and matrix products, one image at a time so the column matrix is one image's:
 *
 *   forward  y[n]  = W · cols[n] + b          W seen as [O, C/g·KH·KW], cols[n] [C·KH·KW, OH·OW]
 *   dW            = Σ_n dy[n] · cols[n]ᵀ      (accumulated over the batch)
 *   dX[n]         = col2im(Wᵀ · dy[n])
 *   dB            = Σ_{n, oh, ow} dy
 *
 * per group g on row blocks of W, cols and dy (offsets, no copies). A 1×1 kernel at stride 1
 * without padding needs no columns: the image is its own column matrix, and Wᵀ · dy is dX.
 * Versus tfjs's kernels this saves the NCHW ⇄ NHWC transposes (tfjs-backend-wasm's conv is NHWC
 * only), the dilated-kernel copy and per-group splits and concats, and replaces tfjs-wasm's naive
 * Conv2DBackpropInput loop.
 *
 * Two engines (conv_engine.ts). The WebAssembly one runs all of it inside the sgemm module
 * (gemm/conv.c via gemm/conv_module.ts) and keeps no columns: backward makes them again there.
 * The JavaScript one is the loops below (sgemm_js.ts, im2col/im2col_js.ts); its forward copies each
 * image's columns into a tensor it returns for backward's dW (in JavaScript a copy is several times
 * cheaper than im2col again), as PyTorch's former THNN conv kept its `finput`, up to
 * SAVED_COLUMNS_MAX_FLOATS; a larger conv's backward recomputes them image by image instead of
 * holding KH·KW times the input.
 */
import type * as tf from "@tensorflow/tfjs";
import { colCols, colRows, colsAreInput, type ConvGeometry } from "./conv_geometry";
import { convEngine } from "./conv_engine";
import { convBackwardInModule, convForwardInModule } from "./gemm/conv_module";
import { tensorFromInfo, type HostBackend } from "./host_tensors";
import { jsColumns as columns } from "./im2col/im2col_js";
import { sgemmJs as sgemm } from "./sgemm_js";

/** The per-group sizes of the products: W's rows and columns of one group. */
function groupSizes(g: ConvGeometry): { outPerGroup: number; colsPerGroup: number; pixels: number } {
  return { outPerGroup: g.outChannels / g.groups, colsPerGroup: colRows(g) / g.groups, pixels: colCols(g) };
}

/** The most column-matrix floats the JavaScript engine's forward keeps for backward (64 MiB); beyond, backward recomputes them. */
export const SAVED_COLUMNS_MAX_FLOATS = 2 ** 24;
let savedColumnsMax = SAVED_COLUMNS_MAX_FLOATS;

/** Sets how many column floats forward may keep (0: backward always recomputes); returns the previous limit. For tests. */
export function setSavedColumnsMax(floats: number): number {
  const previous = savedColumnsMax;
  savedColumnsMax = floats;
  return previous;
}

/**
 * y = conv2d(x, weight) + bias, [N, O, OH, OW], and the batch's column matrices [N, C·KH·KW,
 * OH·OW] for backward (null on the WebAssembly engine, for a 1×1 conv, whose columns are x, or
 * beyond SAVED_COLUMNS_MAX_FLOATS).
 */
export function convForwardHost(host: HostBackend, g: ConvGeometry, x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null): { y: tf.Tensor; cols: tf.Tensor | null } {
  if (convEngine() === "wasm") {
    const yInfo = host.alloc([g.batch, g.outChannels, g.outH, g.outW]);
    convForwardInModule(g, host.f32(x), host.f32(weight), bias === null ? null : host.f32(bias), host.f32(yInfo));
    return { y: tensorFromInfo(yInfo), cols: null };
  }
  const direct = colsAreInput(g);
  const imageCols = colRows(g) * colCols(g);
  const yInfo = host.alloc([g.batch, g.outChannels, g.outH, g.outW]);
  const savedInfo = !direct && g.batch * imageCols <= savedColumnsMax ? host.alloc([g.batch, colRows(g), colCols(g)]) : null;
  const xs = host.f32(x);
  const w = host.f32(weight);
  const b = bias === null ? null : host.f32(bias);
  const y = host.f32(yInfo);
  const saved = savedInfo === null ? null : host.f32(savedInfo);
  const { outPerGroup, colsPerGroup, pixels } = groupSizes(g);
  const imageSize = g.channels * g.height * g.width;
  const area = direct ? null : columns.prepare(g);
  const cols = area === null ? xs : area.cols;
  for (let n = 0; n < g.batch; n++) {
    if (area !== null) {
      columns.im2col(g, xs, n * imageSize);
      saved?.set(area.cols.subarray(area.at, area.at + imageCols), n * imageCols);
    }
    const colsAt = area === null ? n * imageSize : area.at;
    const yAt = n * g.outChannels * pixels;
    // The bias is per row of y[n] (an output channel), so it goes in first and the product adds to it.
    if (b !== null) for (let o = 0; o < g.outChannels; o++) y.fill(b[o]!, yAt + o * pixels, yAt + (o + 1) * pixels);
    for (let group = 0; group < g.groups; group++) {
      sgemm({
        m: outPerGroup, n: pixels, k: colsPerGroup,
        a: w, aOffset: group * outPerGroup * colsPerGroup,
        b: cols, bOffset: colsAt + group * colsPerGroup * pixels,
        c: y, cOffset: yAt + group * outPerGroup * pixels,
        accumulate: b !== null,
      });
    }
  }
  return { y: tensorFromInfo(yInfo), cols: savedInfo === null ? null : tensorFromInfo(savedInfo) };
}

/** [dX, dW, dB] for dy [N, O, OH, OW], each null where `needs` says it is not wanted; `cols` is what forward returned. */
export function convBackwardHost(
  host: HostBackend, g: ConvGeometry, dy: tf.Tensor, x: tf.Tensor, weight: tf.Tensor, cols: tf.Tensor | null, [needX, needW, needB]: readonly boolean[],
): [tf.Tensor | null, tf.Tensor | null, tf.Tensor | null] {
  // Every output allocated before any view is taken: an allocation on the wasm heap may move it.
  const dxInfo = needX ? host.alloc(x.shape) : null;
  const dwInfo = needW ? host.alloc(weight.shape) : null;
  const dbInfo = needB ? host.alloc([g.outChannels]) : null;
  const d = host.f32(dy);
  const f32 = (info: tf.TensorInfo | null) => (info === null ? null : host.f32(info));
  if (convEngine() === "wasm") {
    convBackwardInModule(g, d, host.f32(x), host.f32(weight), f32(dxInfo), f32(dwInfo), f32(dbInfo));
  } else {
    if (dxInfo !== null || dwInfo !== null) productGradients(g, d, host.f32(x), f32(cols), host.f32(weight), f32(dxInfo), f32(dwInfo));
    if (dbInfo !== null) biasGradient(g, d, host.f32(dbInfo));
  }
  return [dxInfo, dwInfo, dbInfo].map((info) => (info === null ? null : tensorFromInfo(info))) as [tf.Tensor | null, tf.Tensor | null, tf.Tensor | null];
}

/**
 * dX and dW image by image, so each image's dy is used for both while in cache. An image's
 * columns for dW: saved by forward, or the image itself (1×1), or im2col again into the area;
 * then dX's product overwrites the area with the columns' gradients.
 */
function productGradients(g: ConvGeometry, dy: Float32Array, xs: Float32Array, saved: Float32Array | null, w: Float32Array,
  dx: Float32Array | null, dw: Float32Array | null): void {
  const { outPerGroup, colsPerGroup, pixels } = groupSizes(g);
  const imageSize = g.channels * g.height * g.width;
  const imageCols = colRows(g) * pixels;
  const area = colsAreInput(g) ? null : columns.prepare(g);
  // dW adds image after image, so it starts at zero (wasm's new storage is uninitialised).
  if (dw !== null) dw.fill(0);
  for (let n = 0; n < g.batch; n++) {
    const dyAt = n * g.outChannels * pixels;
    if (dw !== null) {
      if (area !== null && saved === null) columns.im2col(g, xs, n * imageSize);
      const [cols, colsAt] = area === null ? [xs, n * imageSize] : saved !== null ? [saved, n * imageCols] : [area.cols, area.at];
      for (let group = 0; group < g.groups; group++) {
        sgemm({
          m: outPerGroup, n: colsPerGroup, k: pixels,
          a: dy, aOffset: dyAt + group * outPerGroup * pixels,
          b: cols, bOffset: colsAt + group * colsPerGroup * pixels, transB: true,
          c: dw, cOffset: group * outPerGroup * colsPerGroup,
          accumulate: true,
        });
      }
    }
    if (dx !== null) {
      // With no columns, Wᵀ · dy is dX itself.
      const [dcols, dcolsAt] = area === null ? [dx, n * imageSize] : [area.cols, area.at];
      for (let group = 0; group < g.groups; group++) {
        sgemm({
          m: colsPerGroup, n: pixels, k: outPerGroup,
          a: w, aOffset: group * outPerGroup * colsPerGroup, transA: true,
          b: dy, bOffset: dyAt + group * outPerGroup * pixels,
          c: dcols, cOffset: dcolsAt + group * colsPerGroup * pixels,
        });
      }
      if (area !== null) columns.col2im(g, dx, n * imageSize);
    }
  }
}

/** dB[o] = Σ over images and pixels of dy[n, o], summed in float64. */
function biasGradient(g: ConvGeometry, dy: Float32Array, db: Float32Array): void {
  const pixels = colCols(g);
  for (let o = 0; o < g.outChannels; o++) {
    // Four sums, so the adds do not wait on one another (one chain runs at a quarter of the speed).
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let n = 0; n < g.batch; n++) {
      const at = (n * g.outChannels + o) * pixels;
      const end = at + pixels;
      let p = at;
      for (; p + 4 <= end; p += 4) {
        s0 += dy[p]!;
        s1 += dy[p + 1]!;
        s2 += dy[p + 2]!;
        s3 += dy[p + 3]!;
      }
      for (; p < end; p++) s0 += dy[p]!;
    }
    db[o] = s0 + s1 + (s2 + s3);
  }
}
