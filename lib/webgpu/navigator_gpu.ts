/**
 * navigator.gpu, wherever gradlab runs: the platform's own in Deno and browsers; in Node, Dawn, from
 * the optional npm package `webgpu` or from the dawn.node file that DAWN_NODE names (the GPU
 * machines' recipe, ../shared/gpu/README.md). Dawn is installed as navigator.gpu, with its globals
 * (GPUBufferUsage, …), so that tfjs-backend-webgpu finds it.
 *
 * GRADLAB_DAWN_FLAGS holds Dawn's create() flags, space-separated (a flag's value may hold commas):
 * "backend=vulkan", "enable-dawn-features=allow_unsafe_apis,disable_robustness", … Dawn's default
 * instance looks for Vulkan adapters only. Where it finds none and software is acceptable,
 * softwareDawns() offers other instances, fastest first: Dawn's OpenGL ES backend, which Mesa
 * serves with llvmpipe on any Linux machine with libEGL (compatibility mode); then Dawn's Vulkan
 * backend on SwiftShader, the Vulkan driver Chromium ships (core WebGPU with subgroups, about 10×
 * slower). Both run the same kernels, so Node's WebGPU path is tested where there is no GPU.
 */

import { readEnv } from "./runner";

type DawnModule = { create(flags: string[]): GPU; globals: object };

/** The parts of Node's `process` used here; absent in browsers (and Dawn only exists in Node). */
interface NodeProcess {
  versions?: { node?: string; deno?: string };
  env: Record<string, string | undefined>;
  cwd(): string;
  getBuiltinModule?(id: string): unknown;
}

export interface NavigatorGpu {
  gpu: GPU;
  /** Where it came from, in words: "Deno's navigator.gpu", "Dawn (npm package webgpu) with flags …". */
  source: string;
  /** Dawn, created by gradlab: another instance (other flags) can replace it. */
  dawn: boolean;
}

/** The flags for Dawn's OpenGL ES backend, which Mesa's llvmpipe serves without a GPU. */
export const SOFTWARE_DAWN_FLAGS: readonly string[] = ["backend=opengles"];

let installed: NavigatorGpu | null = null;

/** navigator.gpu as it is, or Dawn installed as navigator.gpu with GRADLAB_DAWN_FLAGS; null where there is neither. */
export async function navigatorGpu(): Promise<NavigatorGpu | null> {
  const current = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (installed && installed.gpu === current) return installed;
  if (current) return (installed = { gpu: current, source: platformName(), dawn: false });
  return await installDawn(dawnFlagsFromEnv());
}

/**
 * Software instances to try in turn when Dawn's default one offers no adapter: each call installs
 * one as navigator.gpu. None where navigator.gpu is the platform's own, where GRADLAB_DAWN_FLAGS
 * already chose, or where there is no Dawn.
 */
export function softwareDawns(): (() => Promise<NavigatorGpu | null>)[] {
  if (installed && !installed.dawn) return [];
  if (dawnFlagsFromEnv().length > 0) return [];
  const env = nodeProcess()?.env;
  const icd = SWIFTSHADER_ICDS.find(fileExists);
  const vulkanChosen = env !== undefined && (env.VK_ICD_FILENAMES !== undefined || env.VK_DRIVER_FILES !== undefined);
  return [
    () => installDawn([...SOFTWARE_DAWN_FLAGS]),
    ...(icd && !vulkanChosen
      ? [
          () => {
            // The Vulkan loader reads this at each instance's creation; only SwiftShader is loaded.
            env!.VK_ICD_FILENAMES = icd;
            return installDawn([], `SwiftShader from ${icd}`);
          },
        ]
      : []),
  ];
}

/** Where Chromium packages put SwiftShader's Vulkan driver manifest (Debian, Ubuntu, Google Chrome). */
export const SWIFTSHADER_ICDS: readonly string[] = ["/usr/lib/chromium/vk_swiftshader_icd.json", "/usr/lib/chromium-browser/vk_swiftshader_icd.json", "/opt/google/chrome/vk_swiftshader_icd.json"];

/** GRADLAB_DAWN_FLAGS, split on whitespace. */
export function dawnFlagsFromEnv(): string[] {
  return (readEnv("GRADLAB_DAWN_FLAGS") ?? "").split(/\s+/).filter(Boolean);
}

function nodeProcess(): NodeProcess | null {
  return (globalThis as { process?: NodeProcess }).process ?? null;
}

function fileExists(path: string): boolean {
  const process = nodeProcess();
  if (typeof process?.getBuiltinModule !== "function") return false;
  return (process.getBuiltinModule("node:fs") as typeof import("node:fs")).existsSync(path);
}

async function installDawn(flags: string[], note?: string): Promise<NavigatorGpu | null> {
  const found = await loadDawn();
  if (!found) return null;
  if (flags.some((f) => /^backend=opengl(es)?$/i.test(f))) useSurfacelessEgl();
  const gpu = found.module.create(flags);
  Object.assign(globalThis, found.module.globals);
  const g = globalThis as { navigator?: object };
  Object.defineProperty(globalThis, "navigator", { value: { ...(g.navigator ?? {}), gpu }, configurable: true, writable: true });
  const details = [flags.length ? `flags ${flags.join(" ")}` : null, note ?? null].filter(Boolean).join(", ");
  installed = { gpu, source: `Dawn (${found.from})${details ? ` with ${details}` : ""}`, dawn: true };
  return installed;
}

/** The npm package `webgpu`, else DAWN_NODE's dawn.node; neither exists outside Node. */
async function loadDawn(): Promise<{ module: DawnModule; from: string } | null> {
  const process = nodeProcess();
  if (!process?.versions?.node || process.versions.deno || "Deno" in globalThis) return null;
  try {
    // A variable specifier keeps type checkers and bundlers from requiring the optional package.
    const name = "webgpu";
    const m = (await import(name)) as Partial<DawnModule> & { default?: DawnModule };
    const module = typeof m.create === "function" ? (m as DawnModule) : m.default;
    if (module && typeof module.create === "function") return { module, from: "npm package webgpu" };
  } catch {
    // not installed: try DAWN_NODE
  }
  const path = readEnv("DAWN_NODE");
  if (!path || typeof process.getBuiltinModule !== "function") return null;
  try {
    const { createRequire } = process.getBuiltinModule("node:module") as typeof import("node:module");
    const module = createRequire(`${process.cwd()}/noop.js`)(path) as DawnModule;
    return typeof module.create === "function" ? { module, from: `DAWN_NODE=${path}` } : null;
  } catch {
    return null;
  }
}

/**
 * Mesa's EGL looks for a window system (X11, Wayland) by default and finds none on a server or in a
 * Jupyter kernel; "surfaceless" needs none, and compute needs no window. A value the user set wins.
 */
function useSurfacelessEgl(): void {
  const env = nodeProcess()?.env;
  if (env && !env.EGL_PLATFORM) env.EGL_PLATFORM = "surfaceless";
}

function platformName(): string {
  if ("Deno" in globalThis) return "Deno's navigator.gpu (wgpu)";
  return "the platform's navigator.gpu";
}
