/**
 * Buffered line output with backpressure and EPIPE detection: many small writes (one JSON line per
 * packet) become few large ones; a closed pipe (`| head`) is reported once through `onClosed`.
 * Lines are encoded into shared chunks as they come (`packet` writes a packet's JSON line without
 * building its text); see ChunkedBytes.
 */
import type { Writable } from 'node:stream'
import type { HepPacket } from '../hep/packet.js'
import { ChunkedBytes } from './chunked-bytes.js'

export class LineWriter {
  private readonly bytes: ChunkedBytes
  private scheduled = false
  private waiters: (() => void)[] = []
  closed = false
  lines = 0

  constructor(
    private readonly out: Writable,
    private readonly onClosed: () => void = () => {},
    private readonly highWater = 64 * 1024,
    chunkSize?: number,
  ) {
    this.bytes = new ChunkedBytes((b) => this.out.write(b), chunkSize)
    out.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') this.markClosed()
      else throw e
    })
    out.on('close', () => this.markClosed())
  }

  private markClosed(): void {
    if (this.closed) return
    this.closed = true
    this.bytes.clear()
    for (const w of this.waiters.splice(0)) w()
    this.onClosed()
  }

  /** Queues one line (a newline is added). */
  line(s: string): void {
    if (this.closed) return
    this.bytes.line(s)
    this.written()
  }

  /** Queues a packet's JSON line (toJsonLine(p) + suffix), written as bytes without building text. */
  packet(p: HepPacket, suffix?: Uint8Array): void {
    if (this.closed) return
    this.bytes.json(p, suffix)
    this.written()
  }

  private written(): void {
    this.lines++
    if (this.bytes.pending >= this.highWater) this.flush()
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
    const b = this.bytes.take()
    return b === undefined ? true : this.out.write(b)
  }

  /** Resolves when the stream can take more (immediately if it can). Use after many lines. */
  async drained(): Promise<void> {
    if (this.closed) return
    if (this.bytes.pending >= this.highWater) this.flush()
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
