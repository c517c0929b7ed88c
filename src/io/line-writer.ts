/**
 * Buffered line output with backpressure and EPIPE detection: many small writes (one JSON line per
 * packet) become few large ones; a closed pipe (`| head`) is reported once through `onClosed`.
 *
 * Lines are encoded straight into a chunk of bytes as they come (`line`, or `packet` for a packet's
 * JSON line, which is written without building its text). A flush hands the stream a view of what
 * was written since the last flush and goes on writing after it in the same chunk, so a chunk is
 * shared by many writes and never reused under a write still pending.
 */
import type { Writable } from 'node:stream'
import { writeJsonLine, type ByteOut } from '../hep/json-bytes.js'
import type { HepPacket } from '../hep/packet.js'

const CHUNK = 256 * 1024

export class LineWriter implements ByteOut {
  buf: Buffer
  pos = 0
  /** start of what is written but not yet flushed */
  private start = 0
  private scheduled = false
  private waiters: (() => void)[] = []
  closed = false
  lines = 0

  constructor(
    private readonly out: Writable,
    private readonly onClosed: () => void = () => {},
    private readonly highWater = 64 * 1024,
    private readonly chunkSize = CHUNK,
  ) {
    this.buf = Buffer.allocUnsafe(chunkSize)
    out.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') this.markClosed()
      else throw e
    })
    out.on('close', () => this.markClosed())
  }

  private markClosed(): void {
    if (this.closed) return
    this.closed = true
    this.start = this.pos = 0
    for (const w of this.waiters.splice(0)) w()
    this.onClosed()
  }

  /** Makes `n` bytes free at `pos`: flushes what is pending and starts a new chunk if they don't fit. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return
    this.flush()
    this.buf = Buffer.allocUnsafe(Math.max(this.chunkSize, n))
    this.start = this.pos = 0
  }

  /** Queues one line (a newline is added). */
  line(s: string): void {
    if (this.closed) return
    this.room(3 * s.length + 1) // UTF-8 takes at most 3 bytes per UTF-16 unit
    this.pos += this.buf.write(s, this.pos, 'utf8')
    this.buf[this.pos++] = 10
    this.written()
  }

  /** Queues a packet's JSON line (toJsonLine(p) + suffix), written as bytes without building text. */
  packet(p: HepPacket, suffix?: Uint8Array): void {
    if (this.closed) return
    writeJsonLine(p, this, suffix)
    this.written()
  }

  private written(): void {
    this.lines++
    if (this.pos - this.start >= this.highWater) this.flush()
    else if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => {
        this.scheduled = false
        this.flush()
      })
    }
  }

  /** Writes what is queued; returns false when the stream asked us to wait (see `drained`). */
  flush(): boolean {
    if (this.closed) return false
    if (this.pos === this.start) return true
    const view = this.buf.subarray(this.start, this.pos)
    this.start = this.pos
    return this.out.write(view)
  }

  /** Resolves when the stream can take more (immediately if it can). Use after many lines. */
  async drained(): Promise<void> {
    if (this.closed) return
    if (this.pos - this.start >= this.highWater) this.flush()
    if (!(this.out as Writable & { writableNeedDrain?: boolean }).writableNeedDrain) return
    await new Promise<void>((resolve) => {
      this.waiters.push(resolve)
      this.out.once('drain', () => {
        this.waiters = this.waiters.filter((w) => w !== resolve)
        resolve()
      })
    })
  }

  /** Flushes everything and waits until it is handed to the OS. */
  async end(): Promise<void> {
    this.flush()
    await this.drained()
  }
}
