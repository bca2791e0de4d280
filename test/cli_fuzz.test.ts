/**
 * A seeded, time-bounded fuzz of the train and predict tasks (issue 9): random command lines
 * (valid and invalid options, numbers in every notation) over random input files (JSON of any
 * shape, mutated state dicts and data files, deep nesting, truncated or bit-flipped ONNX) and
 * --out targets (existing, an input, a folder, a missing folder). Run in this process (tfjs loads
 * once) on the cpu backend. Whatever the input, the task must end with exit 0, 2 or 3 (never 1,
 * a bug), a failure must be one line "<task>: …" with no stack trace and no raw JavaScript error,
 * an existing --out must be untouched on failure, and no temporary file may be left.
 *
 * GRADLAB_FUZZ_MS sets the time per task (default 15 s); GRADLAB_FUZZ_SEED the seed (default 9).
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { run as runPredict } from "../lib/cli/predict";
import { run as runTrain } from "../lib/cli/train";
import { setWarningHandler } from "../lib/warnings";
import { REPO_ROOT } from "./support/cli_process";

const FUZZ_MS = Number(process.env.GRADLAB_FUZZ_MS ?? 15_000);
const SEED = Number(process.env.GRADLAB_FUZZ_SEED ?? 9);
const TMP = mkdtempSync(join(tmpdir(), "gradlab-cli-fuzz-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

/** Messages of JavaScript's own errors: a user must never see one. */
const RAW_ERRORS = /Maximum call stack|Invalid typed array length|Invalid array length|Cannot read propert|Cannot create a string|is not a function|is not iterable|of undefined|of null|\[object Object\]/;
const OLD_OUT = '{"weight":[[7,8]],"bias":[9]}\n';

interface Outcome {
  code: number;
  stdout: string[];
  stderr: string[];
}

/** Runs a task's `run` here, capturing console output and the exit code. */
async function inProcess(run: (argv: readonly string[]) => Promise<number>, argv: string[]): Promise<Outcome> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const { log, error } = console;
  const previousHandler = setWarningHandler(() => {});
  console.log = (...parts: unknown[]) => void stdout.push(parts.join(" "));
  console.error = (...parts: unknown[]) => void stderr.push(parts.join(" "));
  try {
    const code = await run(argv);
    return { code, stdout, stderr };
  } finally {
    console.log = log;
    console.error = error;
    setWarningHandler(previousHandler);
    process.exitCode = undefined;
  }
}

/** Exit codes seen, per task, to show in the test's diagnostics that the fuzz reaches training. */
const seen: Record<string, Record<number, number>> = { train: {}, predict: {} };

function checkOutcome(task: string, argv: string[], o: Outcome): void {
  seen[task]![o.code] = (seen[task]![o.code] ?? 0) + 1;
  const show = () => `${task} ${JSON.stringify(argv)} → exit ${o.code}\nstdout: ${o.stdout.join("\n")}\nstderr: ${o.stderr.join("\n")}`;
  assert.ok([0, 2, 3].includes(o.code), `exit code ${o.code} (1 is a bug):\n${show()}`);
  if (o.code === 0) return;
  const errors = o.stderr.filter((l) => !l.startsWith("warning:"));
  assert.equal(errors.length, 1, `one error line expected:\n${show()}`);
  assert.ok(errors[0]!.startsWith(`${task}: `), show());
  assert.doesNotMatch(errors[0]!, /\n|^\s+at /m, `stack trace or several lines:\n${show()}`);
  assert.doesNotMatch(errors[0]!, RAW_ERRORS, `a raw JavaScript error reached the user:\n${show()}`);
}

// ---- arbitraries ----------------------------------------------------------------------------

const notations = fc.constantFrom("0", "1", "-1", "2", "0.5", ".5", "3.", "1e1", "1e-3", "0x10", "0b11", "0o7", "1e300", "-1e300", "1e-400", "NaN", "Infinity", "-Infinity", "", " ", "1_000", "١", "5e", "+3", "4294967296", "9007199254740993", "--json");
/** Integers that would run long are kept out: valid --steps stay small. */
const integerValue = fc.oneof({ weight: 1, arbitrary: notations }, { weight: 3, arbitrary: fc.integer({ min: -5, max: 60 }).map(String) });
const numberValue = fc.oneof(
  { weight: 1, arbitrary: notations },
  { weight: 1, arbitrary: fc.double({ noNaN: false }).map(String) },
  { weight: 4, arbitrary: fc.double({ min: 0, max: 0.2, noNaN: true }).map(String) },
);
const anyString = fc.oneof(fc.string({ maxLength: 12 }), notations);

