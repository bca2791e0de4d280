/**
 * Backend selection. "auto" takes the fastest thing that is really there: tfjs-node(-gpu) when the
 * user installed it, else WebGPU on a hardware adapter (Dawn from the npm package `webgpu` in Node,
 * `navigator.gpu` in Deno and browsers), else wasm, else cpu. A software adapter (llvmpipe,
 * SwiftShader, a fallback adapter) is used only when WebGPU is asked for by name: it runs the
 * kernels correctly but far slower than wasm.
 *
 * Every optional package is imported dynamically, inside try/catch, so none is ever required and
 * the same source runs under Node, Deno and tslab (which compiles to CommonJS).
 */
import * as tf from "@tensorflow/tfjs";
import { installSubgroupCapableFactory, prepareWebGPUKernels, type WebGPUBackendClass } from "./webgpu/device";

export type BackendChoice = "auto" | "tensorflow" | "webgpu" | "wasm" | "cpu";
export const BACKEND_CHOICES: readonly BackendChoice[] = ["auto", "tensorflow", "webgpu", "wasm", "cpu"];

export interface BackendInfo {
  /** The tfjs backend in use: "tensorflow", "webgpu", "wasm" or "cpu". */
  name: string;
  /** What it runs on, in words (adapter name, "CPU (wasm SIMD)", …). */
  device: string;
  /** For "auto": what was tried and why it was passed over. */
  skipped: string[];
}

export interface SetBackendOptions {
  /** Accept a software WebGPU adapter in "auto" too (default false). */
  allowSoftwareAdapter?: boolean;
  /** Where to say which backend was chosen (default: nowhere). */
  log?: (message: string) => void;
}

/** The backend asked for cannot run here; the message says why for each one tried. */
export class BackendUnavailableError extends Error {
  override name = "BackendUnavailableError";
}

let current: BackendInfo | null = null;

/** The backend gradlab selected last, or tfjs's current one if gradlab selected none. */
export function backendInfo(): BackendInfo {
  return current ?? { name: tf.getBackend(), device: "unknown (not selected through gradlab)", skipped: [] };
}

export async function setBackend(choice: BackendChoice = "auto", options: SetBackendOptions = {}): Promise<BackendInfo> {
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new RangeError(`setBackend: unknown backend ${JSON.stringify(choice)}; expected one of ${BACKEND_CHOICES.join(", ")}`);
  }
  const order: Exclude<BackendChoice, "auto">[] = choice === "auto" ? ["tensorflow", "webgpu", "wasm", "cpu"] : [choice];
  const skipped: string[] = [];
  for (const name of order) {
    const allowSoftware = choice === "webgpu" || options.allowSoftwareAdapter === true;
    const attempt = await ACTIVATE[name](allowSoftware);
    if (typeof attempt === "string") {
      skipped.push(`${name}: ${attempt}`);
      continue;
    }
    current = { name, device: attempt.device, skipped };
    options.log?.(`gradlab: backend ${name} on ${attempt.device}${skipped.length ? ` (skipped ${skipped.join("; ")})` : ""}`);
    return current;
  }
  throw new BackendUnavailableError(`setBackend(${JSON.stringify(choice)}): no backend could be started: ${skipped.join("; ")}`);
}

/** Each returns what it runs on, or why it cannot run here. */
type Activate = (allowSoftwareAdapter: boolean) => Promise<{ device: string } | string>;

