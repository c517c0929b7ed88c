/**
 * Buffered binary/text output to a file or stdout ('-'), with backpressure. What is written goes into
 * shared chunks (see ChunkedBytes): text, copies of buffers, hex lines, packets' JSON lines.
 */
import { createWriteStream } from 'node:fs'
import type { Writable } from 'node:stream'
import type { HepPacket } from '../hep/packet.js'
import { ChunkedBytes } from './chunked-bytes.js'

export class ByteSink {
  /** full chunks waiting for the next flush */
  private parts: Buffer[] = []
  private size = 0
  private readonly out: ChunkedBytes
  readonly stream: Writable
  private readonly ownStream: boolean
  closed = false

  constructor(
    target: string | Writable,
    private readonly highWater = 256 * 1024,
    chunkSize?: number,
  ) {
    this.out = new ChunkedBytes((b) => this.park(b), chunkSize)
    this.ownStream = typeof target === 'string' && target !== '-'
    this.stream =
      typeof target === 'string'
        ? target === '-'
          ? process.stdout
          : createWriteStream(target, { highWaterMark: 4 * 1024 * 1024 })
        : target
    this.stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') this.closed = true
    })
  }

  private park(b: Buffer): void {
    this.parts.push(b)
    this.size += b.length
  }

  /** Appends a copy of `b`, or `b` as UTF-8 text. */
  write(b: Buffer | string): void {
    if (this.closed) return
    if (typeof b === 'string') this.out.text(b)
    else this.out.bytes(b)
  }

  /** Appends `b` as a line of hex. */
  hexLine(b: Buffer): void {
    if (!this.closed) this.out.hexLine(b)
  }

  /** Appends the packet's JSON line. */
  json(p: HepPacket): void {
    if (!this.closed) this.out.json(p)
  }

  /** Flushes when enough is buffered; awaits the stream's drain when it asks to wait. */
  async maybeFlush(): Promise<void> {
    if (this.size + this.out.pending >= this.highWater) await this.flush()
  }

  async flush(): Promise<void> {
    const rest = this.out.take()
    if (rest !== undefined) this.park(rest)
    if (this.closed || this.parts.length === 0) return
    const data = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size)
    this.parts = []
    this.size = 0
    if (!this.stream.write(data)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stream.off('drain', done)
          this.stream.off('close', done)
          this.stream.off('error', done)
          resolve()
        }
        this.stream.on('drain', done)
        this.stream.on('close', done)
        this.stream.on('error', done)
      })
    }
  }

  async close(): Promise<void> {
    await this.flush()
    if (!this.ownStream || this.closed) return
    this.closed = true
    await new Promise<void>((resolve, reject) => {
      this.stream.end((err?: Error | null) => (err ? reject(err) : resolve()))
    })
  }
}
