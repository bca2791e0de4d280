/**
 * Each layer op's forward + backward against tfjs autodiff of the same expression (issue 11,
 * item 7: "every op no slower than tfjs autodiff of the same expression"), on cpu and wasm; the
 * cases, data and timer are in layer_op_cases.ts.
 *
 *   node --import tsx test/bench/layer_ops.ts [--batch 256] [--features 128] [--blocks 11] [--backends cpu,wasm] [--only relu,maxPool2d]
 *
 * --only keeps the ops whose name starts with one of its comma-separated words.
 */
import { loadavg } from "node:os";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import * as F from "../../lib/nn/functional";
import { disposeData, layerOpCases, layerOpData, timeInterleaved } from "./layer_op_cases";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const batch = Number(arg("batch", "256"));
const features = Number(arg("features", "128"));
const blocks = Number(arg("blocks", "11"));
const backends = arg("backends", "cpu,wasm").split(",");
const only = arg("only", "").split(",").filter((w) => w !== "");

for (const backend of backends) {
  await tf.setBackend(backend);
  await tf.ready();
  const data = layerOpData(batch, features);
  console.log(`\n${backend}, [${batch}, ${features}], forward + backward, ms of CPU time per step (median of ${blocks} blocks); load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  console.log(`${"op".padEnd(24)}${"gradlab".padStart(10)}${"autodiff".padStart(10)}${"ratio".padStart(8)}`);
  for (const [name, ours, theirs] of layerOpCases(F, data)) {
    if (only.length > 0 && !only.some((w) => name.startsWith(w))) continue;
    const [a, t] = timeInterleaved([ours, theirs], data, blocks) as [number, number];
    console.log(`${name.padEnd(24)}${a.toFixed(3).padStart(10)}${t.toFixed(3).padStart(10)}${(a / t).toFixed(2).padStart(8)}`);
  }
  disposeData(data);
}
