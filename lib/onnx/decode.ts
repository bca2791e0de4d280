/**
 * Bytes to a ModelProto, or an OnnxImportError that says why not. protobufjs bounds every
 * length it reads by the buffer, so truncated or corrupt bytes fail inside decode (they never
 * read past the end or loop); what it throws, stack overflow from absurd nesting included, is
 * caught here and reported as one clear error.
 */
import { OnnxImportError } from "./errors";
import { int64ToNumber, onnx, protobuf, type OnnxTypes } from "./proto";

export function decodeModel(bytes: Uint8Array): OnnxTypes.ModelProto {
  if (!(bytes instanceof Uint8Array)) throw new OnnxImportError(`expected the model's bytes as a Uint8Array, got ${typeof bytes}`);
  if (bytes.length === 0) throw new OnnxImportError("the model is empty (0 bytes)");
  let model: OnnxTypes.ModelProto;
  try {
    model = onnx.ModelProto.decode(protobuf.Reader.create(bytes));
  } catch (error) {
    const why = error instanceof RangeError && /call stack/i.test(error.message) ? "messages nested absurdly deep" : error instanceof Error ? error.message : String(error);
    throw new OnnxImportError(`not a readable ONNX model: protobuf decoding failed (${why}); the file is truncated, corrupt or not ONNX`);
  }
  if (!model.graph) throw new OnnxImportError("not an ONNX model: it decodes, but has no graph (truncated, or not an ONNX file)");
  const ir = int64ToNumber(model.irVersion);
  if (ir === null || ir < 3) throw new OnnxImportError(`not a usable ONNX model: ir_version is ${ir ?? "out of range"}; gradlab reads IR 3 and later (opset imports began there)`);
  return model;
}
