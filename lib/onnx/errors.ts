/**
 * The two ways ONNX work fails, one class each, so callers can tell a model gradlab cannot write
 * (a forward it cannot trace, an op without a standard form, bad options) from a file it cannot
 * read (corrupt bytes, an unsupported op, an inconsistent graph). Every message names the thing
 * at fault: the op, the node, the value or the option.
 */

export class OnnxExportError extends Error {
  override name = "OnnxExportError";
}

export class OnnxImportError extends Error {
  override name = "OnnxImportError";
}
