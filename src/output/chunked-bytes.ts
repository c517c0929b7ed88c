/**
 * Output bytes written in place into large chunks (text, copies of buffers, packets' JSON lines) and
 * handed on as views: `take()` returns what was written since the last take, and writing goes on
 * after it in the same chunk, so one chunk serves many writes and is never rewritten under a write
 * still pending. When a chunk is full, the whole items it holds (up to the last `mark()`) are given to
 * `spill` and a new chunk begins with the item in progress: what is handed on always ends where an
 * item (a line, a packet, a pcap record) ends, so a file cut back to what the OS accepted is whole.
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
  /** start of the item in progress (end of the last whole one) */
  private itemStart = 0

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

  /**
   * Makes `n` bytes free at `pos`: if they don't fit, spills the whole items pending and starts a new
   * chunk, moving the item in progress to its start.
   */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const partial = this.pos - this.itemStart
    if (this.itemStart > this.start) this.spill(this.buf.subarray(this.start, this.itemStart))
    const next = Buffer.allocUnsafe(Math.max(this.chunkSize, n + partial))
    if (partial > 0) this.buf.copy(next, 0, this.itemStart, this.pos)
    this.buf = next
    this.start = this.itemStart = 0
    this.pos = partial
  }

  /** An item ends here (see room). */
  mark(): void {
    this.itemStart = this.pos
  }

  /** What was written since the last take (a view of the chunk), or undefined if nothing was. */
  take(): Buffer | undefined {
    if (this.pos === this.start) return undefined
    const view = this.buf.subarray(this.start, this.pos)
    this.start = this.itemStart = this.pos
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
    this.start = this.itemStart = this.pos = 0
  }
}
