/**
 * Backend selection. "auto" takes the fastest thing that is really there: tfjs-node(-gpu) when the
 * user installed it, else WebGPU on a hardware adapter (Dawn in Node, `navigator.gpu` in Deno and
 * browsers: webgpu/navigator_gpu.ts), else wasm, else cpu. A software adapter (llvmpipe, SwiftShader,
 * a fallback adapter) is used only when WebGPU is asked for by name: it runs the kernels correctly
 * but far slower than wasm. Asked for by name in Node, WebGPU also tries software instances of Dawn
 * (Mesa's llvmpipe through OpenGL ES, SwiftShader through Vulkan) on machines with no GPU.
 *
 * Every optional package is imported dynamically, inside try/catch, so none is ever required and
 * the same source runs under Node, Deno and tslab (which compiles to CommonJS).
 */
import * as tf from "@tensorflow/tfjs";
import { describeAdapter, requestAdapter } from "./webgpu/adapter";
import { installChunkedAddN } from "./webgpu/add_n";
import { installSubgroupCapableFactory, prepareWebGPUKernels, type WebGPUBackendClass } from "./webgpu/device";
import { navigatorGpu, softwareDawns } from "./webgpu/navigator_gpu";

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

/** What the started "webgpu" backend runs on, once gradlab has started it. */
let webgpuStarted: { device: string; adapter: string; software: boolean } | null = null;

const softwareOnly = (adapter: string) => `only a software adapter (${adapter}); ask for setBackend("webgpu") to use it anyway`;

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
    // Started before: its device is where webgpu tensors live; switch back to it as it is.
    if (webgpuStarted !== null && tf.engine().registry["webgpu"]) {
      if (webgpuStarted.software && !allowSoftwareAdapter) return softwareOnly(webgpuStarted.adapter);
      if (await activate("webgpu")) return { device: webgpuStarted.device };
    }
    let nav = await navigatorGpu();
    if (nav === null) return "no WebGPU implementation (no navigator.gpu, and neither the npm package `webgpu` nor DAWN_NODE's Dawn)";
    let found = await requestAdapter(nav.gpu);
    // Dawn's default instance sees hardware Vulkan adapters only; software ones need other instances.
    const tried: string[] = [nav.source];
    for (const install of found === null && allowSoftwareAdapter ? softwareDawns() : []) {
      const software = await install();
      if (software === null) continue;
      nav = software;
      tried.push(nav.source);
      found = await requestAdapter(nav.gpu);
      if (found !== null) break;
    }
    if (found === null) {
      if (tried.length > 1) return `no adapter from ${tried.join(", nor ")} (software WebGPU in Node: Mesa's llvmpipe needs libegl-mesa0 and libgl1-mesa-dri; SwiftShader comes with Debian's chromium)`;
      return `${nav.source} offers no adapter${nav.dawn && !allowSoftwareAdapter ? '; setBackend("webgpu") also tries software adapters' : ""}`;
    }
    const description = await describeAdapter(found.adapter);
    if (description.software && !allowSoftwareAdapter) return softwareOnly(description.name);
    // tfjs-backend-webgpu registers itself only if navigator.gpu exists when it is imported.
    // (A bundle that imported it itself, e.g. the benchmark on a GPU machine, has it registered.)
    const webgpu = await importOptional<{ WebGPUBackend?: WebGPUBackendClass }>("@tensorflow/tfjs-backend-webgpu");
    if (!webgpu && tf.findBackendFactory("webgpu") === null) return "@tensorflow/tfjs-backend-webgpu is not installed";
    // Its own factory creates the device without "subgroups"; gradlab's kernels can use them.
    if (typeof webgpu?.WebGPUBackend === "function") installSubgroupCapableFactory(webgpu.WebGPUBackend);
    if (!(await activate("webgpu"))) return `the webgpu backend did not start on ${description.name}`;
    await prepareWebGPUKernels();
    installChunkedAddN();
    const notes = [description.software ? "software adapter" : null, found.featureLevel === "compatibility" ? "compatibility mode" : null, nav.source].filter(Boolean);
    webgpuStarted = { device: `${description.name} (${notes.join("; ")})`, adapter: description.name, software: description.software };
    return { device: webgpuStarted.device };
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
