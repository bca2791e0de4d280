/**
 * gradcheck's two Jacobians entry against entry: every point on the diagonal means the backward
 * agrees with finite differences; a wrong backward leaves the diagonal (a slope of 2, a mirror
 * image, a cloud).
 */
import type { Figure } from "./figure";
import { parityScatter } from "./parity_scatter";

export interface JacobianSeries {
  /** "x", "weight", "dW doubled", … */
  label: string;
  numerical: ArrayLike<number>;
  analytic: ArrayLike<number>;
  color?: string;
}

export function jacobianScatter(name: string, title: string, series: readonly JacobianSeries[]): Figure {
  return parityScatter(
    name,
    series.map((s) => ({ label: s.label, x: s.numerical, y: s.analytic, ...(s.color !== undefined && { color: s.color }) })),
    {
      title,
      x: { axis: "numerical (central differences)", short: "numerical" },
      y: { axis: "analytic (the op's backward)", short: "analytic" },
      diagonal: "analytic = numerical",
    },
  );
}
