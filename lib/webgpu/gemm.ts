/**
 * The tiled matrix product behind MYLINEAR's WebGPU kernels, as WGSL generated per specialisation:
 *
 *   C[m, n] = Σ_k A(m, k) · B(k, n)  (+ bias[n])  (and S[m] = Σ_k A(m, k), the fused bias gradient)
 *
 * with A stored [M, K] ("mk") or [K, M] ("km") and B stored [N, K] ("nk") or [K, N] ("kn"), so the
 * three products of the linear layer need no transposed copy:
 *   forward   Y  = X·Wᵀ + b : A = X  "mk", B = W "nk", bias fused
 *   dX        dX = dY·W     : A = dY "mk", B = W "kn"
 *   dW, dB    dW = dYᵀ·X    : A = dY "km", B = X "kn", dB = Σ_batch dY fused (row sums of A)
 *
 * Each workgroup computes a BM×BN tile of C from BK-deep slabs of A and B staged in workgroup
 * memory; each thread keeps a TM×TN block of C in registers (TM/4 × TN/4 vec4 accumulators, as
 * separate variables so they stay in registers) and reads its A and B fragments as vec4s. Threads
 * own rows in groups of four spaced TY·4 apart (and columns likewise), so neighbouring threads read
 * neighbouring vec4s of the staged tiles. The next slab is fetched into registers while the current
 * one is multiplied (register prefetch), which hides global-memory latency with one tile of
 * workgroup memory. Loads are vec4 where the contiguous dimension is a multiple of 4, and bounds
 * checks are generated only for dimensions that are not multiples of their tile.
 */

export type ALayout = "mk" | "km";
export type BLayout = "nk" | "kn";

/** Workgroup tile BM×BN, depth BK; each thread computes TM×TN outputs. */
export interface Tile {
  bm: number;
  bn: number;
  bk: number;
  tm: number;
  tn: number;
}

export interface GemmSpec {
  a: ALayout;
  b: BLayout;
  tile: Tile;
  /** Add bias[n] to every row of C. */
  bias: boolean;
  /** Also write S[m] = Σ_k A(m, k) (the bias gradient when A is dYᵀ). */
  rowSum: boolean;
  /** The contiguous dimension of A, of B, and N (for C, bias) is a multiple of 4: vec4 access. */
  vecA: boolean;
  vecB: boolean;
  vecC: boolean;
  /** vec4 access to S (M is a multiple of 4). */
  vecS: boolean;
  /** M, N, K are multiples of BM, BN, BK: no bounds checks on that dimension. */
  fitM: boolean;
  fitN: boolean;
  fitK: boolean;
}

/**
 * The tiles the kernels choose from; names are what GRADLAB_WEBGPU_TILE and the bench's --tile take.
 * 128×128×8 with 8×8 per thread is the classic large-matrix SGEMM shape (256 threads, 64
 * accumulators each, 8 KiB staged); the smaller ones keep more workgroups in flight on small
 * outputs. A deeper 128×128×16 slab halves the barriers but took 11 s per shader to compile on
 * llvmpipe, which the test suite compiles in every variant, so it is not offered.
 */
export const TILES = {
  "128x128x8": { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8 },
  "64x64x16": { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 },
  "32x32x16": { bm: 32, bn: 32, bk: 16, tm: 4, tn: 4 },
} as const satisfies Record<string, Tile>;
export type TileName = keyof typeof TILES;

export function isTileName(name: string): name is TileName {
  return Object.hasOwn(TILES, name);
}

export function tileName(t: Tile): string {
  return `${t.bm}x${t.bn}x${t.bk}/${t.tm}x${t.tn}`;
}

/** Threads per workgroup along x (columns of C) and y (rows). */
export function workgroupSize(t: Tile): [number, number] {
  return [t.bn / t.tn, t.bm / t.tm];
}

/** Why a tile cannot be generated, or null. */
export function tileProblem(t: Tile): string | null {
  const [tx, ty] = workgroupSize(t);
  const threads = tx * ty;
  if (t.tm % 4 !== 0 || t.tn % 4 !== 0) return "TM and TN must be multiples of 4";
  if (!Number.isInteger(tx) || !Number.isInteger(ty)) return "BM/TM and BN/TN must be integers";
  if (t.bk % 4 !== 0) return "BK must be a multiple of 4";
  if (threads > 256) return `${threads} threads per workgroup, more than WebGPU's default limit of 256`;
  if (((t.bk * t.bm) / 4) % threads !== 0 || ((t.bk * t.bn) / 4) % threads !== 0) {
    return "each thread must load a whole number of vec4s of each staged tile";
  }
  if ((t.bk * (t.bm + t.bn) * 4) > 16384) return "staged tiles exceed WebGPU's default 16 KiB of workgroup memory";
  return null;
}