const ACTIVATE: Record<Exclude<BackendChoice, "auto">, Activate> = {
  async tensorflow() {
    let gpu = true;
    if (!(await tryImport("@tensorflow/tfjs-node-gpu"))) {
      gpu = false;
      if (!(await tryImport("@tensorflow/tfjs-node"))) return "neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed";
    }
    if (!(await activate("tensorflow"))) return "tfjs-node is installed but its backend did not start";
    return { device: gpu ? "libtensorflow (tfjs-node-gpu: CUDA if libtensorflow found a GPU)" : "libtensorflow (CPU)" };
  },

  async webgpu(allowSoftwareAdapter) {
    const gpu = await findNavigatorGpu();
    if (gpu === null) return "no WebGPU implementation (no navigator.gpu, and the npm package `webgpu` is not installed)";
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" }).catch(() => null);
    if (adapter === null) return "navigator.gpu offers no adapter";
    const description = await describeAdapter(adapter);
    if (description.software && !allowSoftwareAdapter) {
      return `only a software adapter (${description.name}); ask for setBackend("webgpu") to use it anyway`;
    }
    // tfjs-backend-webgpu registers itself only if navigator.gpu exists when it is imported.
    // (A bundle that imported it itself, e.g. the benchmark on a GPU machine, has it registered.)
    const webgpu = await importOptional<{ WebGPUBackend?: WebGPUBackendClass }>("@tensorflow/tfjs-backend-webgpu");
    if (!webgpu && tf.findBackendFactory("webgpu") === null) return "@tensorflow/tfjs-backend-webgpu is not installed";
    // Its own factory creates the device without "subgroups"; gradlab's kernels can use them.
    if (typeof webgpu?.WebGPUBackend === "function") installSubgroupCapableFactory(webgpu.WebGPUBackend);
    if (!(await activate("webgpu"))) return `the webgpu backend did not start on ${description.name}`;
    await prepareWebGPUKernels();
    return { device: `${description.name}${description.software ? " (software adapter)" : ""}` };
  },

  async wasm() {
    if (!(await tryImport("@tensorflow/tfjs-backend-wasm"))) return "@tensorflow/tfjs-backend-wasm is not installed";
    if (!(await activate("wasm"))) return "the wasm backend did not start";
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
    return { device: `CPU (wasm${simd ? ", SIMD" : ""}${threads ? ", threads" : ", single thread"})` };
  },

  async cpu() {
    if (!(await activate("cpu"))) return "the cpu backend did not start";
    // The cpu backend prints a "use tfjs-node" banner on first use in Node; gradlab has already
    // said which backend it chose and why, so the banner would only be noise.
    (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
    return { device: "CPU (plain JavaScript)" };
  },
};

async function activate(name: string): Promise<boolean> {
  try {
    const ok = await tf.setBackend(name);
    if (ok) await tf.ready();
    return ok && tf.getBackend() === name;
  } catch {
    return false;
  }
}

async function tryImport(specifier: string): Promise<boolean> {
  return (await importOptional(specifier)) !== null;
}

async function importOptional<T = unknown>(specifier: string): Promise<T | null> {
  try {
    // A variable specifier keeps type checkers and bundlers from requiring optional packages.
    const name = specifier;
    return (await import(name)) as T;
  } catch {
    return null;
  }
}

interface AdapterDescription {
  name: string;
  software: boolean;
}

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software|basic render/i;

/** PCI vendor ids, as Deno's (wgpu's) GPUAdapterInfo.vendor gives them, for the vendors one meets. */
const PCI_VENDORS: Record<number, string> = {
  0x1002: "AMD",
  0x106b: "Apple",
  0x10de: "NVIDIA",
  0x13b5: "ARM",
  0x1af4: "virtio",
  0x5143: "Qualcomm",
  0x8086: "Intel",
  0x10005: "Mesa",
};

async function describeAdapter(adapter: GPUAdapter): Promise<AdapterDescription> {
  const a = adapter as GPUAdapter & { info?: GPUAdapterInfo; requestAdapterInfo?: () => Promise<GPUAdapterInfo>; isFallbackAdapter?: boolean };
  const info = a.info ?? (await a.requestAdapterInfo?.().catch(() => undefined));
  // Dawn (Node, Chrome) gives names ("mesa", "llvm"); wgpu (Deno) gives PCI ids as decimal strings
  // ("65541", "0"): a known vendor id becomes its name, other bare numbers say nothing and are left out.
  const field = (value: string | undefined, isVendor = false): string => {
    const text = (value ?? "").trim();
    if (!/^\d+$/.test(text)) return text;
    return isVendor ? PCI_VENDORS[Number(text)] ?? "" : "";
  };
  const parts: string[] = [];
  for (const part of [field(info?.description), field(info?.device), field(info?.vendor, true), field(info?.architecture)]) {
    if (part && !parts.some((p) => p.toLowerCase().includes(part.toLowerCase()))) parts.push(part);
  }
  const name = parts.length ? parts.join(" / ") : "unnamed adapter";
  const fallback = a.isFallbackAdapter === true || (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter === true;
  return { name, software: fallback || SOFTWARE_ADAPTER.test(parts.join(" ")) };
}

/**
 * navigator.gpu where the platform has it (Deno, browsers); in Node, Dawn from the optional npm
 * package `webgpu`, installed as navigator.gpu so tfjs-backend-webgpu finds it.
 */
async function findNavigatorGpu(): Promise<GPU | null> {
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (g.navigator?.gpu) return g.navigator.gpu;
  try {
    const name = "webgpu";
    type Dawn = { create?: (flags: string[]) => GPU; globals: object };
    const dawn = (await import(name)) as Dawn & { default?: Dawn };
    const api = dawn.create ? dawn : dawn.default;
    if (!api?.create) return null;
    Object.assign(globalThis, api.globals);
    const gpu = api.create([]);
    Object.defineProperty(globalThis, "navigator", { value: { ...(g.navigator ?? {}), gpu }, configurable: true, writable: true });
    return gpu;
  } catch {
    return null;
  }
}
