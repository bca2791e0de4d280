/**
 * Which module is running, while a forward is traced: each sub-module's forward is wrapped for the
 * trace's duration to push its path ("layers.2", "encoder.attention") on a stack, named as
 * namedParameters names them, so an op the exporter cannot write is reported with the module
 * that called it, as PyTorch's scope names do.
 */
import type { Module } from "../nn/module";

export interface ModulePaths {
  /** The innermost running module, as `module "layers.2" (Linear)`, or `the model's own forward (Net)`. */
  current(): string;
  /** Puts every forward back. */
  restore(): void;
}

export function trackModulePaths(model: Module): ModulePaths {
  const stack: string[] = [`the model's own forward (${model.constructor.name})`];
  const patched: [Module, PropertyDescriptor | undefined][] = [];
  const seen = new Set<Module>([model]);

  const visit = (module: Module, prefix: string) => {
    for (const [key, child] of module.namedChildren()) {
      if (seen.has(child)) continue;
      seen.add(child);
      const path = `${prefix}${key}`;
      wrap(child, `module "${path}" (${child.constructor.name})`);
      visit(child, `${path}.`);
    }
  };

  const wrap = (module: Module, label: string) => {
    const forward = module.forward;
    // An own property shadows the class's method; removing it afterwards brings the method back
    // (or the module's own forward, where it had one).
    const own = Object.getOwnPropertyDescriptor(module, "forward");
    Object.defineProperty(module, "forward", {
      configurable: true,
      writable: true,
      enumerable: false,
      value: function (this: Module, ...inputs: unknown[]) {
        stack.push(label);
        try {
          return (forward as (...xs: unknown[]) => unknown).apply(this, inputs);
        } finally {
          stack.pop();
        }
      },
    });
    patched.push([module, own]);
  };

  visit(model, "");
  return {
    current: () => stack[stack.length - 1]!,
    restore: () => {
      for (const [module, own] of patched) {
        if (own === undefined) delete (module as { forward?: unknown }).forward;
        else Object.defineProperty(module, "forward", own);
      }
    },
  };
}
