/**
 * The column area: where one image's column matrix lives while the JavaScript engine of the host
 * conv (conv_host.ts) multiplies with it, and the two transforms in and out of it (im2col_js.ts;
 * the WebAssembly engine has its own, inside the sgemm module: lib/host/gemm/im2col.c).
 *
 * One area per conv call, reused image after image: im2col fills it for the dW product, then the
 * dX product overwrites it with the columns' gradients, which col2im reads.
 */
import type { ConvGeometry } from "../conv_geometry";

export interface ColumnArea {
  /**
   * Makes room for an image of `g` and its columns; returns the array holding the columns and
   * where in it they start, valid until the next prepare (the area may move when it grows).
   */
  prepare(g: ConvGeometry): { cols: Float32Array; at: number };
  /** The area = the column matrix of the image at x[xOffset, xOffset + C·H·W). */
  im2col(g: ConvGeometry, x: Float32Array, xOffset: number): void;
  /** dx[dxOffset, dxOffset + C·H·W) = col2im of the area: every tap's gradient added onto the pixel it read. */
  col2im(g: ConvGeometry, dx: Float32Array, dxOffset: number): void;
}
