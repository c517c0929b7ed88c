/**
 * Classic pcap writer (little-endian, µs or ns timestamps). Records are gathered in an internal buffer and handed
 * to the stream in large writes; `flush()` resolves once the stream has room again (backpressure).
 *
 *   const w = new PcapWriter('out.pcap', { precision: 'ns' })
 *   for (...) if (!w.write(rec)) await w.flush()
 *   await w.close()
 */
import { createWriteStream } from 'node:fs'
import { HepError } from '../errors.js'

export interface PcapWriterOptions {
  /** timestamp precision of the file; default 'us' (nanoseconds are truncated to microseconds) */
  precision?: 'us' | 'ns'
  /** LINKTYPE_* of every record; default ETHERNET (1) */
  linkType?: number
  /** snapshot length written in the header; longer data is cut to it; default 262144 */
  snaplen?: number
}

export interface PcapWriterRecord {
  seconds: number
  nanos: number
  data: Buffer
  /** length on the wire; default data.length */
  originalLength?: number
}

const BUFFER_SIZE = 64 * 1024
const MAX_U32 = 0xffffffff

export class PcapWriter {
  private readonly stream: NodeJS.WritableStream
  private readonly ownStream: boolean
  private readonly ownFile: boolean
  private readonly ns: boolean
  private readonly snaplen: number
  private buf: Buffer
  private used = 0
  private written = 0
  private needDrain = false
  private error: Error | undefined
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
    if (typeof out === 'string') {
      this.stream = createWriteStream(out, { highWaterMark: 4 * 1024 * 1024 })
      this.ownStream = true
      this.ownFile = true
    } else {
      this.stream = out
      this.ownStream = out !== process.stdout && out !== process.stderr
      this.ownFile = false
    }
    this.stream.on('error', (e: Error) => {
      this.error ??= e
    })
    this.buf = Buffer.allocUnsafe(BUFFER_SIZE)
    const h = this.buf
    h.writeUInt32LE(this.ns ? 0xa1b23c4d : 0xa1b2c3d4, 0)
    h.writeUInt16LE(2, 4)
    h.writeUInt16LE(4, 6)
    h.writeInt32LE(0, 8) // thiszone
    h.writeUInt32LE(0, 12) // sigfigs
    h.writeUInt32LE(this.snaplen, 16)
    h.writeUInt32LE(linkType, 20)
    this.used = 24
  }

  /** Records written so far. */
  get count(): number {
    return this.written
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
    if (this.error) throw this.error
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
    if (this.used + size > this.buf.length) this.push()
    let b = this.buf
    let p = this.used
    if (size > b.length) {
      // larger than the buffer: give it a buffer of its own
      b = Buffer.allocUnsafe(size)
      p = 0
    }
    b.writeUInt32LE(seconds, p)
    b.writeUInt32LE(frac, p + 4)
    b.writeUInt32LE(caplen, p + 8)
    b.writeUInt32LE(orig, p + 12)
    const h = Math.min(head.length, caplen)
    b.set(h === head.length ? head : head.subarray(0, h), p + 16)
    if (tail !== undefined && caplen > h) {
      b.set(caplen - h === tail.length ? tail : tail.subarray(0, caplen - h), p + 16 + h)
    }
    if (b === this.buf) this.used = p + size
    else this.send(b)
    this.written++
    return !this.needDrain
  }

  /** Hand the buffered records to the stream and wait until it has room again. */
  async flush(): Promise<void> {
    if (this.error) throw this.error
    this.push()
    if (this.needDrain) await this.drain()
    if (this.error) throw this.error
  }

  /** Flush and end the stream (closing the file for a path); resolves when done. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.doClose()
    return this.closing
  }

  private async doClose(): Promise<void> {
    await this.flush()
    if (!this.ownStream) return
    const s = this.stream
    // a file we opened is done when it is closed; any other stream when it has finished
    const event = this.ownFile ? 'close' : 'finish'
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        s.removeListener('error', fail)
        resolve()
      }
      const fail = (e: Error): void => {
        s.removeListener(event, done)
        reject(e)
      }
      s.once('error', fail)
      s.once(event, done)
      s.end()
    })
    if (this.error) throw this.error
  }

  /** Hand the current buffer to the stream and start a new one (never reusing a buffer the stream holds). */
  private push(): void {
    if (this.used === 0) return
    const chunk = this.buf.subarray(0, this.used)
    this.buf = Buffer.allocUnsafe(BUFFER_SIZE)
    this.used = 0
    this.send(chunk)
  }

  private send(chunk: Buffer): void {
    if (!this.stream.write(chunk)) this.needDrain = true
  }

  private drain(): Promise<void> {
    return new Promise<void>((resolve) => {
      const s = this.stream
      const done = (): void => {
        s.removeListener('drain', done)
        s.removeListener('error', done)
        s.removeListener('close', done)
        this.needDrain = false
        resolve()
      }
      s.once('drain', done)
      s.once('error', done)
      s.once('close', done)
    })
  }
}
