/**
 * The disk spool of one relay destination: packets that could not go out (the destination down or
 * slow, its memory queue full) wait here, in order, in segment files of length-prefixed records
 * (`<seq>.spool`: u32 big-endian length, then the packet's bytes). Appends are written at once (a
 * killed process loses nothing that reached the spool); the reader hands records out in order and a
 * record's place is released only when the caller confirms it (`commit`), so what was handed to a
 * sender and not yet confirmed is sent again after a restart (duplicates possible, nothing lost).
 * The committed place is kept in `position` (segment and offset), written at most every 100 ms and
 * at the close; whole segments are deleted once committed. Several spools share one size limit
 * (SpoolLimit): past it an append is refused and the caller counts the packet as dropped.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import { HepError } from '../errors.js'
import { outputError } from '../output/writer.js'

/** The bytes all spools of a relay may hold together. */
export class SpoolLimit {
  used = 0
  constructor(readonly limit: number) {}
}

const SEGMENT_BYTES = 4 * 1024 * 1024
const READ_CHUNK = 256 * 1024
const SEQ_DIGITS = 12
/** the first segment's number: low enough to count up for ever, high enough to prepend before it */
const FIRST_SEQ = 1e11
const POSITION = 'position'
const MAX_RECORD = 16 * 1024 * 1024

interface Segment {
  seq: number
  /** bytes in the file (what was written) */
  size: number
}

const segName = (seq: number) => `${String(seq).padStart(SEQ_DIGITS, '0')}.spool`

/** A spool directory that cannot be used, as an input error naming it. */
function spoolError(dir: string, e: unknown): HepError {
  const err = e as NodeJS.ErrnoException
  // "a part of the path is not a directory (ENOTDIR)", naming the path that failed (Node's message
  // repeated the code and named the system call)
  const where = typeof err.path === 'string' && err.path !== dir ? ` (${err.path})` : ''
  return new HepError('INPUT_FORMAT', `--spool ${dir}${where}: ${outputError(e, dir).reason}`)
}

export class DiskSpool {
  /** packets waiting (on disk, not yet handed out) */
  packets = 0
  /** bytes of the segment files (records handed out but not committed included) */
  bytes = 0
  /** packets found in the spool when it was opened (left by an earlier run) */
  readonly recovered: number
  private readonly segments: Segment[] = []
  private writeFd: number | undefined
  /** the segment records are read from and where in it */
  private readFd: number | undefined
  private readSeq: number
  private readOffset = 0
  private buf = Buffer.alloc(0)
  private bufAt = 0
  /** handed out, not committed: the segment and the offset after each record, in order */
  private readonly handed: Array<{ seq: number; end: number }> = []
  /** the committed place: everything before it was confirmed */
  private committed: { seq: number; offset: number }
  private positionTimer: NodeJS.Timeout | undefined
  private positionDirty = false
  /** the position could not be saved in the background (disk full, folder gone): the next call throws it */
  private failure: Error | undefined
  private closed = false

  constructor(
    readonly dir: string,
    private readonly limit: SpoolLimit,
    /** a new segment file past this size (default 4 MiB) */
    private readonly segmentBytes = SEGMENT_BYTES,
  ) {
    try {
      mkdirSync(dir, { recursive: true })
      for (const name of readdirSync(dir).sort()) {
        const m = /^(\d+)\.spool$/.exec(name)
        if (m) this.segments.push({ seq: Number(m[1]), size: statSync(join(dir, name)).size })
      }
    } catch (e) {
      throw spoolError(dir, e)
    }
    this.committed = this.readPosition()
    // segments before the committed one were all confirmed (deleting them had not happened yet)
    while (this.segments.length > 0 && this.segments[0].seq < this.committed.seq) this.dropFirst()
    if (this.segments.length > 0 && this.segments[0].seq !== this.committed.seq)
      this.committed = { seq: this.segments[0].seq, offset: 0 }
    this.readSeq = this.committed.seq
    this.readOffset = this.committed.offset
    this.recovered = this.count() // (also cuts off a record an earlier run left unfinished)
    this.packets = this.recovered
    for (const s of this.segments) this.bytes += s.size
    this.limit.used += this.bytes
  }

