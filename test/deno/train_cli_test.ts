/** `deno run -A lib/cli/train_main.ts --backend cpu --json --steps 50` as a subprocess ends with its JSON line. */
import { REPO_ROOT } from "./_support";

Deno.test("train task: --backend cpu --json --steps 50 ends stdout with the result as JSON", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "lib/cli/train_main.ts", "--backend", "cpu", "--json", "--steps", "50"],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  if (output.code !== 0) throw new Error(`train exited with ${output.code}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
  const lines = stdout.trimEnd().split("\n");
  const last = lines[lines.length - 1]!;
  let result: { weight?: unknown; bias?: unknown; losses?: unknown; lossEvery?: unknown; backend?: unknown };
  try {
    result = JSON.parse(last);
  } catch {
    throw new Error(`the last line of stdout is not JSON: ${JSON.stringify(last)}`);
  }
  const keys = Object.keys(result).sort().join(",");
  if (keys !== "backend,bias,lossEvery,losses,weight") throw new Error(`JSON keys ${keys}, expected backend,bias,lossEvery,losses,weight`);
  if (result.lossEvery !== 1) throw new Error(`lossEvery ${JSON.stringify(result.lossEvery)}, expected 1 (every step's loss up to 10000 steps)`);
  if (result.backend !== "cpu") throw new Error(`backend ${JSON.stringify(result.backend)}, expected "cpu"`);
  if (!Array.isArray(result.losses) || result.losses.length !== 50 || !result.losses.every(Number.isFinite)) {
    throw new Error(`losses must be 50 finite numbers, got ${JSON.stringify(result.losses)}`);
  }
  const weight = result.weight as number[][];
  if (!Array.isArray(weight) || weight.length !== 1 || weight[0]?.length !== 2) throw new Error(`weight ${JSON.stringify(weight)}, expected 1×2`);
  if (!Array.isArray(result.bias) || result.bias.length !== 1) throw new Error(`bias ${JSON.stringify(result.bias)}, expected length 1`);
});
