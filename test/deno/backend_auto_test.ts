/**
 * setBackend("auto") in Deno: a software WebGPU adapter (here: llvmpipe) is passed over, with the
 * reason in `skipped`, and wasm is chosen; a hardware adapter would be taken.
 */
import { setBackend } from "../../lib/backend";
import { ADAPTER } from "./_support";

const kind = ADAPTER.missing ? "no adapter" : ADAPTER.software ? `software adapter ${ADAPTER.description}` : `hardware adapter ${ADAPTER.description}`;

Deno.test({
  name: `setBackend("auto") with navigator.gpu offering: ${kind}`,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const info = await setBackend("auto");
    const webgpu = info.skipped.find((s) => s.startsWith("webgpu:"));
    if (ADAPTER.missing === null && !ADAPTER.software) {
      if (info.name !== "webgpu") throw new Error(`auto chose ${info.name} over the hardware adapter ${ADAPTER.description}; skipped: ${info.skipped.join("; ")}`);
      return;
    }
    if (info.name === "webgpu") throw new Error(`auto chose webgpu on ${info.device}, but the only adapter is ${kind}`);
    if (info.name !== "wasm") throw new Error(`auto chose ${info.name}, expected wasm; skipped: ${info.skipped.join("; ")}`);
    if (webgpu === undefined) throw new Error(`skipped does not say why webgpu was passed over: ${JSON.stringify(info.skipped)}`);
    if (ADAPTER.software && !(webgpu.includes("software adapter") && webgpu.includes(ADAPTER.description))) {
      throw new Error(`skipped should name the software adapter ${ADAPTER.description}: ${JSON.stringify(webgpu)}`);
    }
  },
});
