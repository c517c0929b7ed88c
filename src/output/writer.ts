/**
 * The one buffered writer behind stdout and every output file. What is written goes into shared
 * chunks in place (see ChunkedBytes: text, copies of buffers, hex lines, packets' JSON lines, pcap
 * records) and is handed to the stream in large writes, on the next turn of the event loop or when a
 * chunk is full.
 *
 * - Bounded: `buffered` is what was written but not yet accepted by the OS (our chunk plus the
 *   stream's queue); `full` says it reached `maxBuffer` (default 64 MiB). Producers that can wait
 *   `await drained()`; those that cannot (a listener) pause their inputs or drop while `full`.
 * - Errors (ENOSPC, EIO, EPIPE, EBADF, an unopenable path…) never throw: the first one stops the
 *   output, is reported once through `onError` with the path and the reason in words, and later
 *   writes are ignored. A file we opened is cut back to the last byte the OS confirmed, and every
 *   write we hand over ends where a record ends, so the file ends on a record boundary.
 * - Listeners on the stream are added once, never per write (no MaxListenersExceeded).
 */
import { createWriteStream, truncateSync, writeSync } from 'node:fs'
import type { Writable } from 'node:stream'
import type { HepPacket } from '../hep/packet.js'
import { ChunkedBytes } from './chunked-bytes.js'
import { fifoWriteStream } from './fifo.js'

/** Default bound on output written but not yet accepted by stdout or a file. */
export const DEFAULT_MAX_BUFFER = 64 * 1024 * 1024

const REASONS: Record<string, string> = {
  ENOSPC: 'disk full',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  EPIPE: 'the reader went away',
  ERR_STREAM_DESTROYED: 'the output was closed',
  EBADF: 'not an open file descriptor',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ECONNRESET: 'the reader went away',
  ESTOPPED: 'its reader had not taken everything when the command stopped',
}

/** An output that failed: where, the errno code, and the reason in words ("disk full (ENOSPC)"). */
export class OutputError extends Error {
  constructor(
    /** the path, or 'stdout' */
    readonly path: string,
    readonly code: string,
    /** "disk full (ENOSPC)" */
    readonly reason: string,
    override readonly cause?: Error,
  ) {
    super(`${path}: ${reason}`)
    this.name = 'OutputError'
  }
}

export function outputError(e: unknown, path: string): OutputError {
  const err = e as NodeJS.ErrnoException
  const code = typeof err?.code === 'string' ? err.code : 'EIO'
  const words = REASONS[code]
  const reason = words ? `${words} (${code})` : `${err?.message ?? String(e)}`
  return new OutputError(path, code, reason, e instanceof Error ? e : undefined)
}

/** "64M", "512k", "1GiB", "1048576" → bytes; undefined when not a size. */
export function parseSize(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(i?b)?\s*$/i.exec(s)
  if (!m) return undefined
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g']
  const n = Math.floor(Number(m[1]) * mult)
  return Number.isSafeInteger(n) && n > 0 ? n : undefined
}

export interface WriterOptions {
  /** bound in bytes on what is written but not yet accepted by the OS (default 64 MiB) */
  maxBuffer?: number
  /** the name in messages (default: the path, or 'output'; give 'stdout' for stdout) */
  name?: string
  /** called once, on the first error; the output then stops */
  onError?: (e: OutputError) => void
  /** bytes per chunk (tests use tiny ones) */
  chunkSize?: number
  /** hand over at once when this much is pending (default 64 KiB) */
  flushAt?: number
  /** end() also ends a stream we were given (never set it for stdout or stderr) */
  endStream?: boolean
}

type Stream = Writable & { writableNeedDrain?: boolean; writableLength: number }

