/**
 * Rotating outputs for a long-running listen (--rotate-seconds, --rotate-size, --rotate-keep): the
 * packets go to `calls-20261201T233000.123Z.pcap` (the path given, with the start time of each file
 * before its extension), a new file when the current one is older than `seconds` or larger than
 * `bytes`. A file is closed (flushed, whole records, readable) as soon as it is due, even when no
 * packet comes to open the next; with `keep`, only the newest `keep` files of that name remain (older
 * ones, of earlier runs too, are deleted).
 */
import { readdirSync, unlinkSync } from 'node:fs'
import { basename, dirname, extname, join } from 'node:path'
import type { HepPacket } from '../hep/packet.js'
import type { OutputError, OutputWriter } from '../output/writer.js'
import {
  openSink,
  type HepVia,
  type OutputFormat,
  type PacketSink,
  type SinkOptions,
  type SinkTime,
} from './sinks.js'

export interface RotateOptions {
  /** a new file after this many seconds */
  seconds?: number
  /** a new file once this many bytes were written */
  bytes?: number
  /** keep this many files (the newest), deleting older ones */
  keep?: number
}

/** `calls.pcap` at `t` → `calls-20261201T233000.123Z.pcap` (`n`: `…Z-n.pcap`, a second file of the same ms) */
export function rotatedName(path: string, t: Date, n = 0): string {
  const ext = extname(path)
  const stamp = t.toISOString().replace(/[-:]/g, '')
  return join(dirname(path), `${basename(path, ext)}-${stamp}${n > 0 ? `-${n}` : ''}${ext}`)
}

/** The files of earlier rotations of `path`, oldest first. */
export function rotatedFiles(path: string): string[] {
  const ext = extname(path)
  const base = basename(path, ext).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const re = new RegExp(`^${base}-\\d{8}T\\d{6}\\.\\d{3}Z(?:-\\d+)?${ext.replace('.', '\\.')}$`)
  let names: string[]
  try {
    names = readdirSync(dirname(path))
  } catch {
    return []
  }
  return names
    .filter((n) => re.test(n))
    .sort()
    .map((n) => join(dirname(path), n))
}

export class RotatingSink implements PacketSink {
  private cur: PacketSink | undefined
  private last: PacketSink | undefined
  private startedAt = 0
  private lastName = ''
  private readonly closing: Promise<void>[] = []
  private timer: NodeJS.Timeout | undefined
  /** the files written, in order */
  readonly files: string[] = []
  private firstError: OutputError | undefined

  constructor(
    readonly format: OutputFormat,
    private readonly path: string,
    private readonly opts: SinkOptions,
    private readonly rotate: RotateOptions,
  ) {
    if (rotate.seconds !== undefined) {
      this.timer = setInterval(() => this.rotateIfDue(Date.now()), Math.min(1000, rotate.seconds * 250))
      this.timer.unref()
    }
    this.current() // the first file exists from the start
  }

  write(p: HepPacket, bytes: Buffer, time: SinkTime, via?: HepVia): void {
    this.rotateIfDue(Date.now())
    this.current().write(p, bytes, time, via)
  }

  maybeFlush(): Promise<void> {
    return this.cur?.maybeFlush() ?? Promise.resolve()
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.finishCurrent()
    await Promise.all(this.closing)
  }

  get full(): boolean {
    return this.cur?.full ?? false
  }

  get error(): OutputError | undefined {
    return this.firstError ?? this.cur?.error
  }

  get out(): OutputWriter {
    return (this.cur ?? this.last)!.out
  }

  private current(): PacketSink {
    if (this.cur) return this.cur
    const now = new Date()
    let name = rotatedName(this.path, now)
    for (let i = 1; name === this.lastName || this.files.includes(name); i++)
      name = rotatedName(this.path, now, i)
    this.lastName = name
    const sink = openSink(this.format, name, this.opts)
    this.cur = sink
    this.last = sink
    this.startedAt = now.getTime()
    this.files.push(name)
    this.prune()
    return sink
  }

  private written(s: PacketSink): number {
    return s.out.handed + s.out.bytes.pending
  }

  private rotateIfDue(now: number): void {
    const s = this.cur
    if (s === undefined) return
    const r = this.rotate
    const old = r.seconds !== undefined && now - this.startedAt >= r.seconds * 1000
    const big = r.bytes !== undefined && this.written(s) >= r.bytes
    if (old || big) this.finishCurrent()
  }

  /** Closes the current file (the next packet opens a new one). */
  private finishCurrent(): void {
    const s = this.cur
    if (s === undefined) return
    this.cur = undefined
    this.closing.push(
      s.close().then(() => {
        if (s.error && !this.firstError) this.firstError = s.error
      }),
    )
  }

  /** Deletes the oldest files beyond `keep` (the current one never). */
  private prune(): void {
    const keep = this.rotate.keep
    if (keep === undefined) return
    const files = rotatedFiles(this.path).filter((f) => f !== this.lastName)
    for (const f of files.slice(0, Math.max(0, files.length - (keep - 1)))) {
      try {
        unlinkSync(f)
      } catch {
        // gone already
      }
    }
  }
}

/** An openSink that rotates file outputs (streams are not rotated). */
export function rotatingOpenSink(rotate: RotateOptions): typeof openSink {
  return (format, target, opts) =>
    typeof target === 'string' && target !== '-'
      ? new RotatingSink(format, target, opts ?? {}, rotate)
      : openSink(format, target, opts)
}
