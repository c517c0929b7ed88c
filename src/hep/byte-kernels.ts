/**
 * Two byte loops of the hot paths in WebAssembly with 128-bit SIMD (wasm/bytes.ts, compiled by
 * scripts/wasm.mjs): a payload as the inside of a JSON string (every JSON line written), and hex
 * digits as bytes (hex input). Each runs 16 or 32 bytes a step where JavaScript goes byte by byte: a
 * 420-byte SIP payload is escaped in about a third of the time, a hex line decoded in about half
 * (the decode row of `npm run bench`, bench/wait.js, runs hep both ways beside hep-js).
 *
 * The bytes are copied into the module's memory and the results out of it; the caller keeps no view
 * of that memory. The module is made on first use, once per thread. Where WebAssembly SIMD is not
 * there, or with HEP_WASM=0 (tests, and the benchmark's other side), `byteKernels()` is undefined and
 * the callers take their JavaScript loops, which give the same bytes (the tests compare the two).
 */
import { BYTE_KERNELS_WASM } from './byte-kernels-wasm.js'

// the little of WebAssembly used here (the ES library types have none of it, Node's types neither)
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { exports: unknown }
}

interface Exports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number }
  escapeAscii(src: number, n: number, dst: number): number
  unhex(src: number, n: number, dst: number): number
}

const PAGE = 65536
/** where the escape's input goes, and the most it takes (a HEP packet is at most 65535 bytes) */
const ESCAPE_IN = PAGE
export const ESCAPE_MAX = PAGE
/** where results go: room for an escape of ESCAPE_MAX bytes (6 per byte) and a line of hex */
const OUT = ESCAPE_IN + ESCAPE_MAX
const OUT_ROOM = 6 * ESCAPE_MAX + PAGE
/** where loaded bytes go (a read of hex input): last, so it alone grows */
const LOADED = OUT + OUT_ROOM

export class ByteKernels {
  private mem: Uint8Array
  /** bytes loaded at LOADED */
  private loaded = 0

  constructor(private readonly x: Exports) {
    this.mem = new Uint8Array(0)
    this.room(PAGE)
  }

  /** Makes the memory hold LOADED + n bytes. */
  private room(n: number): void {
    const need = LOADED + n
    const have = this.x.memory.buffer.byteLength
    if (need > have) this.x.memory.grow(Math.ceil((need - have) / PAGE))
    // growing detaches the old buffer: the view is made again
    if (this.mem.buffer !== this.x.memory.buffer) this.mem = new Uint8Array(this.x.memory.buffer)
  }

  /**
   * Writes the inside of the JSON string of `src` (at most ESCAPE_MAX bytes) into `dst` at `at`, as
   * JSON.stringify escapes it; returns the position after it, or -1 when `src` is not all ASCII
   * (nothing is written then). `dst` needs room for 6 bytes per byte of `src`.
   */
  escapeAscii(src: Uint8Array, dst: Buffer, at: number): number {
    const n = src.length
    this.mem.set(src, ESCAPE_IN)
    const k = this.x.escapeAscii(ESCAPE_IN, n, OUT)
    if (k < 0) return -1
    // a plain Uint8Array's subarray and set: builtins (Buffer's copy checks its arguments in JavaScript)
    dst.set(this.mem.subarray(OUT, OUT + k), at)
    return at + k
  }

  /** Copies `b` in, for unhexLoaded (what was loaded before is gone). */
  load(b: Buffer): void {
    this.room(b.length)
    this.mem.set(b, LOADED)
    this.loaded = b.length
  }

  /**
   * The bytes of the hex digits at [a, end) of what was loaded (an even count, at most 2 * 65536), as
   * a new buffer; undefined when one of them is not a hex digit.
   */
  unhexLoaded(a: number, end: number): Buffer | undefined {
    if (end > this.loaded || a < 0 || end - a > 2 * PAGE || (end - a) % 2 !== 0)
      throw new RangeError(`unhexLoaded(${a}, ${end}) outside the ${this.loaded} bytes loaded`)
    const k = this.x.unhex(LOADED + a, end - a, OUT)
    if (k < 0) return undefined
    const raw = Buffer.allocUnsafe(k)
    raw.set(this.mem.subarray(OUT, OUT + k))
    return raw
  }
}

/** this thread's kernels, made once (a cache of something that never changes): null when not available here */
const thread: { kernels?: ByteKernels | null } = {}

/** The kernels of this thread, made on first use; undefined without WebAssembly SIMD, or with HEP_WASM=0. */
export function byteKernels(): ByteKernels | undefined {
  if (!('kernels' in thread)) thread.kernels = makeKernels()
  return thread.kernels ?? undefined
}

function makeKernels(): ByteKernels | null {
  if (process.env.HEP_WASM === '0' || typeof WebAssembly !== 'object') return null
  try {
    const module = new WebAssembly.Module(Buffer.from(BYTE_KERNELS_WASM, 'base64'))
    return new ByteKernels(new WebAssembly.Instance(module, {}).exports as unknown as Exports)
  } catch {
    // no SIMD (an old engine): the JavaScript loops
    return null
  }
}
