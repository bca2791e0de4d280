/**
 * Which tensors a gradient computation differentiates with respect to, so that an op's backward can
 * skip the gradients nobody asked for (PyTorch's ctx.needs_input_grad).
 *
 * tfjs has no requires_grad: the sources are known only to the call that asks for gradients
 * (tf.grads' xs, variableGrads' variables). gradlab's own entry points (backward(), gradcheck)
 * declare them here for the duration of the call; an op's backward then asks whether a given input
 * lies downstream of a source on the recorded tape. Outside such a call every input is taken to
 * need its gradient, which is always correct, only slower.
 */
import * as tf from "@tensorflow/tfjs";

interface TapeNode {
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
}

interface Sources {
  ids: ReadonlySet<number>;
  /** Ids of every tensor computed from a source, filled on first use from the tape ("all" without one). */
  reach: Set<number> | "all" | null;
}

let active: Sources | null = null;

/** Runs `body` with `sources` declared as what is being differentiated. Nests: the inner call wins. */
export function withGradientSources<T>(sources: readonly tf.Tensor[], body: () => T): T {
  const previous = active;
  active = { ids: new Set(sources.map((t) => t.id)), reach: null };
  try {
    return body();
  } finally {
    active = previous;
  }
}

/**
 * Whether the gradient of `input` can reach a declared source: true when it is a source or was
 * computed from one, and true whenever no sources are declared.
 */
export function mayNeedGradient(input: tf.Tensor): boolean {
  if (active === null) return true;
  if (active.reach === null) active.reach = reachableFrom(active.ids);
  return active.reach === "all" || active.reach.has(input.id);
}

/** Forward pass over the engine's tape (recorded in execution order): what depends on `ids`. */
function reachableFrom(ids: ReadonlySet<number>): Set<number> | "all" {
  const tape = (tf.engine().state as unknown as { activeTape?: TapeNode[] }).activeTape;
  // Without a tape to read (a tfjs that moved it), claim everything: correct, only slower.
  if (!Array.isArray(tape)) return "all";
  const reach = new Set(ids);
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => t != null && reach.has(t.id))) {
      for (const out of node.outputs) reach.add(out.id);
    }
  }
  return reach;
}