export class OutputWriter {
  readonly bytes: ChunkedBytes
  readonly stream: Stream
  readonly name: string
  readonly maxBuffer: number
  /** the file we opened (cut back to `confirmed` on an error), if any */
  private readonly path: string | undefined
  private readonly flushAt: number
  private readonly onError: ((e: OutputError) => void) | undefined
  private scheduled = false
  private waiters: (() => void)[] = []
  /** writes handed over whose callback has not come yet */
  private inFlight = 0
  private settled: (() => void)[] = []
  private readonly endStream: boolean
  private ending: Promise<void> | undefined
  /** no more output: failed, the reader went away, or ended */
  closed = false
  /** why the output stopped, if it failed */
  error: OutputError | undefined
  /** bytes the OS accepted */
  confirmed = 0
  /** bytes handed to the stream */
  handed = 0
  /** items (lines, packets, records) written */
  lines = 0
  /** stdout redirected to a file: written here with writeSync, so a short write is seen (Node's stream ignores it) */
  private readonly syncFd: number | undefined
  /** something else than lines was written (a partial write then cannot be counted in lines) */
  private binary = false
  /** items handed to the stream, and those of them the OS accepted (what a failed file still holds) */
  private linesHanded = 0
  confirmedItems = 0
  /** items not taken by a reader given up on (endWithin) */
  abandoned = 0

  constructor(target: string | Writable, opts: WriterOptions = {}) {
    this.maxBuffer = opts.maxBuffer ?? DEFAULT_MAX_BUFFER
    this.flushAt = opts.flushAt ?? 64 * 1024
    this.onError = opts.onError
    this.endStream = opts.endStream === true
    this.bytes = new ChunkedBytes((b) => this.send(b), opts.chunkSize)
    if (typeof target === 'string') {
      this.path = target
      // a FIFO: written as a pipe, so Ctrl-C can stop an open or a write that waits for its reader
      this.stream = (fifoWriteStream(target, 4 * 1024 * 1024) ??
        createWriteStream(target, { highWaterMark: 4 * 1024 * 1024 })) as Stream
    } else {
      this.stream = target as Stream
    }
    const st = this.stream as Stream & { fd?: number }
    this.syncFd =
      this.path === undefined && st.constructor?.name === 'SyncWriteStream' && typeof st.fd === 'number'
        ? st.fd
        : undefined
    this.name = opts.name ?? this.path ?? 'output'
    this.stream.on('error', (e: Error) => this.fail(e))
    this.stream.on('drain', () => this.wake())
    this.stream.on('close', () => {
      if (!this.ending) this.fail(Object.assign(new Error('closed'), { code: 'EPIPE' }))
      this.wake()
    })
  }

  /** bytes written and not yet accepted by the OS */
  get buffered(): number {
    return this.bytes.pending + this.stream.writableLength
  }

  /** over the bound: producers should wait (`drained()`), pause their inputs, or drop */
  get full(): boolean {
    return !this.closed && this.buffered >= this.maxBuffer
  }

  /** Appends `s` as UTF-8. */
  text(s: string): void {
    if (this.closed) return
    this.bytes.text(s)
    this.written()
  }

  /** Appends one line (a newline is added). */
  line(s: string): void {
    if (this.closed) return
    this.bytes.line(s)
    this.written()
  }

  /** Appends a copy of `b`. */
  write(b: Uint8Array | string): void {
    if (this.closed) return
    if (typeof b === 'string') this.bytes.text(b)
    else {
      this.binary = true
      this.bytes.bytes(b)
    }
    this.written()
  }

  /** Appends `b` as a line of hex. */
  hexLine(b: Buffer): void {
    if (this.closed) return
    this.bytes.hexLine(b)
    this.written()
  }

  /** Appends a packet's JSON line (toJsonLine(p) + suffix), written as bytes without building text. */
  packet(p: HepPacket, suffix?: Uint8Array): void {
    if (this.closed) return
    this.bytes.json(p, suffix)
    this.written()
  }

  /** Appends the packet's JSON line. */
  json(p: HepPacket): void {
    this.packet(p)
  }

  /**
   * `n` bytes free in place at `bytes.buf[bytes.pos]` for one record written by the caller (who then
   * advances `bytes.pos` and calls `written()`); false when the output has stopped.
   */
  reserve(n: number): boolean {
    if (this.closed) return false
    this.binary = true
    this.bytes.room(n)
    return true
  }

