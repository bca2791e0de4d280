/**
 * The sizes of one conv2d call as the host loops (conv_host.ts, gemm/conv.c) read them: NCHW input,
 * OIHW weight, and the column matrix that turns the conv into products. One image's columns are
 * a [C·KH·KW, OH·OW] matrix (row (c, kh, kw), column (oh, ow)): the rows of group g are the block
 * [g·colRows/groups, (g+1)·colRows/groups), so a group is an offset, never a copy.
 */
import { outputLength, type Pads, type Pair } from "../ops/window";

export interface ConvGeometry {
  batch: number;
  channels: number;
  height: number;
  width: number;
  outChannels: number;
  kernelH: number;
  kernelW: number;
  outH: number;
  outW: number;
  strideH: number;
  strideW: number;
  /** Top and left padding: where the window of output (0, 0) starts, negated. Bottom and right need no field (outH, outW stop the windows). */
  padTop: number;
  padLeft: number;
  dilationH: number;
  dilationW: number;
  groups: number;
}

export function convGeometry(
  xShape: readonly number[],
  wShape: readonly number[],
  [strideH, strideW]: Pair,
  pads: Pads,
  [dilationH, dilationW]: Pair,
  groups: number,
): ConvGeometry {
  const [batch, channels, height, width] = xShape as [number, number, number, number];
  const [outChannels, , kernelH, kernelW] = wShape as [number, number, number, number];
  return {
    batch, channels, height, width, outChannels, kernelH, kernelW,
    outH: outputLength(height, pads[0], pads[2], kernelH, strideH, dilationH),
    outW: outputLength(width, pads[1], pads[3], kernelW, strideW, dilationW),
    strideH, strideW, padTop: pads[0], padLeft: pads[1], dilationH, dilationW, groups,
  };
}

/** Rows of one image's column matrix: C·KH·KW. */
export const colRows = (g: ConvGeometry): number => g.channels * g.kernelH * g.kernelW;

/** Columns of it: one per output pixel. */
export const colCols = (g: ConvGeometry): number => g.outH * g.outW;

/** A 1×1 kernel at stride 1 without padding: the column matrix is the image itself, [C, H·W]. */
export const colsAreInput = (g: ConvGeometry): boolean =>
  g.kernelH === 1 && g.kernelW === 1 && g.strideH === 1 && g.strideW === 1 && g.padTop === 0 && g.padLeft === 0 && g.outH === g.height && g.outW === g.width;