  /** Appends one packet; false (nothing written) when the shared limit would be passed. */
  append(bytes: Buffer): boolean {
    if (this.failure) throw this.failure
    const need = bytes.length + 4
    if (this.limit.used + need > this.limit.limit) return false
    let last = this.segments[this.segments.length - 1]
    // a new segment when this one is full, and at the first append of this run (never after a
    // record an earlier run may have left cut short)
    if (last === undefined || last.size + need > this.segmentBytes || this.writeFd === undefined) {
      last = { seq: last ? last.seq + 1 : FIRST_SEQ, size: 0 }
      this.segments.push(last)
      if (this.segments.length === 1) {
        this.committed = { seq: last.seq, offset: 0 }
        this.readSeq = last.seq
        this.readOffset = 0
      }
      if (this.writeFd !== undefined) closeSync(this.writeFd)
      this.writeFd = openSync(join(this.dir, segName(last.seq)), 'a')
    }
    const head = Buffer.allocUnsafe(4)
    head.writeUInt32BE(bytes.length, 0)
    writeSync(this.writeFd, Buffer.concat([head, bytes], need))
    last.size += need
    this.bytes += need
    this.limit.used += need
    this.packets++
    return true
  }

  /**
   * Writes packets (in order) in a new segment before every other: what a sender still held at a
   * clean stop, older than what is spooled. The shared limit does not refuse them (they were counted
   * in it or in memory already).
   */
  prepend(bufs: Buffer[]): void {
    if (bufs.length === 0) return
    // what was handed out is either confirmed or among `bufs` now: nothing is pending before them
    this.commitAll()
    this.closeRead()
    this.cutCommitted()
    const seq = (this.segments[0]?.seq ?? FIRST_SEQ) - 1
    const parts: Buffer[] = []
    for (const b of bufs) {
      const head = Buffer.allocUnsafe(4)
      head.writeUInt32BE(b.length, 0)
      parts.push(head, b)
    }
    const data = Buffer.concat(parts)
    const tmp = join(this.dir, segName(seq) + '.tmp')
    writeFileSync(tmp, data)
    renameSync(tmp, join(this.dir, segName(seq)))
    this.segments.unshift({ seq, size: data.length })
    this.bytes += data.length
    this.limit.used += data.length
    this.packets += bufs.length
    this.committed = { seq, offset: 0 }
    this.readSeq = seq
    this.readOffset = 0
    this.writePosition()
  }

  /** Rewrites the segment being read without its committed part, so that every segment starts at offset 0. */
  private cutCommitted(): void {
    const c = this.committed
    const seg = this.segments[0]
    if (seg === undefined || seg.seq !== c.seq || c.offset === 0) return
    if (this.writeFd !== undefined) closeSync(this.writeFd) // (the next append opens a new segment)
    this.writeFd = undefined
    const path = join(this.dir, segName(seg.seq))
    const rest = readFileSync(path).subarray(c.offset, seg.size)
    writeFileSync(path + '.tmp', rest)
    renameSync(path + '.tmp', path)
    this.bytes -= seg.size - rest.length
    this.limit.used -= seg.size - rest.length
    seg.size = rest.length
    this.committed = { seq: seg.seq, offset: 0 }
  }

  /** The next packet to send (handed out: commit it once it is confirmed), or undefined. */
  shift(): Buffer | undefined {
    if (this.failure) throw this.failure
    if (this.packets === 0) return undefined
    for (;;) {
      const seg = this.segments.find((x) => x.seq === this.readSeq)
      if (seg === undefined) return undefined
      if (this.bufAt + 4 <= this.buf.length) {
        const len = this.buf.readUInt32BE(this.bufAt)
        if (this.bufAt + 4 + len <= this.buf.length) {
          const rec = Buffer.from(this.buf.subarray(this.bufAt + 4, this.bufAt + 4 + len))
          this.bufAt += 4 + len
          this.readOffset += 4 + len
          this.handed.push({ seq: seg.seq, end: this.readOffset })
          this.packets--
          return rec
        }
        if (len > MAX_RECORD) return this.corrupt(seg)
      }
      if (!this.fill(seg)) {
        // this segment is read to its end: go on with the next one
        if (seg === this.segments[this.segments.length - 1]) return undefined
        this.nextReadSegment()
      }
    }
  }

