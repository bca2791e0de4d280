/**
 * Asking navigator.gpu for an adapter, and saying in words what it is.
 *
 * Core WebGPU first; then a compatibility-mode adapter (WebGPU's subset that OpenGL ES can serve:
 * Dawn's GL backend, so Node finds Mesa's llvmpipe on a machine without a GPU or Vulkan driver).
 * gradlab's kernels and tfjs's need nothing compatibility mode leaves out. backend.ts and the
 * "webgpu" backend factory (device.ts) both ask through requestAdapter, so they get the same kind.
 */

export type PowerPreference = "high-performance" | "low-power";

export type FeatureLevel = "core" | "compatibility";

export interface FoundAdapter {
  adapter: GPUAdapter;
  /** "compatibility": WebGPU's subset that OpenGL ES can serve (no core adapter was offered). */
  featureLevel: FeatureLevel;
}

/** The adapter and its feature level, or null when navigator.gpu offers none at either level. */
export async function requestAdapter(gpu: GPU, powerPreference: PowerPreference = "high-performance"): Promise<FoundAdapter | null> {
  for (const featureLevel of ["core", "compatibility"] as const) {
    // `featureLevel` is newer than some typings (tslab's); an implementation without it ignores it.
    const options = { powerPreference, featureLevel } as GPURequestAdapterOptions;
    const adapter = await gpu.requestAdapter(options).catch(() => null);
    if (adapter) return { adapter, featureLevel };
  }
  return null;
}

export interface AdapterDescription {
  name: string;
  /** A software rasteriser (llvmpipe, lavapipe, SwiftShader, WARP) or a fallback adapter. */
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

export async function describeAdapter(adapter: GPUAdapter): Promise<AdapterDescription> {
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
