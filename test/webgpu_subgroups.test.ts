/**
 * The subgroup kernels, which only a device with the "subgroups" feature runs. Without a GPU that
 * is SwiftShader, the Vulkan driver Chromium ships: this file points the Vulkan loader at it
 * (VK_ICD_FILENAMES, before Dawn starts), so Dawn's Vulkan backend — the H100's path — runs
 * gradlab's kernels with `enable subgroups;` (subgroup size 4), against the cpu backend. Chromium is
 * installed as root where missing (the browser tests need it too); otherwise the tests are skipped,
 * saying why. The seed is printed; GRADLAB_TEST_SEED=N replays it.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { aptInstall, debianPackagesMissing, ensureSystemDeps, mayInstall } from "../kernel/system_deps";
import { setBackend } from "../lib/backend";
import { setSubgroupsAllowed, subgroupDecision, webgpuDevice } from "../lib/webgpu/device";
import { SWIFTSHADER_ICDS } from "../lib/webgpu/navigator_gpu";
import { ISSUE_SHAPES, KernelParity } from "./support/linear_webgpu_parity";

async function swiftShaderUnavailable(): Promise<string | null> {
  if (!SWIFTSHADER_ICDS.some((p) => existsSync(p)) && mayInstall()) ensureSystemDeps({ jupyter: false, chromium: true });
  const icd = SWIFTSHADER_ICDS.find((p) => existsSync(p));
  if (!icd) return `no SwiftShader Vulkan driver (it comes with Debian's chromium: ${SWIFTSHADER_ICDS[0]})`;
  // Dawn reaches SwiftShader through the Vulkan loader, which chromium does not pull in.
  const loader = ["libvulkan1"];
  if (debianPackagesMissing(loader).length > 0 && mayInstall()) aptInstall(loader, (line) => console.log(line));
  if (debianPackagesMissing(loader).length > 0) return "no Vulkan loader (Debian's libvulkan1), through which Dawn reaches SwiftShader";
  process.env.VK_ICD_FILENAMES = icd;
  try {
    const info = await setBackend("webgpu");
    if (!/swiftshader/i.test(info.device)) return `the webgpu backend started on ${info.device}, not SwiftShader`;
  } catch (error) {
    return `Dawn did not start on SwiftShader: ${(error as Error).message}`;
  }
  return null;
}

const reason = await swiftShaderUnavailable();
const SEED = Number(process.env.GRADLAB_TEST_SEED ?? (Math.random() * 2 ** 32) >>> 0);
if (reason === null) console.log(`webgpu_subgroups.test: data seed ${SEED} (GRADLAB_TEST_SEED=${SEED} replays it)`);
const parity = new KernelParity(SEED);

describe("gradlab's subgroup kernels on Dawn's Vulkan backend (SwiftShader here)", { skip: reason ?? false }, () => {
  it("the device has subgroups, the probe passes with `enable subgroups;`, and the kernels use them", async () => {
    const info = await setBackend("webgpu");
    const device = webgpuDevice()!;
    assert.ok(device.features.has("subgroups"), `features: ${[...device.features].join(", ")}`);
    const decision = subgroupDecision(device);
    assert.equal(decision.use, true, decision.why);
    assert.equal(decision.enableDirective, true, "Dawn's Tint takes the standard `enable subgroups;`");
    assert.doesNotMatch(info.device, /compatibility mode/);
    console.log(`  ${info.device}; ${decision.why}`);
  });

  it("MYLINEAR's kernels with subgroups equal the cpu backend on the issue's shapes", async () => {
    // issueShapes also checks that the dot kernels compiled were the subgroup ones.
    const worst = await parity.issueShapes();
    console.log(`  worst relative error ${worst.toExponential(2)} over ${ISSUE_SHAPES.length} shapes`);
  });

  it("with subgroups turned off, the shared-memory kernels on the same device still equal the cpu backend", async () => {
    setSubgroupsAllowed(false);
    try {
      assert.equal(subgroupDecision(webgpuDevice()!).use, false);
      await parity.issueShapes();
    } finally {
      setSubgroupsAllowed(true);
    }
  });
});
