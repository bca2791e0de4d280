/**
 * gradlab's WGSL kernels for MYLINEAR (lib/webgpu/) against the cpu backend: forward and all three
 * gradients, relative error ≤ 1e-5, on fresh random data every run (the seed is printed;
 * GRADLAB_TEST_SEED=N replays it; the comparison is test/support/linear_webgpu_parity.ts, which
 * Node's suite on Dawn shares). Every tile, layout and bounds specialisation, the dot kernel of
 * small batches, the pipeline cache, the debug switch, the subgroup choice and flat memory over
 * training steps. Here WebGPU is Deno's software adapter (llvmpipe); without an adapter every test
 * is reported as ignored, with the reason.
 */
import { decideSubgroups, runSubgroupProbe, subgroupDecision, webgpuDevice } from "../../lib/webgpu/device";
import { dotWgsl } from "../../lib/webgpu/dot";
import { ISSUE_SHAPES, KernelParity } from "../support/linear_webgpu_parity";
import { backendTest, useBackend } from "./_support";

const SEED = Number(Deno.env.get("GRADLAB_TEST_SEED") ?? crypto.getRandomValues(new Uint32Array(1))[0]);
console.log(`linear_webgpu_kernels_test: data seed ${SEED} (GRADLAB_TEST_SEED=${SEED} replays it)`);
const parity = new KernelParity(SEED);

Deno.test(backendTest("MyLinear kernels equal the cpu backend (forward, dX, dW, dB) on the issue's shapes", "webgpu", async () => {
  const worst = await parity.issueShapes();
  console.log(`  worst relative error ${worst.toExponential(2)} over ${ISSUE_SHAPES.length} shapes`);
}));

Deno.test(backendTest("every tile, layout and bounds specialisation equals the cpu backend", "webgpu", async () => {
  await useBackend("webgpu");
  await parity.everyTile();
}));

Deno.test(backendTest("a pipeline is compiled once per specialisation, and the debug switch prints its WGSL", "webgpu", async () => {
  await useBackend("webgpu");
  await parity.pipelineCacheAndDebug();
}));

Deno.test(backendTest("subgroups: used only where the device has them; the other path is what runs here", "webgpu", async () => {
  await useBackend("webgpu");
  const device = webgpuDevice()!;
  const decision = subgroupDecision(device);
  console.log(`  ${decision.why}`);
  if (!device.features.has("subgroups") && decision.use) throw new Error("subgroups chosen on a device without the feature");
  // The selection rule, case by case.
  const ok = { ok: true, enableDirective: true, subgroupSize: 32 };
  const cases: [Parameters<typeof decideSubgroups>[0], boolean][] = [
    [{ disabled: true, feature: true, probe: ok }, false],
    [{ disabled: false, feature: false, probe: null }, false],
    [{ disabled: false, feature: true, probe: null }, false],
    [{ disabled: false, feature: true, probe: { ok: false, error: "rejected" } }, false],
    [{ disabled: false, feature: true, probe: ok }, true],
  ];
  for (const [facts, use] of cases) {
    const d = decideSubgroups(facts);
    if (d.use !== use) throw new Error(`decideSubgroups(${JSON.stringify(facts)}) = ${JSON.stringify(d)}, expected use ${use}`);
  }
  if (decideSubgroups({ disabled: false, feature: true, probe: { ...ok, enableDirective: false } }).enableDirective !== false) throw new Error("a probe that passed only without `enable subgroups;` must turn the directive off");
  // The subgroup shaders themselves: this device cannot run them, but its compiler (naga) parses and
  // type-checks them first, so the only complaint may be the missing SUBGROUP capability.
  if (!device.features.has("subgroups")) {
    for (const rows of [1, 2, 3, 4]) {
      for (const vecK of [false, true]) {
        device.pushErrorScope("validation");
        device.createShaderModule({ code: dotWgsl({ rows, vecK, subgroups: true, enableDirective: false }) });
        const error = await device.popErrorScope();
        if (!error || !/capabilit(y|ies)\(?SUBGROUP/i.test(error.message)) {
          throw new Error(`dot rows ${rows} vecK ${vecK} with subgroups: expected only the missing-capability error, got ${error ? error.message : "none"}`);
        }
      }
    }
    const probe = await runSubgroupProbe(device);
    if (probe.ok) throw new Error("the subgroup probe passed on a device without the feature");
    console.log(`  probe on this device: ${probe.error}`);
  }
}));

Deno.test(backendTest("training Linear on the kernels keeps tensor count and GPU memory flat", "webgpu", async () => {
  await useBackend("webgpu");
  await parity.trainingStaysFlat();
}));