  /** An item was appended (`items` 0: a file header): hands it over at once when much is pending, else on the next turn. */
  written(items = 1): void {
    this.bytes.mark()
    this.lines += items
    if (this.bytes.pending >= this.flushAt) this.flush()
    else if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => {
        this.scheduled = false
        this.flush()
      })
    }
  }

  /** Hands what is pending to the stream; returns false when the stream asked us to wait. */
  flush(): boolean {
    if (this.closed) return false
    const b = this.bytes.take()
    if (b !== undefined) this.send(b)
    return !this.stream.writableNeedDrain
  }

  private send(b: Buffer): void {
    if (this.closed) return
    const n = b.length
    // items are counted after they are written and chunks spill before the next is: these are whole
    const items = this.lines - this.linesHanded
    this.linesHanded = this.lines
    this.handed += n
    if (this.syncFd !== undefined) {
      let off = 0
      try {
        while (off < n) off += writeSync(this.syncFd, b, off, n - off)
      } catch (e) {
        this.confirmed += off
        if (!this.binary)
          for (let i = b.indexOf(10); i >= 0 && i < off; i = b.indexOf(10, i + 1)) this.confirmedItems++
        this.fail(e)
        return
      }
      this.confirmed += n
      this.confirmedItems += items
      return
    }
    this.inFlight++
    try {
      this.stream.write(b, (err) => {
        if (!err) {
          this.confirmed += n
          this.confirmedItems += items
        }
        if (--this.inFlight === 0) for (const w of this.settled.splice(0)) w()
      })
    } catch (e) {
      // stdout redirected to a file writes synchronously, and throws
      this.inFlight--
      this.fail(e)
    }
  }

  /** Resolves when the stream can take more (at once if it can), or the output has stopped. */
  async drained(): Promise<void> {
    this.flush()
    if (this.closed || !this.stream.writableNeedDrain) return
    await new Promise<void>((resolve) => this.waiters.push(resolve))
  }

  /** Alias of drained() for file sinks. */
  maybeFlush(): Promise<void> {
    return this.drained()
  }

  private wake(): void {
    if (this.waiters.length === 0) return
    if (!this.closed && this.stream.writableNeedDrain) return
    for (const w of this.waiters.splice(0)) w()
  }

  private fail(e: unknown): void {
    if (this.error || this.done) return
    this.closed = true
    this.bytes.clear()
    this.error = outputError(e, this.name)
    if (this.path !== undefined) {
      // cut back to what the OS confirmed: every write ended on a record boundary
      try {
        truncateSync(this.path, this.confirmed)
      } catch {
        // never opened, or gone: nothing to repair
      }
    }
    for (const w of this.waiters.splice(0)) w()
    for (const w of this.settled.splice(0)) w()
    if (!this.stream.destroyed && this.path !== undefined) this.stream.destroy()
    // a stream shared with another writer (stdout) failed under that one: it reports, this one stops
    if (this.path === undefined && this.handed === 0) return
    this.onError?.(this.error)
  }

  /**
   * Flushes everything and waits until it is handed to the OS; a file we opened is closed. Never
   * rejects: a failure is in `error` (and was reported through onError). Safe to call twice.
   */
  end(): Promise<void> {
    this.ending ??= this.doEnd()
    return this.ending
  }

  /**
   * end(), but a reader that has not taken everything within `ms` is given up on: what it has not
   * taken is dropped (`abandoned` items, never counted as confirmed) and the output closes. For
   * stopping on a signal behind a stalled reader (files are not given up on: use end()).
   */
  async endWithin(ms: number): Promise<void> {
    const ending = this.end()
    let timer: NodeJS.Timeout | undefined
    const late = await Promise.race([
      ending.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), ms))),
    ])
    clearTimeout(timer)
    if (!late || this.closed) return
    this.abandoned = this.lines - this.confirmedItems
    this.closed = true
    this.done = true
    this.bytes.clear()
    for (const w of this.waiters.splice(0)) w()
    for (const w of this.settled.splice(0)) w()
    await ending
  }

  /** Alias of end(). */
  close(): Promise<void> {
    return this.end()
  }

  private done = false

  private async doEnd(): Promise<void> {
    this.flush()
    const s = this.stream
    const own = this.path !== undefined || this.endStream
    if (!own) {
      // stdout or a stream we were given: wait until what we wrote was taken, without closing it
      if (!this.closed && this.inFlight > 0) await new Promise<void>((resolve) => this.settled.push(resolve))
    } else if (!this.closed && !s.destroyed) {
      await new Promise<void>((resolve) => {
        s.once(this.path !== undefined ? 'close' : 'finish', () => resolve())
        s.once('close', () => resolve())
        s.end()
      })
    }
    this.closed = true
    this.done = true
  }
}
