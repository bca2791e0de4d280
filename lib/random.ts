/**
 * Seeded randomness. tfjs's own random ops are seedable per call but not as one stream, so
 * gradlab draws on the host from a generator it owns: the same seed gives the same initial
 * weights, data and gradcheck directions in Node, Deno and tslab.
 */

/** xoshiro128**: small, fast, and good enough for initialisation and test data. */
export class Generator {
  #s = new Uint32Array(4);

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Restart the stream, as torch.manual_seed does. */
  manualSeed(seed: number): this {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    // splitmix32 spreads any seed (0 included) over the four state words.
    let z = (Math.trunc(seed) >>> 0) ^ 0x9e3779b9;
    for (let i = 0; i < 4; i++) {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
      this.#s[i] = (t ^ (t >>> 16)) >>> 0;
    }
    return this;
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** U[0, 1) with 53 random bits, like numpy.random.rand. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /**
   * Fills `out` with draws from U[0, 1): the same numbers as out.length calls of uniform(), with
   * the state in locals for the loop (3× faster than the calls on a dropout mask's 32k draws).
   */
  fillUniform<T extends Float64Array | Float32Array>(out: T): T {
    const s = this.#s;
    let [s0, s1, s2, s3] = [s[0]!, s[1]!, s[2]!, s[3]!];
    for (let i = 0; i < out.length; i++) {
      // Two steps of nextUint32, inline: 27 high bits, then 26.
      let r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 5;
      let t = (s1 << 9) >>> 0;
      s2 = (s2 ^ s0) >>> 0;
      s3 = (s3 ^ s1) >>> 0;
      s1 = (s1 ^ s2) >>> 0;
      s0 = (s0 ^ s3) >>> 0;
      s2 = (s2 ^ t) >>> 0;
      s3 = rotl(s3, 11);
      const hi = r;
      r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 6;
      t = (s1 << 9) >>> 0;
      s2 = (s2 ^ s0) >>> 0;
      s3 = (s3 ^ s1) >>> 0;
      s1 = (s1 ^ s2) >>> 0;
      s0 = (s0 ^ s3) >>> 0;
      s2 = (s2 ^ t) >>> 0;
      s3 = rotl(s3, 11);
      out[i] = (hi * 67108864 + r) / 9007199254740992;
    }
    [s[0], s[1], s[2], s[3]] = [s0, s1, s2, s3];
    return out;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }

  /** n draws from U[low, high). */
  uniformArray(n: number, low = 0, high = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = low + (high - low) * this.uniform();
    return out;
  }

  normalArray(n: number): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal();
    return out;
  }

  /** An integer in [low, high]. */
  integer(low: number, high: number): number {
    return low + Math.floor(this.uniform() * (high - low + 1));
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The process-wide generator used when none is passed, like torch's default generator. */
export const defaultGenerator = new Generator(0);

export function manualSeed(seed: number): void {
  defaultGenerator.manualSeed(seed);
}