const finiteNumber = fc.double({ min: -10, max: 10, noNaN: true });
const nasty = fc.oneof(fc.constant(1e39), fc.constant(-1e39), fc.constant(null), fc.constant("4"), fc.constant([]), fc.constant({}), finiteNumber);
const stateDict = fc.record({
  weight: fc.oneof(fc.array(fc.array(fc.oneof(finiteNumber, nasty), { minLength: 0, maxLength: 3 }), { minLength: 0, maxLength: 2 }), nasty),
  bias: fc.oneof(fc.array(fc.oneof(finiteNumber, nasty), { maxLength: 2 }), nasty),
}, { requiredKeys: [] });
const dataFile = fc.record({
  x: fc.oneof(fc.array(fc.array(fc.oneof(finiteNumber, finiteNumber, nasty), { minLength: 1, maxLength: 3 }), { minLength: 0, maxLength: 5 }), nasty),
  y: fc.oneof(fc.array(fc.oneof(finiteNumber, nasty), { maxLength: 5 }), nasty),
}, { requiredKeys: [] });
const validState = fc.array(finiteNumber, { minLength: 3, maxLength: 3 }).map(([a, b, c]) => JSON.stringify({ weight: [[a, b]], bias: [c] }));
const validData = fc.tuple(fc.array(fc.tuple(finiteNumber, finiteNumber), { minLength: 1, maxLength: 6 }), fc.boolean())
  .map(([rows, withY]) => JSON.stringify({ x: rows, ...(withY && { y: rows.map(([a]) => a) }) }));
const jsonText = fc.oneof(
  validState,
  validState,
  validData,
  validData,
  stateDict.map((v) => JSON.stringify(v)),
  dataFile.map((v) => JSON.stringify(v)),
  fc.json({ maxDepth: 4 }),
  fc.integer({ min: 1, max: 100_000 }).map((n) => "[".repeat(n) + "]".repeat(n)),
  fc.string({ maxLength: 30 }),
  fc.constant(""),
);
const onnxBytes = (() => {
  const good = readFileSync(join(REPO_ROOT, "test/fixtures/seed_torch.onnx"));
  return fc.oneof(
    fc.constant(good),
    fc.integer({ min: 0, max: good.length }).map((n) => good.subarray(0, n)),
    fc.array(fc.tuple(fc.nat(good.length - 1), fc.nat(255)), { minLength: 1, maxLength: 8 }).map((flips) => {
      const bytes = Uint8Array.from(good);
      for (const [at, value] of flips) bytes[at] = value;
      return bytes;
    }),
  );
})();

type FileSpec = { kind: "json"; text: string } | { kind: "onnx"; bytes: Uint8Array } | { kind: "missing" } | { kind: "folder" };
const inputFile = fc.oneof(
  { weight: 6, arbitrary: jsonText.map((text): FileSpec => ({ kind: "json", text })) },
  { weight: 1, arbitrary: fc.constant<FileSpec>({ kind: "missing" }) },
  { weight: 1, arbitrary: fc.constant<FileSpec>({ kind: "folder" }) },
);
type OutSpec = "new" | "existing" | "same-as-init" | "folder" | "missing-folder" | "none";
const outSpec = fc.constantFrom<OutSpec>("new", "existing", "existing", "same-as-init", "folder", "missing-folder", "none");

const trainOption = fc.oneof(
  fc.tuple(fc.constantFrom("--steps", "--seed", "--max-input-mib"), integerValue),
  fc.tuple(fc.constantFrom("--lr", "--momentum", "--weight-decay"), numberValue),
  fc.tuple(fc.constantFrom("--backend"), fc.constantFrom("cpu", "gpu", "", "CPU")),
  fc.tuple(fc.constantFrom("--json", "--allow-nonfinite"), fc.constant(null)),
  fc.tuple(fc.constantFrom("--help", "--stpes", "-x", "steps", "--", "--lr="), fc.constant(null)),
);

let cases = 0;
function materialise(dir: string, name: string, spec: FileSpec): string {
  const path = join(dir, name);
  if (spec.kind === "json") writeFileSync(path, spec.text);
  else if (spec.kind === "onnx") writeFileSync(path, spec.bytes);
  else if (spec.kind === "folder") mkdirSync(path);
  return path;
}