/** Every choice the WGSL depends on: the pipeline cache key. */
export function gemmKey(s: GemmSpec): string {
  const flags = [s.bias && "bias", s.rowSum && "rowsum", s.vecA && "va", s.vecB && "vb", s.vecC && "vc", s.vecS && "vs", s.fitM && "fm", s.fitN && "fn", s.fitK && "fk"];
  return `gemm_${s.a}_${s.b}_${tileName(s.tile)}_${flags.filter(Boolean).join("_")}`;
}

/** The bindings in order: inputs A, B (, bias); outputs C (, S); then the uniform dims {M, N, K}. */
export function gemmWgsl(s: GemmSpec): string {
  const problem = tileProblem(s.tile);
  if (problem) throw new RangeError(`gemm tile ${tileName(s.tile)}: ${problem}`);
  const { bm, bn, bk } = s.tile;
  const [tx, ty] = workgroupSize(s.tile);
  const threads = tx * ty;
  const gm = s.tile.tm / 4; // vec4 row groups per thread
  const gn = s.tile.tn / 4; // vec4 column groups per thread
  const bm4 = bm / 4;
  const bn4 = bn / 4;
  const loadsA = (bk * bm4) / threads;
  const loadsB = (bk * bn4) / threads;
  const vt = (vec: boolean) => (vec ? "vec4<f32>" : "f32");
  const L: string[] = [];
  const emit = (line: string) => L.push(line);

  emit(`// ${gemmKey(s)}`);
  emit(`// C[m, n] = sum_k A(m, k) * B(k, n)${s.bias ? " + bias[n]" : ""}${s.rowSum ? "; S[m] = sum_k A(m, k)" : ""}; A stored ${s.a === "mk" ? "[M, K]" : "[K, M]"}, B stored ${s.b === "nk" ? "[N, K]" : "[K, N]"}`);
  emit("struct Dims { M: u32, N: u32, K: u32, pad: u32 }");
  let binding = 0;
  emit(`@group(0) @binding(${binding++}) var<storage, read> A: array<${vt(s.vecA)}>;`);
  emit(`@group(0) @binding(${binding++}) var<storage, read> B: array<${vt(s.vecB)}>;`);
  if (s.bias) emit(`@group(0) @binding(${binding++}) var<storage, read> bias: array<${vt(s.vecC)}>;`);
  emit(`@group(0) @binding(${binding++}) var<storage, read_write> C: array<${vt(s.vecC)}>;`);
  if (s.rowSum) emit(`@group(0) @binding(${binding++}) var<storage, read_write> S: array<${vt(s.vecS)}>;`);
  emit(`@group(0) @binding(${binding++}) var<uniform> dims: Dims;`);
  emit(`var<workgroup> As: array<vec4<f32>, ${bk * bm4}>;`);
  emit(`var<workgroup> Bs: array<vec4<f32>, ${bk * bn4}>;`);

  // One staged load: returns a vec4 of four consecutive elements along the stored row.
  // `along` is the contiguous dimension's index of the first element, `across` the other one.
  const loadFn = (name: string, buf: "A" | "B", vec: boolean, rowLen: string, acrossLimit: string, alongLimit: string, checkAcross: boolean, checkAlong: boolean) => {
    emit(`fn ${name}(across: u32, along: u32) -> vec4<f32> {`);
    const base = `across * ${rowLen} + along`;
    if (vec) {
      // The contiguous length is a multiple of 4, so a vec4 is either wholly inside or wholly out.
      const conds = [checkAcross && `across < ${acrossLimit}`, checkAlong && `along < ${alongLimit}`].filter(Boolean);
      if (conds.length) emit(`  if (!(${conds.join(" && ")})) { return vec4<f32>(0.0); }`);
      emit(`  return ${buf}[(${base}) / 4u];`);
    } else {
      emit("  var v = vec4<f32>(0.0);");
      if (checkAcross) emit(`  if (across >= ${acrossLimit}) { return v; }`);
      emit(`  let i = ${base};`);
      for (let c = 0; c < 4; c++) {
        const read = `v[${c}] = ${buf}[i + ${c}u];`;
        emit(checkAlong ? `  if (along + ${c}u < ${alongLimit}) { ${read} }` : `  ${read}`);
      }
      emit("  return v;");
    }
    emit("}");
  };
  // A "mk": across = m (limit M), along = k (limit K), row length K. "km": across = k, along = m.
  if (s.a === "mk") loadFn("loadA", "A", s.vecA, "dims.K", "dims.M", "dims.K", !s.fitM, !s.fitK);
  else loadFn("loadA", "A", s.vecA, "dims.M", "dims.K", "dims.M", !s.fitK, !s.fitM);
  if (s.b === "nk") loadFn("loadB", "B", s.vecB, "dims.K", "dims.N", "dims.K", !s.fitN, !s.fitK);
  else loadFn("loadB", "B", s.vecB, "dims.N", "dims.K", "dims.N", !s.fitK, !s.fitN);

  emit(`@compute @workgroup_size(${tx}, ${ty}, 1)`);
  emit("fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) lidx: u32, @builtin(workgroup_id) wid: vec3<u32>) {");
  emit("  let tx = lid.x;");
  emit("  let ty = lid.y;");
  emit(`  let m0 = wid.y * ${bm}u;`);
  emit(`  let n0 = wid.x * ${bn}u;`);
  emit(`  let numTiles = (dims.K + ${bk - 1}u) / ${bk}u;`);
  for (let g = 0; g < gm; g++) for (let r = 0; r < 4; r++) for (let h = 0; h < gn; h++) emit(`  var acc_${g}_${r}_${h} = vec4<f32>(0.0);`);
  if (s.rowSum) emit("  var rowSum = vec4<f32>(0.0);");

  // Which element of the staged slab load i of this thread covers, for each layout.
  // Contiguous along the tile's outer dimension ("km", "kn"): unit e → (k = e / outer4, o4 = e % outer4).
  // Contiguous along k ("mk", "nk"): unit e → (o = e / (BK/4), k4 = e % (BK/4)), stored transposed.
  const stage = (which: "A" | "B", layout: ALayout | BLayout, loads: number, outer4: number, origin: string) => {
    const sub = which === "A" ? "As" : "Bs";
    const kMajor = layout === "km" || layout === "kn";
    const load = (i: number, k0: string) => {
      const e = `(lidx + ${i * threads}u)`;
      if (kMajor) return `load${which}(${k0} + ${e} / ${outer4}u, ${origin} + (${e} % ${outer4}u) * 4u)`;
      return `load${which}(${origin} + ${e} / ${bk / 4}u, ${k0} + (${e} % ${bk / 4}u) * 4u)`;
    };
    const store = (i: number, value: string): string[] => {
      const e = `(lidx + ${i * threads}u)`;
      if (kMajor) return [`${sub}[${e}] = ${value};`];
      // Transpose on the way in: element (o, k4*4 + c) goes to row k4*4 + c of the slab.
      return [
        `{ let o = ${e} / ${bk / 4}u; let k = (${e} % ${bk / 4}u) * 4u; let v = ${value};`,
        ...[0, 1, 2, 3].map((c) => `  ${sub}[(k + ${c}u) * ${outer4}u + o / 4u][o % 4u] = v[${c}];`),
        "}",
      ];
    };
    return { load, store, loads };
  };
  const sa = stage("A", s.a, loadsA, bm4, "m0");
  const sb = stage("B", s.b, loadsB, bn4, "n0");

  // Slab 0 straight into workgroup memory.
  for (let i = 0; i < loadsA; i++) for (const line of sa.store(i, sa.load(i, "0u"))) emit(`  ${line}`);
  for (let i = 0; i < loadsB; i++) for (const line of sb.store(i, sb.load(i, "0u"))) emit(`  ${line}`);
  emit("  workgroupBarrier();");
  emit("  for (var t = 0u; t < numTiles; t++) {");
  emit("    let hasNext = t + 1u < numTiles;");
  emit(`    let kNext = (t + 1u) * ${bk}u;`);
  for (let i = 0; i < loadsA; i++) emit(`    var pa${i} = vec4<f32>(0.0);`);
  for (let i = 0; i < loadsB; i++) emit(`    var pb${i} = vec4<f32>(0.0);`);
  emit("    if (hasNext) {");
  for (let i = 0; i < loadsA; i++) emit(`      pa${i} = ${sa.load(i, "kNext")};`);
  for (let i = 0; i < loadsB; i++) emit(`      pb${i} = ${sb.load(i, "kNext")};`);
  emit("    }");
  if (s.rowSum) {
    // The first column of workgroups also sums A's rows: the bias gradient, from the staged slab.
    emit(`    if (wid.x == 0u && lidx < ${bm4}u) {`);
    for (let k = 0; k < bk; k++) emit(`      rowSum += As[${k * bm4}u + lidx];`);
    emit("    }");
  }
  for (let k = 0; k < bk; k++) {
    for (let g = 0; g < gm; g++) emit(`    let a${k}_${g} = As[${k * bm4 + g * ty}u + ty];`);
    for (let h = 0; h < gn; h++) emit(`    let b${k}_${h} = Bs[${k * bn4 + h * tx}u + tx];`);
    for (let g = 0; g < gm; g++) {
      for (let r = 0; r < 4; r++) {
        for (let h = 0; h < gn; h++) emit(`    acc_${g}_${r}_${h} = fma(vec4<f32>(a${k}_${g}[${r}]), b${k}_${h}, acc_${g}_${r}_${h});`);
      }
    }
  }
  emit("    workgroupBarrier();");
  emit("    if (hasNext) {");
  for (let i = 0; i < loadsA; i++) for (const line of sa.store(i, `pa${i}`)) emit(`      ${line}`);
  for (let i = 0; i < loadsB; i++) for (const line of sb.store(i, `pb${i}`)) emit(`      ${line}`);
  emit("    }");
  emit("    workgroupBarrier();");
  emit("  }");

  // Epilogue: bias, bounds, vec4 or scalar stores.
  for (let h = 0; h < gn; h++) {
    emit(`  let col${h} = n0 + ${h * tx * 4}u + tx * 4u;`);
    if (!s.bias) continue;
    if (s.vecC) {
      emit(`  var bias${h} = vec4<f32>(0.0);`);
      emit(s.fitN ? `  bias${h} = bias[col${h} / 4u];` : `  if (col${h} < dims.N) { bias${h} = bias[col${h} / 4u]; }`);
    } else {
      emit(`  var bias${h} = vec4<f32>(0.0);`);
      for (let c = 0; c < 4; c++) {
        const read = `bias${h}[${c}] = bias[col${h} + ${c}u];`;
        emit(s.fitN ? `  ${read}` : `  if (col${h} + ${c}u < dims.N) { ${read} }`);
      }
    }
  }
  for (let g = 0; g < gm; g++) {
    for (let r = 0; r < 4; r++) {
      emit(`  {`);
      emit(`    let row = m0 + ${g * ty * 4 + r}u + ty * 4u;`);
      if (!s.fitM) emit("    if (row < dims.M) {");
      for (let h = 0; h < gn; h++) {
        const value = s.bias ? `acc_${g}_${r}_${h} + bias${h}` : `acc_${g}_${r}_${h}`;
        if (s.vecC) {
          const store = `C[(row * dims.N + col${h}) / 4u] = ${value};`;
          emit(s.fitN ? `      ${store}` : `      if (col${h} < dims.N) { ${store} }`);
        } else {
          emit(`      { let v = ${value}; let i = row * dims.N + col${h};`);
          for (let c = 0; c < 4; c++) {
            const store = `C[i + ${c}u] = v[${c}];`;
            emit(s.fitN ? `        ${store}` : `        if (col${h} + ${c}u < dims.N) { ${store} }`);
          }
          emit("      }");
        }
      }
      if (!s.fitM) emit("    }");
      emit("  }");
    }
  }
  if (s.rowSum) {
    emit(`  if (wid.x == 0u && lidx < ${bm4}u) {`);
    emit("    let m = m0 + lidx * 4u;");
    if (s.vecS) {
      emit(s.fitM ? "    S[m / 4u] = rowSum;" : "    if (m < dims.M) { S[m / 4u] = rowSum; }");
    } else {
      for (let c = 0; c < 4; c++) emit(s.fitM ? `    S[m + ${c}u] = rowSum[${c}];` : `    if (m + ${c}u < dims.M) { S[m + ${c}u] = rowSum[${c}]; }`);
    }
    emit("  }");
  }
  emit("}");
  return L.join("\n");
}
