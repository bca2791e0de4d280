/** setBackend("webgpu") by name takes whatever adapter there is, a software one included, and says which. */
import { ADAPTER, backendTest, useBackend } from "./_support";

Deno.test(backendTest('setBackend("webgpu") uses the adapter navigator.gpu offers', "webgpu", async () => {
  const info = await useBackend("webgpu");
  if (!info.device.includes(ADAPTER.description)) throw new Error(`device ${JSON.stringify(info.device)} does not name the adapter ${ADAPTER.description}`);
  if (/\bsoftware adapter\b/.test(info.device) !== ADAPTER.software) {
    throw new Error(`device ${JSON.stringify(info.device)}: the adapter is ${ADAPTER.software ? "" : "not "}a software one`);
  }
}));
