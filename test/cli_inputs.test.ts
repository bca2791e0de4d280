/**
 * The input checks the tasks run before any work (issue 9): decimal-only numbers, JSON nesting
 * depth (strings skipped), and bounded reads of files, pipes and devices.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { parseArgs, parseDecimal } from "../lib/cli/args";
import { jsonNestingDepth, readInputBytes } from "../lib/cli/json_file";

const TMP = mkdtempSync(join(tmpdir(), "gradlab-cli-inputs-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

describe("CLI input checks", () => {
  it("parseDecimal reads what JSON calls a number (plus a leading + or dot) and nothing Number() reads besides", () => {
    for (const [text, value] of [["3", 3], ["-2.5", -2.5], ["+4", 4], [".5", 0.5], ["3.", 3], ["1e-3", 1e-3], ["2E+2", 200], [" 7 ", 7]] as const) {
      assert.equal(parseDecimal(text), value, text);
    }
    for (const text of ["0x10", "0b11", "0o7", "", " ", "Infinity", "-Infinity", "NaN", "1e400", "1_000", "١", "5e", "e5", "1,5", "--1"]) {
      assert.equal(parseDecimal(text), null, `${JSON.stringify(text)} was read as ${parseDecimal(text)}`);
    }
    // Every finite double's JSON text (an independent writer of decimals) reads back exactly.
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (v) => parseDecimal(JSON.stringify(v)) === v), { seed: 9 });
  });

  it("integer options must be safe integers; --x-style hex is refused with the option named", () => {
    const spec = { steps: { kind: "integer", help: "" }, lr: { kind: "number", help: "" } } as const;
    assert.deepEqual(parseArgs(["--steps", "1e3", "--lr=2.5e-1"], spec), { steps: 1000, lr: 0.25 });
    assert.throws(() => parseArgs(["--steps", "9007199254740992"], spec), /--steps expects an integer from -9007199254740991 to 9007199254740991, got "9007199254740992"/);
    assert.throws(() => parseArgs(["--steps", "2.5"], spec), /--steps expects an integer from/);
    assert.throws(() => parseArgs(["--lr", "0x1"], spec), /--lr expects a number in decimal \(e\.g\. 300, 0\.01 or 1e-3\), got "0x1"/);
  });

  it("jsonNestingDepth counts [ and { outside strings, escapes included, and stops early", () => {
    assert.equal(jsonNestingDepth('{"x": [[1, 2], [3, 4]], "y": [1]}'), 3);
    assert.equal(jsonNestingDepth('{"a": "[[[[{{{{", "b": "\\\\\\"[[["}'), 1);
    assert.equal(jsonNestingDepth("[]"), 1);
    assert.equal(jsonNestingDepth("42"), 0);
    assert.equal(jsonNestingDepth("[".repeat(1_000_000), 64), 65);
    // Against JSON.parse's own structure, for random JSON values.
    const depthOf = (v: unknown): number => (v !== null && typeof v === "object" ? 1 + Math.max(0, ...Object.values(v as object).map(depthOf)) : 0);
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => jsonNestingDepth(JSON.stringify(v)) === depthOf(v)), { seed: 9 });
  });

  it("readInputBytes reads a file whole, and stops a device at the limit with a clear message", () => {
    const path = join(TMP, "small.json");
    writeFileSync(path, '{"x": [[1, 2]]}');
    assert.equal(new TextDecoder().decode(readInputBytes(path, "--data")), '{"x": [[1, 2]]}');
    assert.throws(() => readInputBytes("/dev/zero", "--init", 1), /^UsageError: --init file \/dev\/zero is more than 1 MiB \(a pipe or device\), over the 1 MiB limit on input files; .*--max-input-mib 2$/);
    assert.throws(() => readInputBytes(TMP, "--data"), /cannot read --data file .*: it is a folder, expected a file/);
  });
});
