/**
 * A WebAssembly module built from gradlab's C (lib/host/gemm/) and embedded as
 * base64, so Node, Deno, tslab and browsers import it the same way with no file to locate. Decoded,
 * checked and instantiated synchronously on first use (its callers are synchronous kernels), once
 * per JavaScript realm; its memory grows on demand and is reused.
 */
const WASM_PAGE_BYTES = 65536;
/** wasm32 addresses are 32-bit: no engine grants more. */
const MAX_MEMORY_BYTES = 2 ** 32;

export class EmbeddedWasm {
  #bytes: ArrayBuffer | undefined;
  /** Why the module cannot run here, once known: null when it can. */
  #unavailable: string | null | undefined;
  #exports: WebAssembly.Exports | undefined;

  /** `what` names the module in errors ("sgemm"). */
  constructor(
    readonly what: string,
    private readonly base64: string,
  ) {}

  /**
   * Whether this engine runs the module: WebAssembly with 128-bit SIMD (the bytes validate), and
   * synchronous compilation allowed (some browsers refuse it on their main thread for modules over
   * 4 KB). Instantiates it, as first use would. Where it does not, callers take their fallback.
   */
  available(): boolean {
    if (this.#unavailable === undefined) {
      if (typeof WebAssembly !== "object" || !WebAssembly.validate(this.#moduleBytes())) {
        this.#unavailable = "this engine lacks WebAssembly SIMD (128-bit)";
      } else {
        try {
          this.#exports = new WebAssembly.Instance(new WebAssembly.Module(this.#moduleBytes()), {}).exports;
          this.#unavailable = null;
        } catch (e) {
          this.#unavailable = `this engine would not compile the module synchronously (${(e as Error).message})`;
        }
      }
    }
    return this.#unavailable === null;
  }

  /** The instance's exports; throws why where the module cannot run (check available() first). */
  exports(fallback: string): WebAssembly.Exports {
    if (this.#exports !== undefined) return this.#exports;
    if (!this.available()) throw new Error(`${this.what}: ${this.#unavailable}; ${fallback}`);
    return this.#exports!;
  }

  /** The first float index above the module's stack and static data, 16-byte aligned: where callers place operands. */
  static heapBase(exports: WebAssembly.Exports): number {
    return align4(((exports.__heap_base as WebAssembly.Global).value as number) / 4);
  }

  /**
   * Grows `memory`, when needed, to hold `floats` float32s from address 0, and returns a view of all
   * of it (views taken before a growth are detached). `needs` says what for, in the error.
   */
  static reserve(what: string, memory: WebAssembly.Memory, floats: number, needs: string): Float32Array | null {
    const have = memory.buffer.byteLength;
    const bytesNeeded = floats * 4;
    if (bytesNeeded <= have) return null;
    const tooBig = (why: string) => new RangeError(`${what}: ${needs} need${needs.endsWith("s") ? "" : "s"} ${Math.ceil(bytesNeeded / 2 ** 20)} MiB of WebAssembly memory, ${why}`);
    if (bytesNeeded > MAX_MEMORY_BYTES) throw tooBig("more than a 32-bit address space holds (4096 MiB)");
    try {
      memory.grow(Math.ceil((bytesNeeded - have) / WASM_PAGE_BYTES));
    } catch (e) {
      throw tooBig(`more than this engine grants (${(e as Error).message})`);
    }
    return new Float32Array(memory.buffer);
  }

  #moduleBytes(): ArrayBuffer {
    if (this.#bytes === undefined) {
      // atob, not Buffer: the same code runs under Node, Deno, tslab and in browsers.
      const text = atob(this.base64);
      // A plain ArrayBuffer, typed as such: the BufferSource that every TypeScript lib (Node's, Deno's) accepts.
      const buffer = new ArrayBuffer(text.length);
      const view = new Uint8Array(buffer);
      for (let i = 0; i < text.length; i++) view[i] = text.charCodeAt(i);
      this.#bytes = buffer;
    }
    return this.#bytes;
  }
}

/** Rounds a float index up to a 16-byte boundary. */
export function align4(index: number): number {
  return Math.ceil(index / 4) * 4;
}
