/**
 * MYLINEAR's forward for a batch of at most DOT_MAX_ROWS rows (batch-1 inference is the common
 * case), where a 32×32-or-larger tile would leave most of every workgroup idle: one workgroup per
 * output column n computes Y[m, n] = X[m, :]·W[n, :] + b[n] for every row m, its threads striding
 * along K with coalesced reads of W's row, then reducing their partial sums across the workgroup.
 *
 * The reduction is where subgroups help: with them, subgroupAdd sums within each subgroup in
 * registers and only one partial per subgroup goes through workgroup memory; without them, a
 * log₂(workgroup size)-step tree in workgroup memory does it. WGSL does not say which invocations
 * form a subgroup, so each subgroup's leader takes a slot with an atomic counter instead of
 * deriving one from its invocation index.
 */

/** The largest batch the dot kernel takes; larger ones use the tiled product. */
export const DOT_MAX_ROWS = 4;
/** Threads per workgroup (one output column each). */
export const DOT_WORKGROUP = 256;
/** WGSL's smallest subgroup size is 4, so at most this many subgroups per workgroup. */
const MAX_SUBGROUPS = DOT_WORKGROUP / 4;

export interface DotSpec {
  /** The batch, 1..DOT_MAX_ROWS, unrolled into the shader. */
  rows: number;
  /** K is a multiple of 4: vec4 reads. */
  vecK: boolean;
  /** Reduce with subgroupAdd (the device has the "subgroups" feature) or through workgroup memory. */
  subgroups: boolean;
  /**
   * Open the module with `enable subgroups;` (WGSL as Dawn takes it). Deno's wgpu (naga) rejects
   * that directive but takes subgroup builtins on a device with the feature; the probe says which.
   */
  enableDirective: boolean;
}

export function dotKey(s: DotSpec): string {
  const reduction = s.subgroups ? (s.enableDirective ? "_subgroups" : "_subgroups_noenable") : "_shared";
  return `dot_r${s.rows}${s.vecK ? "_vk" : ""}${reduction}`;
}

/** Bindings: X [rows, K], W [N, K], bias [N]; Y [rows, N]; uniform dims {M, N, K}. Dispatch: N workgroups, over x and y. */
export function dotWgsl(s: DotSpec): string {
  if (!(Number.isInteger(s.rows) && s.rows >= 1 && s.rows <= DOT_MAX_ROWS)) throw new RangeError(`dot kernel: rows must be 1..${DOT_MAX_ROWS}, got ${s.rows}`);
  const R = s.rows;
  const W = DOT_WORKGROUP;
  const L: string[] = [];
  const emit = (line: string) => L.push(line);
  const rows = Array.from({ length: R }, (_, m) => m);
  if (s.subgroups && s.enableDirective) emit("enable subgroups;");
  emit(`// ${dotKey(s)}: Y[m, n] = X[m, :] . W[n, :] + bias[n], m < ${R}, one workgroup per n`);
  emit("struct Dims { M: u32, N: u32, K: u32, pad: u32 }");
  const vt = s.vecK ? "vec4<f32>" : "f32";
  emit(`@group(0) @binding(0) var<storage, read> X: array<${vt}>;`);
  emit(`@group(0) @binding(1) var<storage, read> Wt: array<${vt}>;`);
  emit("@group(0) @binding(2) var<storage, read> bias: array<f32>;");
  emit("@group(0) @binding(3) var<storage, read_write> Y: array<f32>;");
  emit("@group(0) @binding(4) var<uniform> dims: Dims;");
  if (s.subgroups) {
    emit(`var<workgroup> partial: array<f32, ${MAX_SUBGROUPS * R}>;`);
    emit("var<workgroup> slots: atomic<u32>;");
  } else {
    emit(`var<workgroup> partial: array<f32, ${W * R}>;`);
  }
  const builtins = ["@builtin(local_invocation_index) lidx: u32", "@builtin(workgroup_id) wid: vec3<u32>", "@builtin(num_workgroups) nwg: vec3<u32>"];
  if (s.subgroups) builtins.push("@builtin(subgroup_invocation_id) lane: u32");
  emit(`@compute @workgroup_size(${W}, 1, 1)`);
  emit(`fn main(${builtins.join(", ")}) {`);
  emit("  let n = wid.y * nwg.x + wid.x;");
  // Whole workgroups leave together, so the barriers below stay in uniform control flow.
  emit("  if (n >= dims.N) { return; }");
  for (const m of rows) emit(`  var acc${m} = 0.0;`);
  const step = s.vecK ? W * 4 : W;
  emit(`  let steps = (dims.K + ${step - 1}u) / ${step}u;`);
  emit("  for (var i = 0u; i < steps; i++) {");
  if (s.vecK) {
    emit(`    let k4 = i * ${W}u + lidx;`);
    emit("    if (k4 * 4u < dims.K) {");
    emit("      let w = Wt[n * (dims.K / 4u) + k4];");
    for (const m of rows) emit(`      acc${m} += dot(X[${m}u * (dims.K / 4u) + k4], w);`);
  } else {
    emit(`    let k = i * ${W}u + lidx;`);
    emit("    if (k < dims.K) {");
    emit("      let w = Wt[n * dims.K + k];");
    for (const m of rows) emit(`      acc${m} = fma(X[${m}u * dims.K + k], w, acc${m});`);
  }
  emit("    }");
  emit("  }");
  if (s.subgroups) {
    for (const m of rows) emit(`  let sum${m} = subgroupAdd(acc${m});`);
    emit("  if (lane == 0u) {");
    emit("    let slot = atomicAdd(&slots, 1u);");
    for (const m of rows) emit(`    partial[slot * ${R}u + ${m}u] = sum${m};`);
    emit("  }");
    emit("  workgroupBarrier();");
    emit("  if (lidx == 0u) {");
    emit("    let count = atomicLoad(&slots);");
    for (const m of rows) emit(`    var total${m} = 0.0;`);
    emit("    for (var j = 0u; j < count; j++) {");
    for (const m of rows) emit(`      total${m} += partial[j * ${R}u + ${m}u];`);
    emit("    }");
    for (const m of rows) emit(`    Y[${m}u * dims.N + n] = total${m} + bias[n];`);
    emit("  }");
  } else {
    for (const m of rows) emit(`  partial[lidx * ${R}u + ${m}u] = acc${m};`);
    emit("  workgroupBarrier();");
    for (let half = W / 2; half >= 1; half /= 2) {
      emit(`  if (lidx < ${half}u) {`);
      for (const m of rows) emit(`    partial[lidx * ${R}u + ${m}u] += partial[(lidx + ${half}u) * ${R}u + ${m}u];`);
      emit("  }");
      emit("  workgroupBarrier();");
    }
    emit("  if (lidx == 0u) {");
    for (const m of rows) emit(`    Y[${m}u * dims.N + n] = partial[${m}u] + bias[n];`);
    emit("  }");
  }
  emit("}");
  return L.join("\n");
}
