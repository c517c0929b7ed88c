/**
 * The parsing state machine, fed chunk by chunk: it recognises the format from the magic, then hands
 * complete units (the pcap file header and records, pcapng blocks) to the format's record layer. A unit
 * that lies within one chunk is parsed in place (records are views into the chunk); only a unit that
 * straddles chunks is assembled into a fresh buffer of its own. Kept apart from the stream plumbing
 * (source.ts) so that it can be driven synchronously, and tested, on any sequence of buffers.
 */
import { CaptureError, type HepErrorCode } from '../../errors.js'
import {
  DEFAULT_MAX_RECORD_LENGTH,
  describeBytes,
  isCaptureMagic,
  type CaptureInfo,
  type CaptureRecord,
  type ParseState,
  type RecordLayer,
} from './format.js'
import { PcapRecords } from './pcap.js'
import { PcapngBlocks } from './pcapng.js'

/** The 4-byte magic first; then the record layer of the format it names. */
type Stage = 'magic' | RecordLayer

export class CaptureParser implements ParseState {
  /** records produced so far */
  count = 0
  /** bytes fed so far */
  bytesFed = 0
  /** stream offset of byte 0 of the buffer being parsed */
  base = 0
  readonly maxRecord: number

  private readonly compressed: boolean
  private stage: Stage = 'magic'
  /** bytes of an incomplete unit carried over from previous chunks (a fresh buffer, owned by us) */
  private pending: Buffer | undefined
  private pendingLen = 0
  private pendingStart = 0
  private error: CaptureError | undefined

  constructor(options: { maxRecordLength?: number; compressed?: boolean } = {}) {
    this.maxRecord = options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH
    this.compressed = options.compressed ?? false
  }

  /** File format details, known once the file header has been read. */
  get info(): CaptureInfo | undefined {
    return this.stage === 'magic' ? undefined : this.stage.info
  }

  /** The error that stopped parsing, if any: throw it after handing out the records of the last push. */
  get failed(): CaptureError | undefined {
    return this.error
  }

  fail(code: HepErrorCode, offset: number, detail: string): CaptureError {
    return new CaptureError(code, this.count + 1, offset, detail)
  }

  /**
   * Parse one chunk; return the records completed by it, in order. After an error, the records before the error
   * are returned and `failed` is set; further pushes return nothing.
   */
  push(chunk: Buffer): CaptureRecord[] {
    const out: CaptureRecord[] = []
    if (this.error) return out
    const chunkBase = this.bytesFed
    this.bytesFed += chunk.length
    let p = 0
    const end = chunk.length
    try {
      if (this.pending) {
        p = this.fillPending(chunk, out)
        if (this.pending) return out
      }
      this.base = chunkBase
      p = this.run(chunk, p, end, out)
      // keep the incomplete tail: copy it into a buffer sized for the whole unit when known
      if (p < end) this.startPending(chunk, p, end - p, chunkBase + p)
    } catch (e) {
      if (!(e instanceof CaptureError)) throw e
      this.error = e
      this.pending = undefined
    }
    return out
  }

  /**
   * The input ended: throw CAPTURE_TRUNCATED if it ended inside a record, CAPTURE_FORMAT if it was empty.
   * (A pcap with only its header, or a pcapng with no packet, is fine.)
   */
  end(): void {
    if (this.error) throw this.error
    const pending = this.pending?.subarray(0, this.pendingLen)
    if (this.stage === 'magic') {
      this.error = this.fail(
        'CAPTURE_FORMAT',
        0,
        `not a capture file: ${describeBytes(pending ?? Buffer.alloc(0))}`,
      )
      this.error.empty = pending === undefined || pending.length === 0
      throw this.error
    }
    if (pending === undefined) return
    const have = pending.length
    let need = 0
    try {
      need = this.stage.size(pending, 0, have, this)
    } catch {
      need = 0
    }
    const what = this.stage.unitName(need, have)
    this.error = this.fail(
      'CAPTURE_TRUNCATED',
      this.pendingStart,
      `the file ends ${have} byte${have === 1 ? '' : 's'} into ${what}`,
    )
    this.pending = undefined
    throw this.error
  }

  /** Stream offset where the next (incomplete) record starts. */
  get resumeOffset(): number {
    return this.pending ? this.pendingStart : this.bytesFed
  }

  /** Bytes the unit at b[p] needs (see RecordLayer.size). */
  private size(b: Buffer, p: number, avail: number): number {
    const s = this.stage
    return s === 'magic' ? 4 : s.size(b, p, avail, this)
  }

  /** Parse complete units from b[p..end); return where the first incomplete unit starts. */
  private run(b: Buffer, p: number, end: number, out: CaptureRecord[]): number {
    if (this.stage === 'magic') {
      if (end - p < 4) return p
      this.stage = this.layerFor(b, p, end)
    }
    return this.stage.run(b, p, end, this, out)
  }

  /**
   * The record layer of the format whose magic is at b[p] (the magic is the first field of the pcap file
   * header and of the pcapng section header block: the layer reads it again).
   */
  private layerFor(b: Buffer, p: number, end: number): RecordLayer {
    const kind = isCaptureMagic(b.subarray(p, end))
    if (kind === 'pcap') return new PcapRecords(this.compressed)
    if (kind === 'pcapng') return new PcapngBlocks(this.compressed)
    // only the bytes we hold: a pending buffer is larger than what was copied into it
    const detail = kind === 'gzip' ? 'gzip data inside gzip data' : describeBytes(b.subarray(p, end))
    throw this.fail('CAPTURE_FORMAT', this.base + p, `not a pcap or pcapng file: ${detail}`)
  }

  private startPending(chunk: Buffer, p: number, avail: number, start: number): void {
    const need = this.size(chunk, p, avail)
    const buf = Buffer.allocUnsafe(Math.max(need, avail, 32))
    chunk.copy(buf, 0, p, p + avail)
    this.pending = buf
    this.pendingLen = avail
    this.pendingStart = start
  }

  /** Complete the pending unit from the start of `chunk`; return the position after the bytes taken. */
  private fillPending(chunk: Buffer, out: CaptureRecord[]): number {
    let p = 0
    const end = chunk.length
    while (this.pending) {
      let buf = this.pending
      const have = this.pendingLen
      // offsets of units in the pending buffer are relative to its start
      this.base = this.pendingStart
      const need = this.size(buf, 0, have)
      if (need <= have) {
        // whole units: parse them from the pending buffer (ours, fresh: records may keep views of it)
        this.pending = undefined
        const q = this.run(buf, 0, have, out)
        if (q < have) this.startPending(buf, q, have - q, this.base + q)
        continue
      }
      if (p >= end) return p
      const take = Math.min(need - have, end - p)
      if (buf.length < have + take) {
        const bigger = Buffer.allocUnsafe(Math.max(need, have + take))
        buf.copy(bigger, 0, 0, have)
        buf = bigger
        this.pending = buf
      }
      chunk.copy(buf, have, p, p + take)
      this.pendingLen = have + take
      p += take
    }
    return p
  }
}
