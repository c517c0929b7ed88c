/**
 * Buffered line output with backpressure and EPIPE detection: many small writes (one JSON line per
 * packet) become few large ones; a closed pipe (`| head`) is reported once through `onClosed`.
 */
import type { Writable } from 'node:stream'

export class LineWriter {
  private buf = ''
  private size = 0
  private scheduled = false
  private waiters: (() => void)[] = []
  closed = false
  lines = 0

  constructor(
    private readonly out: Writable,
    private readonly onClosed: () => void = () => {},
    private readonly highWater = 64 * 1024,
  ) {
    out.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') this.markClosed()
      else throw e
    })
    out.on('close', () => this.markClosed())
  }

  private markClosed(): void {
    if (this.closed) return
    this.closed = true
    this.buf = ''
    this.size = 0
    for (const w of this.waiters.splice(0)) w()
    this.onClosed()
  }

  /** Queues one line (a newline is added). */
  line(s: string): void {
    if (this.closed) return
    this.buf += s + '\n'
    this.size += s.length + 1
    this.lines++
    if (this.size >= this.highWater) this.flush()
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
    if (this.closed || this.size === 0) return !this.closed
    const text = this.buf
    this.buf = ''
    this.size = 0
    return this.out.write(text)
  }

  /** Resolves when the stream can take more (immediately if it can). Use after many lines. */
  async drained(): Promise<void> {
    if (this.closed) return
    if (this.size >= this.highWater) this.flush()
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
