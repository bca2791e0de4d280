/**
 * layer_ops.ts's table for two versions of gradlab in one process: the layer ops of another
 * checkout's lib/ (--before, e.g. an earlier commit unpacked with `git archive <commit> lib | tar
 * -x -C /tmp/before`, beside a node_modules link to this checkout's) and of this one, each against
 * tfjs autodiff of the same expression, the three timed in interleaved blocks, so both versions
 * see the same load. Prints a Markdown table.
 *
 *   node --import tsx test/bench/layer_ops_before_after.ts --before /tmp/before [--batch 256] [--features 128] [--blocks 11] [--backends cpu,wasm] [--only relu]
 */
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import * as F from "../../lib/nn/functional";
import { disposeData, layerOpCases, layerOpData, timeInterleaved } from "./layer_op_cases";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const before = arg("before", "");
if (before === "") throw new Error("--before DIR: a checkout (or an unpacked lib/) of the version to compare with");
const batch = Number(arg("batch", "256"));
const features = Number(arg("features", "128"));
const blocks = Number(arg("blocks", "11"));
const backends = arg("backends", "cpu,wasm").split(",");
const only = arg("only", "").split(",").filter((w) => w !== "");
const FBefore = (await import(pathToFileURL(resolve(before, "lib/nn/functional.ts")).href)) as typeof F;

for (const backend of backends) {
  await tf.setBackend(backend);
  await tf.ready();
  const data = layerOpData(batch, features);
  const older = layerOpCases(FBefore, data);
  console.log(`\n${backend}, [${batch}, ${features}], forward + backward, ms of CPU time per step (median of ${blocks} blocks); load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  console.log("| op | before | after | autodiff | before ÷ autodiff | after ÷ autodiff |\n|---|---|---|---|---|---|");
  layerOpCases(F, data).forEach(([name, ours, theirs], i) => {
    if (only.length > 0 && !only.some((w) => name.startsWith(w))) return;
    const [o, n, t] = timeInterleaved([older[i]![1], ours, theirs], data, blocks) as [number, number, number];
    console.log(`| ${name} | ${o.toFixed(3)} | ${n.toFixed(3)} | ${t.toFixed(3)} | ${(o / t).toFixed(2)} | ${(n / t).toFixed(2)} |`);
  });
  disposeData(data);
}
