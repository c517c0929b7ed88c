/** Where converted packets go: raw, hex, jsonl, a pcap of HEP-over-UDP frames, or a pcap of the messages. */
import type { Writable } from 'node:stream'
import { HepError } from '../errors.js'
import { decode } from '../hep/codec.js'
import { payloadOf } from '../hep/compress.js'
import type { HepPacket } from '../hep/packet.js'
import { msToNanos } from '../hep/time.js'
import { OutputWriter, type OutputError, type WriterOptions } from '../output/writer.js'
import { FrameBuilder, type FrameSpec } from '../pcap/synth.js'
import { PcapWriter } from '../pcap/writer.js'

export type OutputFormat = 'raw' | 'hex' | 'jsonl' | 'hep-pcap' | 'pcap'
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['raw', 'hex', 'jsonl', 'hep-pcap', 'pcap']

export interface SinkTime {
  seconds: number
  nanos: number
}

/** The addresses a HEP packet travelled between (e.g. a listener's peer and local socket). */
export interface HepVia {
  src: string
  srcPort: number
  dst: string
  dstPort: number
}

export interface PacketSink {
  readonly format: OutputFormat
  /**
   * `bytes` is the packet's encoding; `time` the capture time to stamp pcap records with; `via` the
   * HEP transport addresses for hep-pcap frames (default: the sink's hepSrc/hepDst)
   */
  write(p: HepPacket, bytes: Buffer, time: SinkTime, via?: HepVia): void
  /** hands over what is buffered; resolves when the output can take more (never rejects) */
  maybeFlush(): Promise<void>
  /** flushes and closes; never rejects (an output error is in `error`) */
  close(): Promise<void>
  /** what is written but not yet accepted by the OS is over the bound */
  readonly full: boolean
  /** the error that stopped this output (reported once through SinkOptions.output.onError) */
  readonly error: OutputError | undefined
  /** the writer underneath */
  readonly out: OutputWriter
}

export interface SinkOptions {
  /** hep-pcap: addresses of the HEP transport frames (default 127.0.0.1:9060 from 127.0.0.1:9060) */
  hepSrc?: { ip: string; port: number }
  hepDst?: { ip: string; port: number }
  /** pcap precision (default µs) */
  precision?: 'us' | 'ns'
  /** called once per kind of problem that does not stop the output */
  warn?: (msg: string) => void
  /** the output's bound (maxBuffer) and its error report (onError, called once) */
  output?: WriterOptions
}

class TextSink implements PacketSink {
  readonly out: OutputWriter
  private warnedLegacy = false
  constructor(
    readonly format: 'raw' | 'hex' | 'jsonl',
    target: string | Writable,
    private readonly warn?: (m: string) => void,
    output?: WriterOptions,
  ) {
    this.out = new OutputWriter(target, { flushAt: 256 * 1024, ...output, endStream: false })
  }
  get full(): boolean {
    return this.out.full
  }
  get error(): OutputError | undefined {
    return this.out.error
  }
  write(p: HepPacket, bytes: Buffer): void {
    if (this.format === 'raw') {
      if (p.version !== 3 && !this.warnedLegacy) {
        this.warnedLegacy = true
        this.warn?.(
          'raw output of HEP v1/v2 packets cannot be read back (they carry no length); prefer hex or jsonl',
        )
      }
      this.out.write(bytes) // copied: `bytes` may be a scratch buffer
    } else if (this.format === 'hex') this.out.hexLine(bytes)
    // the JSON of what was encoded (after the encoding options), decoded back from its bytes
    else this.out.json(decode(bytes))
  }
  maybeFlush(): Promise<void> {
    return this.out.drained()
  }
  close(): Promise<void> {
    return this.out.end()
  }
}

class PcapSink implements PacketSink {
  private writer: PcapWriter
  private frames = new FrameBuilder()
  constructor(
    readonly format: 'hep-pcap' | 'pcap',
    target: string | Writable,
    private readonly opts: SinkOptions,
  ) {
    this.writer = new PcapWriter(target, {
      precision: opts.precision,
      // a stream we are given (stdout…) is the caller's: written to, never ended
      output: typeof target === 'string' ? opts.output : { ...opts.output, endStream: false },
    })
  }
  get out(): OutputWriter {
    return this.writer.out
  }
  get full(): boolean {
    return this.writer.out.full
  }
  get error(): OutputError | undefined {
    return this.writer.error
  }
  write(p: HepPacket, bytes: Buffer, time: SinkTime, via?: HepVia): void {
    let spec: FrameSpec
    if (via !== undefined && this.format === 'hep-pcap') {
      spec = {
        src: via.src,
        dst: via.dst,
        srcPort: via.srcPort,
        dstPort: via.dstPort,
        protocol: 17,
        payload: bytes,
      }
    } else if (this.format === 'hep-pcap') {
      const s = this.opts.hepSrc ?? { ip: '127.0.0.1', port: 9060 }
      const d = this.opts.hepDst ?? { ip: '127.0.0.1', port: 9060 }
      spec = { src: s.ip, dst: d.ip, srcPort: s.port, dstPort: d.port, protocol: 17, payload: bytes }
    } else {
      if (p.srcIp === undefined || p.dstIp === undefined) {
        throw new HepError('HEP_ENCODE', 'packet has no addresses to write a frame with')
      }
      spec = {
        src: p.srcIp,
        dst: p.dstIp,
        srcPort: p.srcPort ?? 0,
        dstPort: p.dstPort ?? 0,
        protocol: p.protocol,
        // a compressed payload (chunk 0x0010) is written inflated: the message as it was on the wire
        payload: payloadOf(p) ?? p.compressedPayload ?? Buffer.alloc(0),
      }
    }
    // headers and payload go into the file's buffer one after the other: no frame is assembled
    if (spec.protocol === 132)
      this.writer.write({ seconds: time.seconds, nanos: time.nanos, data: this.frames.build(spec) })
    else this.writer.writeParts(time.seconds, time.nanos, this.frames.header(spec), spec.payload)
    this.pending = true
  }
  private pending = false
  async maybeFlush(): Promise<void> {
    if (!this.pending) return
    this.pending = false
    await this.writer.flush()
  }
  close(): Promise<void> {
    return this.writer.close()
  }
}

/** `target`: a file path, or a stream (e.g. process.stdout: name it with `output.name`), written to and never ended. */
export function openSink(
  format: OutputFormat,
  target: string | Writable,
  opts: SinkOptions = {},
): PacketSink {
  if (format === 'hep-pcap' || format === 'pcap') return new PcapSink(format, target, opts)
  return new TextSink(format, target, opts.warn, opts.output)
}

/** The time to stamp a packet's record with: its HEP time, else the capture's, else now. */
export function packetTime(p: HepPacket, fallback?: SinkTime): SinkTime {
  if (p.timeSeconds !== undefined) return { seconds: p.timeSeconds, nanos: (p.timeUseconds ?? 0) * 1000 }
  if (fallback) return fallback
  return msToNanos(Date.now())
}
