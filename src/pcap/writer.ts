/**
 * Classic pcap writer (little-endian, µs or ns timestamps) over an OutputWriter: records are written in place
 * into its chunks, whole, so every write handed to the OS ends on a record boundary; `flush()` resolves once the
 * stream has room again (backpressure). On an output error (disk full…) writing stops, the error is reported once
 * (options.output.onError) and the file is cut back to its last complete record: it stays readable.
 *
 *   const w = new PcapWriter('out.pcap', { precision: 'ns' })
 *   for (...) if (!w.write(rec)) await w.flush()
 *   await w.close()
 */
import type { Writable } from 'node:stream'
import { HepError } from '../errors.js'
import { OutputWriter, type OutputError, type WriterOptions } from '../output/writer.js'

export interface PcapWriterOptions {
  /** timestamp precision of the file; default 'us' (nanoseconds are truncated to microseconds) */
  precision?: 'us' | 'ns'
  /** LINKTYPE_* of every record; default ETHERNET (1) */
  linkType?: number
  /** snapshot length written in the header; longer data is cut to it; default 262144 */
  snaplen?: number
  /** the output's bound and error report (see OutputWriter) */
  output?: WriterOptions
}

export interface PcapWriterRecord {
  seconds: number
  nanos: number
  data: Buffer
  /** length on the wire; default data.length */
  originalLength?: number
}

const MAX_U32 = 0xffffffff

export class PcapWriter {
  readonly out: OutputWriter
  private readonly ns: boolean
  private readonly snaplen: number
  private written = 0
  private closing: Promise<void> | undefined

  constructor(out: string | NodeJS.WritableStream, options: PcapWriterOptions = {}) {
    this.ns = (options.precision ?? 'us') === 'ns'
    this.snaplen = options.snaplen ?? 262144
    const linkType = options.linkType ?? 1
    if (!Number.isInteger(this.snaplen) || this.snaplen <= 0 || this.snaplen > MAX_U32) {
      throw new HepError('HEP_ENCODE', `pcap snaplen ${this.snaplen} is out of range`)
    }
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > MAX_U32) {
      throw new HepError('HEP_ENCODE', `pcap link type ${linkType} is out of range`)
    }
    this.out = new OutputWriter(out as string | Writable, { endStream: true, ...options.output })
    const o = this.out.bytes
    o.room(24)
    const h = o.buf
    const p = o.pos
    h.writeUInt32LE(this.ns ? 0xa1b23c4d : 0xa1b2c3d4, p)
    h.writeUInt16LE(2, p + 4)
    h.writeUInt16LE(4, p + 6)
    h.writeInt32LE(0, p + 8) // thiszone
    h.writeUInt32LE(0, p + 12) // sigfigs
    h.writeUInt32LE(this.snaplen, p + 16)
    h.writeUInt32LE(linkType, p + 20)
    o.pos += 24
    this.out.written(0)
    this.out.flush() // the header goes alone: once confirmed, the file is a (possibly empty) pcap
  }

  /** Records written so far (not counting those after an output error). */
  get count(): number {
    return this.written
  }

  /** The output error that stopped writing, if any. */
  get error(): OutputError | undefined {
    return this.out.error
  }

  /**
   * Append one record. Returns false when the stream asked to slow down: `await flush()` before writing more
   * (writing on regardless only costs memory).
   */
  write(rec: PcapWriterRecord): boolean {
    return this.writeParts(rec.seconds, rec.nanos, rec.data, undefined, rec.originalLength)
  }

  /**
   * Append one record whose data is `head` followed by `tail` (e.g. synthesized headers and a payload),
   * without joining them first.
   */
  writeParts(
    recSeconds: number,
    nanos: number,
    head: Uint8Array,
    tail?: Uint8Array,
    originalLength?: number,
  ): boolean {
    if (this.closing) throw new HepError('HEP_ENCODE', 'pcap writer: write after close')
    const dataLength = head.length + (tail?.length ?? 0)
    let seconds = recSeconds
    let frac = this.ns ? nanos : Math.floor(nanos / 1000)
    const unit = this.ns ? 1e9 : 1e6
    if (!(frac >= 0 && frac < unit)) {
      // out-of-range fraction: carry into the seconds
      const n = Math.floor(frac)
      seconds += Math.floor(n / unit)
      frac = ((n % unit) + unit) % unit
    }
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_U32) {
      throw new HepError('HEP_ENCODE', `pcap timestamp ${recSeconds} s does not fit in 32 bits`)
    }
    const caplen = Math.min(dataLength, this.snaplen)
    const orig = Math.max(originalLength ?? dataLength, caplen)
    if (orig > MAX_U32)
      throw new HepError('HEP_ENCODE', `pcap original length ${orig} does not fit in 32 bits`)
    const size = 16 + caplen
    // the whole record in place, in one chunk: what is handed over always ends on a record boundary
    if (!this.out.reserve(size)) return false
    const o = this.out.bytes
    const b = o.buf
    const p = o.pos
    b.writeUInt32LE(seconds, p)
    b.writeUInt32LE(frac, p + 4)
    b.writeUInt32LE(caplen, p + 8)
    b.writeUInt32LE(orig, p + 12)
    const h = Math.min(head.length, caplen)
    b.set(h === head.length ? head : head.subarray(0, h), p + 16)
    if (tail !== undefined && caplen > h) {
      b.set(caplen - h === tail.length ? tail : tail.subarray(0, caplen - h), p + 16 + h)
    }
    o.pos = p + size
    this.out.written()
    this.written++
    return !this.out.full && !this.out.stream.writableNeedDrain
  }

  /** Hand the buffered records to the stream and wait until it has room again. Never rejects. */
  async flush(): Promise<void> {
    await this.out.drained()
  }

  /**
   * Flush and end the stream (closing the file for a path; stdout is left open); resolves when done, never
   * rejects (an output error is in `error`). Safe to call twice.
   */
  close(): Promise<void> {
    this.closing ??= this.out.end()
    return this.closing
  }
}
