/** A fitted plane y = w1·x1 + w2·x2 + b over the samples it was fitted to, in 3-D. */
import { COLORS, makeFigure, type Figure } from "./figure";

export interface FittedPlaneOptions {
  title?: string;
  /** Grid range of x1 and x2 (default: the samples' range). */
  range?: [number, number];
  /** Grid points per side (default 12). */
  resolution?: number;
}

export function fittedPlane(
  name: string,
  samples: { x: readonly (readonly number[])[]; y: readonly number[] },
  plane: { weight: readonly number[]; bias: number },
  options: FittedPlaneOptions = {},
): Figure {
  if (plane.weight.length !== 2) throw new RangeError(`fittedPlane: a plane needs 2 weights, got ${plane.weight.length}`);
  const [w1, w2] = plane.weight as [number, number];
  const xs = samples.x.flat();
  const [low, high] = options.range ?? [Math.min(...xs), Math.max(...xs)];
  const n = Math.max(2, options.resolution ?? 12);
  const grid = Array.from({ length: n }, (_, i) => low + ((high - low) * i) / (n - 1));
  const z = grid.map((x2) => grid.map((x1) => w1 * x1 + w2 * x2 + plane.bias));
  const f = (v: number) => v.toFixed(3);
  return makeFigure(
    name,
    [
      {
        type: "surface",
        name: "fitted plane",
        x: grid,
        y: grid,
        z,
        opacity: 0.55,
        colorscale: [
          [0, "#c6dbef"],
          [1, COLORS.ours],
        ],
        showscale: false,
        hovertemplate: "x1 %{x:.2f}, x2 %{y:.2f}: ŷ = %{z:.3f}<extra>plane</extra>",
      },
      {
        type: "scatter3d",
        mode: "markers",
        name: "samples",
        x: samples.x.map((r) => r[0]),
        y: samples.x.map((r) => r[1]),
        z: samples.y,
        marker: { size: 3, color: COLORS.reference },
      },
    ],
    {
      title: { text: options.title ?? `Fitted plane y = ${f(w1)}·x1 + ${f(w2)}·x2 + ${f(plane.bias)}` },
      scene: {
        xaxis: { title: { text: "x1" } },
        yaxis: { title: { text: "x2" } },
        zaxis: { title: { text: "y" } },
        camera: { eye: { x: 1.6, y: -1.6, z: 0.9 } },
        aspectmode: "cube",
      },
      margin: { l: 0, r: 0, t: 60, b: 0 },
      height: 520,
    },
  );
}
