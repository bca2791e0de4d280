/**
 * conv2d's forward and backward on the sgemm module (conv.c: im2col and products, image after
 * image, inside the module). The images, the weight and dy are copied into the module's memory
 * once per call and the results out once: on LeNet's convs that is 2 crossings per conv instead of
 * a few hundred (one per image, product and column matrix), and about a third of the time the
 * per-image calls took. Operands are Float32Arrays (views of a tfjs backend's storage); the
 * geometry is conv_geometry.ts's.
 *
 * A batch whose operands would take over RUN_FLOATS goes through in runs of images, so the module's
 * memory stays bounded by the largest run rather than the whole batch.
 */
import { colCols, colRows, colsAreInput, type ConvGeometry } from "../conv_geometry";
import { align4, reserve, sgemmModule, type SgemmModule } from "./sgemm_module";

/** The most floats of per-image operands (images, outputs, gradients) one module call takes: 64 MiB. */
export const RUN_FLOATS = 2 ** 24;
let runFloats = RUN_FLOATS;

/** Sets the per-call operand limit (small values force runs of one image); returns the previous one. For tests. */
export function setRunFloats(floats: number): number {
  const previous = runFloats;
  runFloats = floats;
  return previous;
}

/**
 * The most taps (C/groups·KH·KW) conv.c's direct kernels take (forward and dW without a column
 * matrix, at stride 1 along rows); more, and the products' cache blocking pays for the columns.
 */
export const DIRECT_MAX_TAPS = 512;
let directMaxTaps = DIRECT_MAX_TAPS;

/** Sets DIRECT_MAX_TAPS (0: always im2col and products); returns the previous value. For tests and benchmarks. */
export function setDirectMaxTaps(taps: number): number {
  const previous = directMaxTaps;
  directMaxTaps = taps;
  return previous;
}

/** conv.c's struct conv_geometry: 17 int32s, in this order. */
const GEOMETRY_INTS = 17;

function writeGeometry(module: SgemmModule, at: number, g: ConvGeometry, images: number): void {
  new Int32Array(module.heap.buffer, at * 4, GEOMETRY_INTS).set([
    images, g.channels, g.height, g.width, g.outChannels, g.kernelH, g.kernelW, g.outH, g.outW,
    g.strideH, g.strideW, g.padTop, g.padLeft, g.dilationH, g.dilationW, g.groups, directMaxTaps,
  ]);
}

/** Floats of the work area conv.c needs for `g`: one image's column area, then the direct kernels' scratch. */
function workFloats(module: SgemmModule, geometryAt: number, g: ConvGeometry): number {
  reserve(module, geometryAt + GEOMETRY_INTS);
  writeGeometry(module, geometryAt, g, g.batch);
  return align4(columnFloats(g)) + module.conv2dScratchFloats(geometryAt * 4);
}

/** Images per module call: as many as fit in runFloats, at least one. */
function imagesPerRun(floatsPerImage: number, batch: number): number {
  return Math.max(1, Math.min(batch, Math.floor(runFloats / Math.max(1, floatsPerImage))));
}

/** Floats of one image's column area in the module (none for a 1×1 conv, whose columns are the image). */
function columnFloats(g: ConvGeometry): number {
  return colsAreInput(g) ? 0 : colRows(g) * colCols(g);
}

/** y = conv2d(x, w) + bias, all NCHW / OIHW as in `g`; y is overwritten. */
export function convForwardInModule(g: ConvGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array): void {
  const module = sgemmModule();
  const image = g.channels * g.height * g.width;
  const out = g.outChannels * colCols(g);
  const run = imagesPerRun(image + out, g.batch);
  const geometryAt = module.base;
  const wAt = align4(geometryAt + GEOMETRY_INTS);
  const biasAt = align4(wAt + w.length);
  const colsAt = align4(biasAt + (bias?.length ?? 0));
  const xAt = align4(colsAt + workFloats(module, geometryAt, g));
  const yAt = align4(xAt + run * image);
  reserve(module, yAt + run * out);
  const heap = module.heap;
  heap.set(w, wAt);
  if (bias !== null) heap.set(bias, biasAt);
  for (let n = 0; n < g.batch; n += run) {
    const images = Math.min(run, g.batch - n);
    writeGeometry(module, geometryAt, g, images);
    heap.set(x.subarray(n * image, (n + images) * image), xAt);
    module.conv2dForward(geometryAt * 4, xAt * 4, wAt * 4, bias === null ? 0 : biasAt * 4, yAt * 4, colsAt * 4);
    y.set(heap.subarray(yAt, yAt + images * out), n * out);
  }
}

/**
 * The gradients of x, w and the bias for dy, each written into its array where one is given (null:
 * not wanted). dB is summed in float64 (four partial sums per channel, added as conv_host.ts's
 * JavaScript loop adds them), so both engines give the same bias gradient.
 */
export function convBackwardInModule(g: ConvGeometry, dy: Float32Array, x: Float32Array, w: Float32Array,
  dx: Float32Array | null, dw: Float32Array | null, db: Float32Array | null): void {
  const module = sgemmModule();
  const image = g.channels * g.height * g.width;
  const out = g.outChannels * colCols(g);
  const [xPerImage, dxPerImage] = [dw === null ? 0 : image, dx === null ? 0 : image];
  const run = imagesPerRun(xPerImage + out + dxPerImage, g.batch);
  const geometryAt = module.base;
  const wAt = align4(geometryAt + GEOMETRY_INTS);
  const dwAt = align4(wAt + (dx === null ? 0 : w.length));
  const sumsAt = align4(dwAt + (dw?.length ?? 0));
  const colsAt = align4(sumsAt + (db === null ? 0 : 8 * g.outChannels));
  const xAt = align4(colsAt + (dx === null && dw === null ? 0 : workFloats(module, geometryAt, g)));
  const dyAt = align4(xAt + run * xPerImage);
  const dxAt = align4(dyAt + run * out);
  reserve(module, dxAt + run * dxPerImage);
  const heap = module.heap;
  if (dx !== null) heap.set(w, wAt);
  // dW and the bias sums add up run after run from zero.
  if (dw !== null) heap.fill(0, dwAt, dwAt + dw.length);
  if (db !== null) heap.fill(0, sumsAt, sumsAt + 8 * g.outChannels);
  for (let n = 0; n < g.batch; n += run) {
    const images = Math.min(run, g.batch - n);
    writeGeometry(module, geometryAt, g, images);
    if (dw !== null) heap.set(x.subarray(n * image, (n + images) * image), xAt);
    heap.set(dy.subarray(n * out, (n + images) * out), dyAt);
    module.conv2dBackward(geometryAt * 4, xAt * 4, wAt * 4, dyAt * 4, dx === null ? 0 : dxAt * 4, dw === null ? 0 : dwAt * 4,
      db === null ? 0 : sumsAt * 4, colsAt * 4);
    dx?.set(heap.subarray(dxAt, dxAt + images * image), n * image);
  }
  dw?.set(heap.subarray(dwAt, dwAt + dw.length));
  if (db !== null) {
    const sums = new Float64Array(heap.buffer, sumsAt * 4, 4 * g.outChannels);
    for (let o = 0; o < g.outChannels; o++) db[o] = sums[4 * o]! + sums[4 * o + 1]! + (sums[4 * o + 2]! + sums[4 * o + 3]!);
  }
}