  /** The oldest `n` packets handed out were confirmed (or failed for good): their place is released. */
  commit(n: number): void {
    if (this.failure) throw this.failure
    for (let i = 0; i < n && this.handed.length > 0; i++) {
      const h = this.handed.shift()!
      this.committed = { seq: h.seq, offset: h.end }
    }
    while (this.segments.length > 1 && this.segments[0].seq < this.committed.seq) this.dropFirst()
    const first = this.segments[0]
    if (
      first !== undefined &&
      first.seq === this.committed.seq &&
      this.committed.offset >= first.size &&
      this.packets === 0 &&
      this.handed.length === 0
    ) {
      // everything was sent: start afresh (the files go, the numbering restarts)
      this.closeRead()
      if (this.writeFd !== undefined) closeSync(this.writeFd)
      this.writeFd = undefined
      while (this.segments.length > 0) this.dropFirst()
      this.committed = { seq: FIRST_SEQ, offset: 0 }
      this.readSeq = FIRST_SEQ
      this.readOffset = 0
    }
    this.positionDirty = true
    this.positionTimer ??= setTimeout(() => {
      this.positionTimer = undefined
      try {
        if (this.positionDirty && !this.closed) this.writePosition()
      } catch (e) {
        // never thrown from a timer (that would end the process): the relay hears it at its next call
        this.failure = e as Error
      }
    }, 100).unref()
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.positionTimer) clearTimeout(this.positionTimer)
    this.writePosition()
    this.closeRead()
    if (this.writeFd !== undefined) closeSync(this.writeFd)
    this.writeFd = undefined
  }

  // ------------------------------------------------------------------ inside

  private commitAll(): void {
    this.commit(this.handed.length)
  }

  /** Reads more of `seg` into the buffer; false at its end. */
  private fill(seg: Segment): boolean {
    if (this.readOffset >= seg.size && this.bufAt >= this.buf.length) return false
    if (this.readFd === undefined) this.readFd = openSync(join(this.dir, segName(seg.seq)), 'r')
    const rest = this.buf.subarray(this.bufAt)
    const fileAt = this.readOffset + rest.length
    const size = Math.max(seg.size, fstatSync(this.readFd).size)
    const want = Math.min(Math.max(READ_CHUNK, rest.length + 4), size - fileAt)
    if (want <= 0) return false
    const chunk = Buffer.allocUnsafe(rest.length + want)
    rest.copy(chunk, 0)
    const got = readSync(this.readFd, chunk, rest.length, want, fileAt)
    if (got <= 0) return false
    this.buf = chunk.subarray(0, rest.length + got)
    this.bufAt = 0
    return true
  }

  private nextReadSegment(): void {
    this.closeRead()
    const i = this.segments.findIndex((x) => x.seq === this.readSeq)
    const next = this.segments[i + 1]
    if (next === undefined) return
    this.readSeq = next.seq
    this.readOffset = 0
    // nothing of the finished segment is waiting for confirmation: the committed place moves on
    if (this.handed.length === 0) this.committed = { seq: next.seq, offset: 0 }
  }

  private closeRead(): void {
    if (this.readFd !== undefined) closeSync(this.readFd)
    this.readFd = undefined
    this.buf = Buffer.alloc(0)
    this.bufAt = 0
  }

  private corrupt(seg: Segment): undefined {
    throw new HepError(
      'INPUT_FORMAT',
      `--spool ${this.dir}: ${segName(seg.seq)} at byte ${this.readOffset}: a record longer than ${MAX_RECORD} bytes (the file is damaged; move it away)`,
    )
  }

  private dropFirst(): void {
    const s = this.segments.shift()!
    try {
      unlinkSync(join(this.dir, segName(s.seq)))
    } catch {
      // already gone
    }
    this.bytes -= s.size
    this.limit.used -= s.size
  }

  private count(): number {
    let n = 0
    for (const seg of this.segments) {
      const fd = openSync(join(this.dir, segName(seg.seq)), 'r')
      try {
        let at = seg.seq === this.committed.seq ? this.committed.offset : 0
        const head = Buffer.alloc(4)
        while (at + 4 <= seg.size) {
          readSync(fd, head, 0, 4, at)
          const len = head.readUInt32BE(0)
          if (len > MAX_RECORD) {
            this.readOffset = at
            this.corrupt(seg)
          }
          if (at + 4 + len > seg.size) break // a record cut short by a crash: not counted, not read
          at += 4 + len
          n++
        }
        seg.size = at
      } finally {
        closeSync(fd)
      }
    }
    return n
  }

  private readPosition(): { seq: number; offset: number } {
    const p = join(this.dir, POSITION)
    if (existsSync(p)) {
      const m = /^(\d+) (\d+)/.exec(readFileSync(p, 'utf8'))
      if (m) return { seq: Number(m[1]), offset: Number(m[2]) }
    }
    return { seq: this.segments[0]?.seq ?? FIRST_SEQ, offset: 0 }
  }

  private writePosition(): void {
    this.positionDirty = false
    const p = join(this.dir, POSITION)
    writeFileSync(p + '.tmp', `${this.committed.seq} ${this.committed.offset}\n`)
    renameSync(p + '.tmp', p)
  }
}