describe("fuzz: random command lines and input files", { concurrency: false }, () => {
  it(`train (seed ${SEED}, ${FUZZ_MS} ms)`, async (t) => {
    const property = fc.asyncProperty(
      fc.array(trainOption, { maxLength: 5 }),
      fc.option(inputFile, { nil: undefined }),
      fc.option(inputFile, { nil: undefined }),
      outSpec,
      fc.boolean(),
      async (options, init, data, out, stepsFirst) => {
        const dir = join(TMP, `train-${cases++}`);
        mkdirSync(dir);
        // Few steps unless the case sets its own (later options win).
        const argv = ["--backend", "cpu", ...(stepsFirst ? ["--steps", "20"] : [])];
        for (const [name, value] of options) argv.push(...(value === null ? [name] : [name, value]));
        const initPath = init && materialise(dir, "init.json", init);
        if (initPath) argv.push("--init", initPath);
        if (data) argv.push("--data", materialise(dir, "data.json", data));
        let outPath: string | undefined;
        if (out !== "none") {
          outPath = out === "missing-folder" ? join(dir, "nowhere", "m.json") : out === "same-as-init" && initPath ? initPath : join(dir, "m.json");
          if (out === "existing") writeFileSync(outPath, OLD_OUT);
          if (out === "folder") mkdirSync(outPath);
          argv.push("--out", outPath);
        }
        const before = readdirSync(dir).sort();
        const outcome = await inProcess(runTrain, argv);
        checkOutcome("train", argv, outcome);
        assert.ok(readdirSync(dir).every((f) => !f.endsWith(".tmp")), `a temporary file was left: ${readdirSync(dir)}`);
        if (outcome.code !== 0) {
          assert.deepEqual(readdirSync(dir).sort(), before, "a failed run changed the folder");
          if (out === "existing") assert.equal(readFileSync(outPath!, "utf8"), OLD_OUT, "a failed run changed --out");
        } else if (outPath && !argv.includes("--help") && !argv.includes("--allow-nonfinite")) {
          const state = JSON.parse(readFileSync(outPath, "utf8")) as { weight: number[][]; bias: number[] };
          assert.ok([...state.weight.flat(), ...state.bias].every(Number.isFinite), `--out holds non-finite values: ${JSON.stringify(state)}`);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    );
    await fc.assert(property, { seed: SEED, numRuns: 100_000, interruptAfterTimeLimit: FUZZ_MS, markInterruptAsFailure: false });
    t.diagnostic(`${cases} command lines; exit codes: ${JSON.stringify(seen.train)}`);
    assert.ok(cases >= 20, `only ${cases} cases ran in ${FUZZ_MS} ms`);
  });

  it(`predict (seed ${SEED}, ${FUZZ_MS} ms)`, async (t) => {
    const xText = fc.oneof(
      fc.array(fc.tuple(finiteNumber, finiteNumber), { minLength: 1, maxLength: 3 }).map((rows) => rows.map((r) => r.join(",")).join(";")),
      fc.array(fc.array(fc.oneof(finiteNumber.map(String), notations), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }).map((rows) => rows.map((r) => r.join(",")).join(";")),
      anyString,
    );
    const model = fc.oneof(
      inputFile.map((spec) => ({ spec, name: "model.json" })),
      onnxBytes.map((bytes) => ({ spec: { kind: "onnx", bytes } as FileSpec, name: "model.onnx" })),
    );
    let runs = 0;
    const property = fc.asyncProperty(model, fc.option(xText, { nil: undefined }), fc.subarray(["--json", "--allow-nonfinite"]), async (m, x, flags) => {
      const dir = join(TMP, `predict-${runs++}`);
      mkdirSync(dir);
      const argv = ["--backend", "cpu", "--model", materialise(dir, m.name, m.spec), ...(x === undefined ? [] : ["--x", x]), ...flags];
      checkOutcome("predict", argv, await inProcess(runPredict, argv));
      rmSync(dir, { recursive: true, force: true });
    });
    await fc.assert(property, { seed: SEED, numRuns: 100_000, interruptAfterTimeLimit: FUZZ_MS, markInterruptAsFailure: false });
    t.diagnostic(`${runs} command lines; exit codes: ${JSON.stringify(seen.predict)}`);
    assert.ok(runs >= 20, `only ${runs} cases ran in ${FUZZ_MS} ms`);
  });
});
