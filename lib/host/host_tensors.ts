/**
 * Direct access to the storage of tensors on the backends that keep it in this process's memory:
 * "cpu" (a typed array per tensor) and "wasm" (a slice of the wasm module's heap). gradlab's fused
 * host kernels (optimizer steps, linear layers, losses) read and write that storage in place with
 * plain loops instead of dispatching a dozen tfjs kernels, each of which costs a few µs of
 * bookkeeping — more than the arithmetic on the small tensors of a small model.
 *
 * A view of wasm storage is only valid until the next allocation on the wasm heap (memory growth
 * replaces the buffer): allocate every output first, then take the views, and drop them before
 * calling anything that may allocate.
 */
import * as tf from "@tensorflow/tfjs";

export type HostBackendName = "cpu" | "wasm";

/** What gradlab uses of tfjs-backend-cpu's MathBackendCPU. */
interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array | Int32Array): tf.TensorInfo;
  refCount(dataId: object): number;
}

/** What gradlab uses of tfjs-backend-wasm's BackendWasm. */
interface WasmBackend {
  incRef(dataId: object): void;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
  dataIdNextNumber: number;
  wasm: { tfjs: { registerTensor(id: number, size: number, memoryOffset: number): void; disposeData(id: number): void } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  refCount(dataId: object): number;
}

/** A backend whose tensors live in host memory, with the operations the fused kernels need. */
export interface HostBackend {
  readonly name: HostBackendName;
  /** The float32 storage of a tensor on this backend, as a view (writes change the tensor). */
  f32(t: tf.TensorInfo): Float32Array;
  /** The int32 storage of a tensor on this backend, as a view. */
  i32(t: tf.TensorInfo): Int32Array;
  /** A new float32 tensor's storage (uninitialised on wasm: write every element). */
  alloc(shape: readonly number[]): tf.TensorInfo;
  /** How many tensors share this storage (a variable and a tensor it was made from, a clone). */
  refCount(t: tf.TensorInfo): number;
  /**
   * Declares that a tensor's storage was written in place. tfjs-backend-wasm caches XNNPACK
   * operators with their weights packed, keyed by the weight tensor's id, assuming tensors never
   * change: after an in-place write the tensor gets a new id there (and the cache entry goes, as
   * when a tensor is disposed), so the next matMul or conv2d packs the new values. No-op on cpu.
   */
  written(t: tf.TensorInfo): void;
}

const cache = new WeakMap<object, HostBackend>();
/** Whether ops take their host loops: true, false, or "any size" (on wasm past each op's size limit too). */
export type HostKernels = boolean | "any size";
let setting: HostKernels = true;

/**
 * Turns the fused host kernels on or off; returns the previous setting. Off, every op takes its
 * tfjs-kernel path on cpu and wasm too: the tests run both paths on the same backend and compare
 * them, since the tfjs path is the one webgpu and tfjs-node run. "any size" lifts the wasm size
 * limits, for test/bench/host_crossover.ts to measure where they belong.
 */
export function setHostKernels(on: HostKernels): HostKernels {
  const previous = setting;
  setting = on;
  return previous;
}

/**
 * The current backend as a host backend, or null where tensors live elsewhere (webgpu, webgl,
 * tfjs-node's native tensors) or the host kernels are off: callers then take their generic
 * tfjs-kernel path.
 */
export function hostBackend(): HostBackend | null {
  if (setting === false) return null;
  const name = tf.getBackend();
  if (name !== "cpu" && name !== "wasm") return null;
  const backend = tf.backend();
  // Without the internals written() renews ids with, an in-place write would leave XNNPACK's
  // packed copy of a weight stale: such a tfjs-backend-wasm gets the tfjs-kernel path throughout.
  if (name === "wasm" && !renewsIds(backend as unknown as Partial<WasmBackend>)) return null;
  return hostOf(backend, name);
}

/** Whether a wasm backend has what written() and the host views use (tfjs-backend-wasm 4.x's internals). */
function renewsIds(backend: Partial<WasmBackend>): boolean {
  return (
    typeof backend.dataIdNextNumber === "number" &&
    typeof backend.dataIdMap?.get === "function" &&
    typeof backend.wasm?.tfjs?.disposeData === "function" &&
    typeof backend.wasm?.tfjs?.registerTensor === "function" &&
    typeof backend.typedArrayFromHeap === "function"
  );
}

/** Whether gradlab's host loops are on (setHostKernels) and the current backend is cpu or wasm. */
export function hostKernelsActive(): boolean {
  return hostBackend() !== null;
}

/** The host view of a given backend instance (a kernel's `backend` argument). */
export function hostOf(backend: object, name: HostBackendName): HostBackend {
  let host = cache.get(backend);
  if (host === undefined) {
    host = name === "cpu" ? cpuHost(backend as CpuBackend) : wasmHost(backend as WasmBackend);
    cache.set(backend, host);
  }
  return host;
}

/**
 * The host backend for an op on `size` elements, or null where the op's tfjs kernels are the
 * faster choice: on cpu always (tfjs-backend-cpu's kernels are JS loops too, with more overhead per
 * element than one fused loop), on wasm up to the op's `wasmLimit` elements. The wasm module's
 * kernels are several times faster per element than a JS loop (Math.exp alone costs ~12 ns), so
 * past a size, measured per op, the few µs each kernel costs in dispatch no longer pay for it.
 */
export function hostBackendFor(size: number, wasmLimit: number): HostBackend | null {
  const host = hostBackend();
  return host !== null && (host.name === "cpu" || size <= wasmLimit || setting === "any size") ? host : null;
}

function cpuHost(backend: CpuBackend): HostBackend {
  const entry = (t: tf.TensorInfo, dtype: "float32" | "int32") => {
    const e = backend.data.get(t.dataId);
    if (e === undefined || t.dtype !== dtype || !ArrayBuffer.isView(e.values)) throw new TypeError(`gradlab host kernels: expected ${dtype} storage, got ${t.dtype}`);
    return e as { values: ArrayLike<number> };
  };
  // tfjs-backend-cpu's Cast from int32 or bool to float32 keeps the source's Int32Array or
  // Uint8Array as the new tensor's storage (4.22): it is replaced, once, by the same numbers in the
  // dtype's own array, which the backend's kernels read as well and the host loops can write.
  return {
    name: "cpu",
    f32(t) {
      const e = entry(t, "float32");
      if (!(e.values instanceof Float32Array)) e.values = Float32Array.from(e.values);
      return e.values as Float32Array;
    },
    i32(t) {
      const e = entry(t, "int32");
      if (!(e.values instanceof Int32Array)) e.values = Int32Array.from(e.values);
      return e.values as Int32Array;
    },
    alloc(shape) {
      return backend.makeTensorInfo([...shape], "float32", new Float32Array(sizeOf(shape)));
    },
    refCount: (t) => backend.refCount(t.dataId),
    written() {},
  };
}

function wasmHost(backend: WasmBackend): HostBackend {
  shareIdentityStorage();
  return {
    name: "wasm",
    f32(t) {
      const v = backend.typedArrayFromHeap(t);
      if (!(v instanceof Float32Array)) throw new TypeError(`gradlab host kernels: expected float32 storage, got ${t.dtype}`);
      return v;
    },
    i32(t) {
      const v = backend.typedArrayFromHeap(t);
      if (!(v instanceof Int32Array)) throw new TypeError(`gradlab host kernels: expected int32 storage, got ${t.dtype}`);
      return v;
    },
    alloc: (shape) => backend.makeOutput([...shape], "float32"),
    refCount: (t) => backend.refCount(t.dataId),
    written(t) {
      const data = backend.dataIdMap.get(t.dataId);
      if (data === undefined) throw new Error("gradlab host kernels: written() on a tensor the wasm backend does not hold");
      // dispose_data on the C++ side drops the id's cached operators (it frees no memory: the JS side does that).
      backend.wasm.tfjs.disposeData(data.id);
      data.id = backend.dataIdNextNumber++;
      backend.wasm.tfjs.registerTensor(data.id, sizeOf(t.shape), data.memoryOffset);
    },
  };
}

/**
 * tfjs-backend-wasm's Identity copies its input; the cpu backend's shares the storage (tensors
 * are immutable, so sharing is safe, as wasm's own Reshape does). The engine runs Identity for
 * every input a kernel saves for its gradient, so on wasm each forward copied every layer's
 * weights once more. gradlab's Identity shares, as on cpu; in-place writers (the optimizers'
 * host steps) copy shared storage first (ownStorage).
 */
function shareIdentityStorage(): void {
  const existing = tf.getKernel(tf.Identity, "wasm");
  if (existing?.kernelFunc === sharedIdentity) return;
  if (existing !== undefined) {
    copyingIdentity = existing.kernelFunc;
    tf.unregisterKernel(tf.Identity, "wasm");
  }
  tf.registerKernel({ kernelName: tf.Identity, backendName: "wasm", kernelFunc: sharedIdentity });
}

/** tfjs-backend-wasm's own Identity: still what string tensors (not on the heap) go through. */
let copyingIdentity: tf.KernelFunc | null = null;

const sharedIdentity: tf.KernelFunc = (args) => {
  const x = (args.inputs as { x: tf.TensorInfo }).x;
  if (x.dtype === "string" && copyingIdentity !== null) return copyingIdentity(args);
  (args.backend as unknown as WasmBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A tensor (tracked by the engine, disposable) made from storage allocated with `host.alloc`. */
export function tensorFromInfo(info: tf.TensorInfo): tf.Tensor {
  return tf.engine().makeTensorFromTensorInfo(info);
}

/**
 * Gives a variable storage of its own before it is written in place: a variable made from a
 * tensor its caller still holds (or a clone of one) shares that tensor's storage, and an in-place
 * step must not change the caller's tensor. It may allocate: take the views to write (host.f32)
 * after every variable of the step has been through it.
 */
export function ownStorage(host: HostBackend, variable: tf.Variable): void {
  if (host.refCount(variable) > 1) {
    const info = host.alloc(variable.shape);
    host.f32(info).set(host.f32(variable));
    const copy = tensorFromInfo(info);
    variable.assign(copy);
    copy.dispose();
  }
}
