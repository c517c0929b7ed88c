/**
 * Output bytes written in place into large chunks (text, copies of buffers, packets' JSON lines) and
 * handed on as views: `take()` returns what was written since the last take, and writing goes on
 * after it in the same chunk, so one chunk serves many writes and is never rewritten under a write
 * still pending. When a chunk is full, what it holds is given to `spill` and a new chunk begins.
 */
import { writeJsonLine, type ByteOut } from '../hep/json-bytes.js'
import type { IsoCache } from '../hep/json-fields.js'
import type { HepPacket } from '../hep/packet.js'

const CHUNK = 256 * 1024

export class ChunkedBytes implements ByteOut {
  buf: Buffer
  pos = 0
  readonly iso: IsoCache = { second: NaN, prefix: '' }
  /** start of what is written but not yet taken */
  private start = 0

  constructor(
    private readonly spill: (bytes: Buffer) => void,
    private readonly chunkSize = CHUNK,
  ) {
    this.buf = Buffer.allocUnsafe(chunkSize)
  }

  /** bytes written and not yet taken */
  get pending(): number {
    return this.pos - this.start
  }

  /** Makes `n` bytes free at `pos`: spills what is pending and starts a new chunk if they don't fit. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const rest = this.take()
    if (rest !== undefined) this.spill(rest)
    this.buf = Buffer.allocUnsafe(Math.max(this.chunkSize, n))
    this.start = this.pos = 0
  }

  /** What was written since the last take (a view of the chunk), or undefined if nothing was. */
  take(): Buffer | undefined {
    if (this.pos === this.start) return undefined
    const view = this.buf.subarray(this.start, this.pos)
    this.start = this.pos
    return view
  }

  /** Appends `s` as UTF-8. */
  text(s: string): void {
    this.room(3 * s.length) // UTF-8 takes at most 3 bytes per UTF-16 unit
    this.pos += this.buf.write(s, this.pos, 'utf8')
  }

  /** Appends `s` and a newline. */
  line(s: string): void {
    this.text(s)
    this.room(1)
    this.buf[this.pos++] = 10
  }

  /** Appends a copy of `b`. */
  bytes(b: Uint8Array): void {
    this.room(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }

  /** Appends `b` as hex digits and a newline. */
  hexLine(b: Buffer): void {
    this.room(2 * b.length + 1)
    this.pos += this.buf.write(b.toString('hex'), this.pos, 'latin1')
    this.buf[this.pos++] = 10
  }

  /** Appends the packet's JSON line (toJsonLine(p) + suffix and a newline). */
  json(p: HepPacket, suffix?: Uint8Array): void {
    writeJsonLine(p, this, suffix)
  }

  /** Forgets what is pending (the output is gone). */
  clear(): void {
    this.start = this.pos = 0
  }
}
