/**
 * Rich output from notebook code, whichever kernel runs it: one Jupyter display_data message per
 * call, carrying every MIME type at once (the front end picks the one it renders best).
 *
 * tslab's public `display.raw(mime, string)` sends one string-valued MIME type per message, so a
 * Plotly figure could not go out as both JSON and HTML; gradlab calls the function tslab's own
 * display uses, found in the running kernel's module cache. Deno's kernel has
 * Deno.jupyter.broadcast. Outside a kernel the text/plain part is printed.
 */
import { dirname, join } from "node:path";

/** MIME type → content: strings, or JSON values for +json types. */
export type MimeBundle = Record<string, unknown>;
export type OutputMetadata = Record<string, unknown>;
export type KernelKind = "tslab" | "deno" | null;

type Sink = (data: MimeBundle, metadata: OutputMetadata) => void;

interface NodeModuleLike {
  filename: string;
  exports: unknown;
}
interface TslabHost {
  require?: ((id: string) => unknown) & { cache?: Record<string, NodeModuleLike | undefined> };
}
interface TslabJupyter {
  lastWriteDisplayData: ((content: { data: MimeBundle; metadata: OutputMetadata; transient: object }, update: boolean) => void) | null;
}
interface DenoJupyter {
  broadcast(type: string, content: object): Promise<void>;
}

let resolved: { kind: KernelKind; sink: Sink | null } | null = null;

/** Which Jupyter kernel this code runs in, if any. */
export function kernelKind(): KernelKind {
  return resolve().kind;
}

function resolve(): { kind: KernelKind; sink: Sink | null } {
  if (resolved) return resolved;
  resolved = { kind: null, sink: null };
  const host = (globalThis as { __tslab__?: TslabHost }).__tslab__;
  if (typeof host?.require === "function") {
    resolved = { kind: "tslab", sink: tslabSink(host.require) };
    return resolved;
  }
  const deno = (globalThis as { Deno?: { jupyter?: DenoJupyter } }).Deno;
  if (typeof deno?.jupyter?.broadcast === "function") {
    const jupyter = deno.jupyter;
    resolved = {
      kind: "deno",
      sink: (data, metadata) => void jupyter.broadcast("display_data", { data, metadata, transient: {} }),
    };
  }
  return resolved;
}

function tslabSink(req: NonNullable<TslabHost["require"]>): Sink {
  const publicModule = req("tslab") as { display: { raw(mime: string, content: string): void } };
  const entry = Object.values(req.cache ?? {}).find((m) => m?.exports === publicModule);
  const jupyter = entry ? (req.cache?.[join(dirname(entry.filename), "jupyter.js")]?.exports as TslabJupyter | undefined) : undefined;
  return (data, metadata) => {
    // Re-read on every call: tslab replaces it for each executed cell.
    const write = jupyter?.lastWriteDisplayData;
    if (typeof write === "function") {
      write({ data, metadata, transient: {} }, false);
      return;
    }
    // A tslab whose internals moved: fall back to its public API, HTML (or text) only.
    const html = data["text/html"];
    publicModule.display.raw(typeof html === "string" ? "text/html" : "text/plain", String(html ?? data["text/plain"] ?? ""));
  };
}

/** Sends one output; outside a kernel prints its text/plain part. Returns whether a kernel took it. */
export function display(data: MimeBundle, metadata: OutputMetadata = {}): boolean {
  const { sink } = resolve();
  if (sink) {
    sink(data, metadata);
    return true;
  }
  const text = data["text/plain"] ?? data["text/markdown"];
  if (typeof text === "string") console.log(text);
  return false;
}

export function markdown(text: string): void {
  display({ "text/markdown": text, "text/plain": text });
}

/** Text shown as is, in a monospaced block (a model description, an error message). */
export function preformatted(content: string): void {
  display({ "text/plain": content });
}

export function html(content: string, plain: string): void {
  display({ "text/html": content, "text/plain": plain });
}

/** A small table: HTML for the notebook, aligned columns for text. */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[], caption?: string): void {
  const cells = rows.map((r) => r.map((v) => (typeof v === "number" ? formatNumber(v) : String(v))));
  const esc = (s: string) => s.replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]!);
  const htmlTable = [
    `<table class="gradlab-table">`,
    caption ? `<caption style="text-align:left">${esc(caption)}</caption>` : "",
    `<thead><tr>${headers.map((h) => `<th style="text-align:left">${esc(h)}</th>`).join("")}</tr></thead>`,
    `<tbody>${cells.map((r) => `<tr>${r.map((c) => `<td style="text-align:left">${esc(c)}</td>`).join("")}</tr>`).join("")}</tbody>`,
    `</table>`,
  ].join("");
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: readonly string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  const text = [...(caption ? [caption] : []), line(headers), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
  display({ "text/html": htmlTable, "text/plain": text });
}

/** 3 significant digits, exponent form for the very small and very large. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  return a < 1e-3 || a >= 1e5 ? x.toExponential(2) : Number(x.toPrecision(4)).toString();
}

/** A number for LaTeX: 3 significant digits, "3.1 \times 10^{-8}" for the very small and large. */
export function texNumber(x: number): string {
  if (!Number.isFinite(x)) return `\\text{${x}}`;
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e5) return Number(x.toPrecision(3)).toString();
  const [mantissa, exponent] = x.toExponential(1).split("e") as [string, string];
  return `${mantissa} \\times 10^{${Number(exponent)}}`;
}
