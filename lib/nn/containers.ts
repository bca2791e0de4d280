/**
 * What the containers share: checking that what goes in is a Module, and torch's repr, which
 * lists the children one per line, "(0): Linear(in=4, out=8)".
 */
import { Module } from "./module";

export function requireModule(owner: string, what: string, value: unknown): Module {
  if (value instanceof Module) return value;
  const got = value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "object" ? (value.constructor?.name ?? "an object") : `${typeof value} ${String(value)}`;
  throw new TypeError(`${owner}: ${what} must be a Module, got ${got}`);
}

export function describeChildren(name: string, children: [string, Module][]): string {
  if (children.length === 0) return `${name}()`;
  const lines = children.map(([key, m]) => `  (${key}): ${String(m).replace(/\n/g, "\n  ")}`);
  return `${name}(\n${lines.join("\n")}\n)`;
}
