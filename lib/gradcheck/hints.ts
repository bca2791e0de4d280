/** What a failing entry's tableau says about it: a step that agrees, or none. */
import { column, inputScale } from "./jacobian";
import type { CheckContext } from "./compare";
import type { Reads } from "./reads";
import { fmt, type InputReport } from "./report";
import { noiseLevel } from "./tolerance";

/**
 * Whether the worst entry agrees with the central difference at some step its tableau tried
 * (then the function is not smooth at the scale of the steps that did not agree, and `eps`
 * decides the verdict), or with none (then the backward is wrong there).
 */
export function* hintFor(cx: CheckContext, r: InputReport): Reads<string | null> {
  const { ev, t } = cx;
  const w = r.worst!;
  const x = ev.values[r.index]!;
  const j = w.inputElement;
  const k = w.outputElement;
  if (j === null || j === undefined || k === null || k === undefined) return null;
  const result = yield* column(ev, r.index, j, t.eps, inputScale(x), cx.noiseScale, true);
  const trace = result.trace!;
  const xj = Math.abs(x[j]!);
  const agreeing = trace.filter((level, l) => {
    const next = trace[l + 1] ?? trace[l - 1];
    const spread = next ? Math.abs(level.central[k]! - next.central[k]!) : 0;
    return Math.abs(level.central[k]! - w.analytic) <= spread + t.rtol * Math.abs(w.analytic) + t.roundoffFactor * noiseLevel(cx.termScale[k]!, level.h);
  });
  const eps = (h: number) => (xj > 0 ? ` (eps = ${fmt(h / xj)} of |x| = ${fmt(xj)})` : "");
  if (agreeing.length > 0) {
    const h = agreeing[0]!.h;
    return (
      `the analytic value agrees with the plain central difference at step ${fmt(h)}${eps(h)}, not with the extrapolated ` +
      `estimate from step ${fmt(result.steps[k]!)}: the function changes fast at that scale near x = ${fmt(x[j]!)}; rerun with that eps (now ${fmt(t.eps)}) before trusting either`
    );
  }
  const values = trace.map((l) => l.central[k]!);
  return `no step from ${fmt(trace[0]!.h)} down to ${fmt(trace[trace.length - 1]!.h)} gives the analytic ${fmt(w.analytic)} (central differences from ${fmt(Math.min(...values))} to ${fmt(Math.max(...values))}): the backward is wrong there, not the step`;
}

