/**
 * A small, strict command-line parser: --name value, --name=value and boolean flags. Unknown
 * options, missing values and malformed numbers are errors that say what was expected. Numbers
 * are decimal only and integers safe integers: "0x10" or "1e300" for an integer is an error, never
 * 16 or a value rounded out of recognition.
 */

export type OptionSpec = Record<string, { kind: "number" | "integer" | "string" | "boolean"; help: string }>;
export type ParsedOptions<S extends OptionSpec> = {
  [K in keyof S]?: S[K]["kind"] extends "boolean" ? boolean : S[K]["kind"] extends "string" ? string : number;
};

export class UsageError extends Error {
  override name = "UsageError";
}

export function parseArgs<S extends OptionSpec>(argv: readonly string[], spec: S): ParsedOptions<S> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}; options start with --`);
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const option = spec[name];
    if (option === undefined) throw new UsageError(`unknown option --${name}; known options: ${Object.keys(spec).map((k) => `--${k}`).join(", ")}`);
    if (option.kind === "boolean") {
      if (eq !== -1) throw new UsageError(`--${name} is a flag and takes no value`);
      out[name] = true;
      continue;
    }
    let raw: string | undefined;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else raw = argv[++i];
    if (raw === undefined || (eq === -1 && raw.startsWith("--"))) throw new UsageError(`--${name} needs a value (${option.help})`);
    out[name] = option.kind === "string" ? raw : parseNumber(name, raw, option.kind === "integer");
  }
  return out as ParsedOptions<S>;
}

/** Plain decimal notation (an exponent allowed): not hex, octal or binary, which Number() also reads. */
export const DECIMAL_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A number written in decimal, or null (so "0x10" is not 16 and "" is not 0). */
export function parseDecimal(raw: string): number | null {
  const text = raw.trim();
  if (!DECIMAL_NUMBER.test(text)) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

function parseNumber(name: string, raw: string, integer: boolean): number {
  const value = parseDecimal(raw);
  if (value === null) throw new UsageError(`--${name} expects ${integer ? "an integer" : "a number"} in decimal (e.g. 300, 0.01 or 1e-3), got ${JSON.stringify(raw)}`);
  if (integer && !Number.isSafeInteger(value)) {
    throw new UsageError(`--${name} expects an integer from ${-Number.MAX_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function usage(command: string, spec: OptionSpec): string {
  const lines = Object.entries(spec).map(([name, o]) => `  --${name}${o.kind === "boolean" ? "" : ` <${o.kind}>`}`.padEnd(28) + o.help);
  return `usage: ${command} [options]\n${lines.join("\n")}`;
}
