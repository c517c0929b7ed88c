/** Buffered binary/text output to a file or stdout ('-'), with backpressure. */
import { createWriteStream } from 'node:fs'
import type { Writable } from 'node:stream'

export class ByteSink {
  private parts: Buffer[] = []
  private size = 0
  readonly stream: Writable
  private readonly ownStream: boolean
  closed = false
  bytes = 0

  constructor(
    target: string | Writable,
    private readonly highWater = 256 * 1024,
  ) {
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

  write(b: Buffer | string): void {
    if (this.closed) return
    const buf = typeof b === 'string' ? Buffer.from(b) : b
    this.parts.push(buf)
    this.size += buf.length
    this.bytes += buf.length
  }

  /** Flushes when enough is buffered; awaits the stream's drain when it asks to wait. */
  async maybeFlush(): Promise<void> {
    if (this.size >= this.highWater) await this.flush()
  }

  async flush(): Promise<void> {
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
