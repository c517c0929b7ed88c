/**
 * HEP3 stream framing for TCP/TLS byte streams and raw files: back-to-back packets, each sized by its
 * total length. Keeps "need more bytes" (returned state) apart from "bad data" (a DecodeError whose
 * offset is the stream offset).
 */
import { DecodeError } from '../errors.js'
import { HEP3_HEADER_LENGTH, HEP3_MAX_LENGTH } from './constants.js'

const MAGIC = [0x48, 0x45, 0x50, 0x33]

/**
 * Looks at buf[offset..]: the packet's total length when its 6-byte header is there, or a negative
 * number -n when n more bytes are needed to know. Throws DecodeError (offset relative to `base`).
 */
export function frameLength(buf: Uint8Array, offset: number, maxLength = HEP3_MAX_LENGTH, base = 0): number {
  const avail = buf.length - offset
  const n = avail < 4 ? avail : 4
  for (let i = 0; i < n; i++) {
    if (buf[offset + i] !== MAGIC[i]) {
      const got = Buffer.from(buf.subarray(offset, offset + n)).toString('hex')
      throw new DecodeError(
        'HEP_BAD_MAGIC',
        base + offset,
        'magic',
        `expected "HEP3" (48455033), got ${got}; not a HEP3 stream`,
      )
    }
  }
  if (avail < HEP3_HEADER_LENGTH) return -(HEP3_HEADER_LENGTH - avail)
  const total = (buf[offset + 4] << 8) | buf[offset + 5]
  if (total < HEP3_HEADER_LENGTH) {
    throw new DecodeError(
      'HEP_BAD_LENGTH',
      base + offset + 4,
      'total length',
      `${total} is less than the 6-byte header`,
    )
  }
  if (total > maxLength) {
    throw new DecodeError(
      'HEP_TOO_LONG',
      base + offset + 4,
      'total length',
      `${total} exceeds the limit of ${maxLength} bytes`,
    )
  }
  return total
}

/** How many bytes at the end of data[from..] could start a "HEP3" magic (0..3). */
function magicPrefixAtEnd(data: Uint8Array, from: number): number {
  for (let k = 3; k > 0; k--) {
    if (data.length - from < k) continue
    let ok = true
    for (let i = 0; i < k; i++) if (data[data.length - k + i] !== MAGIC[i]) ok = false
    if (ok) return k
  }
  return 0
}

export interface FramerOptions {
  /** largest packet accepted (default 65535, the format's limit) */
  maxLength?: number
}

export class Hep3Framer {
  readonly maxLength: number
  private pending: Buffer | undefined
  /** stream offset of pending[0] (or of the next byte when nothing is pending) */
  private base = 0
  private reads = 0
  private resyncing = false
  /** bytes skipped while resynchronising after bad data */
  skipped = 0

  constructor(options: FramerOptions = {}) {
    this.maxLength = options.maxLength ?? HEP3_MAX_LENGTH
  }

  /** Bytes held for the packet in progress. */
  get buffered(): number {
    return this.pending?.length ?? 0
  }

  /** Stream offset of the first byte not yet returned in a packet. */
  get offset(): number {
    return this.base
  }

  /** Reads (push calls) that carried bytes of the packet in progress; 0 when nothing is pending. */
  get readsForCurrent(): number {
    return this.pending === undefined ? 0 : this.reads
  }

  /** Bytes still needed to complete the packet in progress (0 when nothing is pending). */
  get needed(): number {
    const p = this.pending
    if (p === undefined) return 0
    let r: number
    try {
      r = frameLength(p, 0, this.maxLength, this.base)
    } catch {
      return 0 // what is pending is bad data, not the start of a packet
    }
    return r < 0 ? -r : r - p.length
  }

  /**
   * Adds bytes; returns the packets completed by them (views, not copies: into `chunk`, or into the
   * framer's own buffer for a packet spread over several pushes). Bad data throws a DecodeError —
   * unless `onError` is given: then it is reported there and the framer skips to the next "HEP3"
   * magic and goes on (for files; a socket should close instead).
   *
   * What the framer keeps (the start of the next packet) is its own: bytes left at the end of
   * `chunk` are copied, so the caller may reuse or overwrite `chunk` once push returns (the packets
   * returned excepted).
   */
  push(chunk: Buffer, onError?: (e: DecodeError) => void): Buffer[] {
    let data: Buffer
    if (this.pending === undefined) {
      if (chunk.length === 0) return []
      data = chunk
      this.reads = 1
    } else {
      data = chunk.length === 0 ? this.pending : Buffer.concat([this.pending, chunk])
      if (chunk.length > 0) this.reads++
    }
    const out: Buffer[] = []
    let pos = 0
    while (pos < data.length) {
      if (this.resyncing) {
        const next = data.indexOf('HEP3', pos, 'latin1')
        const to = next >= 0 ? next : data.length - magicPrefixAtEnd(data, pos)
        this.skipped += to - pos
        this.base += to - pos
        pos = to
        if (next < 0) break
        this.resyncing = false
      }
      let len: number
      try {
        len = frameLength(data, pos, this.maxLength, this.base - pos)
      } catch (e) {
        if (onError === undefined || !(e instanceof DecodeError)) {
          this.keep(data, pos, chunk)
          throw e
        }
        onError(e)
        this.resyncing = true
        this.skipped++
        this.base++
        pos++
        continue
      }
      if (len < 0 || data.length - pos < len) break
      out.push(data.subarray(pos, pos + len))
      pos += len
      this.base += len
      this.reads = 1
    }
    this.keep(data, pos, chunk)
    return out
  }

  /** Keeps data[pos..] as pending: a copy when `data` is the caller's chunk, else a view of our own. */
  private keep(data: Buffer, pos: number, chunk: Buffer): void {
    if (pos >= data.length) this.pending = undefined
    else if (data !== chunk) this.pending = data.subarray(pos)
    else {
      const rest = Buffer.allocUnsafe(data.length - pos)
      data.copy(rest, 0, pos)
      this.pending = rest
    }
  }

  /** Drops whatever is pending (e.g. at end of input: `buffered` says how much was incomplete). */
  reset(): void {
    if (this.pending) this.base += this.pending.length
    this.pending = undefined
    this.reads = 0
    this.resyncing = false
  }
}
