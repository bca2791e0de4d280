/**
 * im2col and col2im for one NCHW image as JavaScript loops: the JavaScript engine's column area
 * (columns.ts; lib/host/gemm/im2col.c is the same arithmetic in WebAssembly). conv_geometry.ts
 * describes the column matrix. im2col copies every window tap into a row of the column matrix, so that the conv is W · cols; col2im
 * adds a column matrix's gradient back onto the image pixels each tap came from (overlapping
 * windows add up), so that dX is col2im(Wᵀ · dy).
 *
 * Stride, padding and dilation are in the index arithmetic: a tap (kh, kw) reads input row
 * oh·strideH − padTop + kh·dilationH. For each tap the outputs whose window reads inside the
 * image form one range per axis, found up front, so the inner loops have no bounds checks: the
 * padding columns are zeros in im2col and are skipped by col2im.
 */
import { colCols, colRows, type ConvGeometry } from "../conv_geometry";
import type { ColumnArea } from "./columns";

/** The outputs o in [lo, hi) of an axis of `outLen` whose tap reads index o·stride + offset inside [0, inLen). */
function validRange(outLen: number, inLen: number, stride: number, offset: number): [number, number] {
  const lo = Math.min(outLen, Math.max(0, Math.ceil(-offset / stride)));
  const hi = Math.max(lo, Math.min(outLen, Math.floor((inLen - 1 - offset) / stride) + 1));
  return [lo, hi];
}

/** cols[0, C·KH·KW·OH·OW) = the column matrix of the image starting at x[xOffset]. */
export function im2col(g: ConvGeometry, x: Float32Array, xOffset: number, cols: Float32Array): void {
  const { channels, height: H, width: W, kernelH, kernelW, outH, outW, strideH, strideW } = g;
  const plane = H * W;
  let dst = 0;
  for (let c = 0; c < channels; c++) {
    const xc = xOffset + c * plane;
    for (let kh = 0; kh < kernelH; kh++) {
      const rowOffset = kh * g.dilationH - g.padTop;
      const [ohLo, ohHi] = validRange(outH, H, strideH, rowOffset);
      for (let kw = 0; kw < kernelW; kw++) {
        const colOffset = kw * g.dilationW - g.padLeft;
        const [owLo, owHi] = validRange(outW, W, strideW, colOffset);
        for (let oh = 0; oh < outH; oh++, dst += outW) {
          if (oh < ohLo || oh >= ohHi) {
            for (let ow = 0; ow < outW; ow++) cols[dst + ow] = 0;
            continue;
          }
          for (let ow = 0; ow < owLo; ow++) cols[dst + ow] = 0;
          let src = xc + (oh * strideH + rowOffset) * W + owLo * strideW + colOffset;
          if (strideW === 1) for (let ow = owLo; ow < owHi; ow++) cols[dst + ow] = x[src++]!;
          else for (let ow = owLo; ow < owHi; ow++, src += strideW) cols[dst + ow] = x[src]!;
          for (let ow = owHi; ow < outW; ow++) cols[dst + ow] = 0;
        }
      }
    }
  }
}

/** dx[dxOffset, dxOffset + C·H·W) = col2im(dcols): every tap's gradient added onto the pixel it read. */
export function col2im(g: ConvGeometry, dcols: Float32Array, dx: Float32Array, dxOffset: number): void {
  const { channels, height: H, width: W, kernelH, kernelW, outH, outW, strideH, strideW } = g;
  const plane = H * W;
  dx.fill(0, dxOffset, dxOffset + channels * plane);
  let src = 0;
  for (let c = 0; c < channels; c++) {
    const xc = dxOffset + c * plane;
    for (let kh = 0; kh < kernelH; kh++) {
      const rowOffset = kh * g.dilationH - g.padTop;
      const [ohLo, ohHi] = validRange(outH, H, strideH, rowOffset);
      for (let kw = 0; kw < kernelW; kw++) {
        const colOffset = kw * g.dilationW - g.padLeft;
        const [owLo, owHi] = validRange(outW, W, strideW, colOffset);
        for (let oh = ohLo; oh < ohHi; oh++) {
          const from = src + oh * outW;
          let to = xc + (oh * strideH + rowOffset) * W + owLo * strideW + colOffset;
          if (strideW === 1) for (let ow = owLo; ow < owHi; ow++, to++) dx[to] = dx[to]! + dcols[from + ow]!;
          else for (let ow = owLo; ow < owHi; ow++, to += strideW) dx[to] = dx[to]! + dcols[from + ow]!;
        }
        src += outH * outW;
      }
    }
  }
}

let scratch = new Float32Array(0);

/** The column area as a JavaScript array, grown to the largest conv seen. */
export const jsColumns: ColumnArea = {
  prepare(g) {
    const size = colRows(g) * colCols(g);
    if (scratch.length < size) scratch = new Float32Array(size);
    return { cols: scratch, at: 0 };
  },
  im2col: (g, x, xOffset) => im2col(g, x, xOffset, scratch),
  col2im: (g, dx, dxOffset) => col2im(g, scratch, dx, dxOffset),
};
