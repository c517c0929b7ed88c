/**
 * Messages out of a capture: pcap/pcapng records -> link/IP layers (fragments reassembled, tunnels
 * opened) -> UDP payloads classified by content as SIP or HEP (never by port alone), TCP streams
 * reassembled and framed (SIP by Content-Length, HEP3, SIP over WebSocket), SCTP user messages
 * (streams.ts); everything else is counted by reason. Streaming, consumer-paced, one array of
 * messages per read.
 */
import { CaptureError } from '../errors.js'
import { StdinSource } from '../input/input.js'
import { CaptureReader, type CaptureInfo } from '../pcap/read/index.js'
import { PacketDecoder, type PacketDecoderOptions } from '../pcap/decoder.js'
import type { TransportResult } from '../pcap/result.js'
import { rtcpCandidate } from '../rtcp/rtcp.js'
import { isSipStart, scanSip, type SipInfo } from '../sip/scan.js'
import { looksLikeHep } from './classify.js'
import type { CapturedMessage, ExtractStats, Want } from './message.js'
import { CaptureStreams, type StreamOptions } from './streams.js'

export type { CapturedMessage, ExtractStats } from './message.js'

export interface ExtractOptions extends PacketDecoderOptions, StreamOptions {
  /** what to look for: SIP messages, HEP packets, or both */
  want: Want
  /**
   * UDP: scan each SIP message for its Call-ID, CSeq... (`CapturedMessage.sip`), default true; false
   * only checks the start line (what tells SIP from the rest) when nobody needs the details.
   */
  sipDetails?: boolean
  /**
   * also deliver UDP payloads that may be RTCP (version 2, second byte 192..223: rtcpCandidate) as
   * messages of kind 'rtcp', for the RTCP correlator to decide (rtcp/correlate.ts); default false
   */
  rtcp?: boolean
  /** with `rtcp`: told once, at the first UDP payload of version 2 that is not RTCP (RTP) */
  onMedia?: () => void
  /** only traffic with a source or destination port in these ranges ([lo, hi], inclusive) */
  portRanges?: [number, number][]
  readSize?: number
  /** stdin, for a source of '-' (default: one of its own) */
  stdin?: StdinSource
}

function inRanges(port: number, ranges: [number, number][]): boolean {
  for (let i = 0; i < ranges.length; i++) if (port >= ranges[i][0] && port <= ranges[i][1]) return true
  return false
}

/** Why a UDP payload that is neither SIP nor HEP was skipped. */
export function nonSipReason(t: Pick<TransportResult, 'payload' | 'srcPort' | 'dstPort'>): string {
  const p = t.payload
  if (p.length === 0) return 'empty payload'
  let crlf = true
  for (let i = 0; i < p.length && crlf; i++) crlf = p[i] === 13 || p[i] === 10
  if (crlf) return 'keep-alive'
  if (t.srcPort === 53 || t.dstPort === 53 || t.srcPort === 5353 || t.dstPort === 5353) return 'DNS'
  if (p.length >= 8 && (p[0] & 0xc0) === 0x80) {
    const pt = p[1]
    if (pt >= 200 && pt <= 207) return 'RTCP'
    if (p.length >= 12) return 'RTP'
  }
  if (t.srcPort === 3478 || t.dstPort === 3478 || (p.length >= 20 && p.readUInt32BE(4) === 0x2112a442))
    return 'STUN'
  return 'not SIP'
}

export class CaptureExtractor {
  readonly stats: ExtractStats = { records: 0, sip: 0, hep: 0, skipped: {}, fragmentsReassembled: 0 }
  private readonly reader: CaptureReader
  private readonly decoder: PacketDecoder
  private readonly streams: CaptureStreams

  constructor(
    source: string | NodeJS.ReadableStream,
    private readonly opts: ExtractOptions,
  ) {
    // stdin through our view of it: a hint on a terminal, and Ctrl-C ends it as Ctrl-D would
    this.reader = new CaptureReader(
      source === '-' ? (opts.stdin ?? new StdinSource()).stream('a capture') : source,
      {
        readSize: opts.readSize,
      },
    )
    this.decoder = new PacketDecoder(opts)
    this.streams = new CaptureStreams(opts.want, this.stats, opts)
  }

  get bytesRead(): number {
    return this.reader.bytesRead
  }

  get info(): CaptureInfo | undefined {
    return this.reader.info
  }

  private skip(reason: string): void {
    this.stats.skipped[reason] = (this.stats.skipped[reason] ?? 0) + 1
  }

  private count(reason: string, n: number): void {
    if (n > 0) this.stats.skipped[reason] = (this.stats.skipped[reason] ?? 0) + n
  }

  /**
   * End of the capture: every TCP stream is closed (held segments delivered past their holes, what
   * is incomplete dropped) and the stream counters are folded into `stats.skipped`. Returns the
   * messages completed by the closing. Runs once.
   */
  private closeStreams(): CapturedMessage[] {
    const out: CapturedMessage[] = []
    if (this.stats.streams !== undefined) return out
    const streams = this.streams
    streams.out = out
    streams.flush()
    const s = streams.streamStats
    this.stats.streams = s
    this.count('TCP retransmission', s.tcp.retransmissions)
    this.count('TCP hole (segments missing from the capture)', s.tcp.gaps)
    this.count('TCP flow evicted (flow or memory cap)', s.tcp.evicted)
    this.count('keep-alive', s.keepAlives)
    this.count('incomplete message (stream ended or hole)', s.incomplete)
    this.count('message too long', s.tooLong)
    this.count('bytes skipped to resynchronise a stream', s.resyncBytes)
    this.count('WebSocket control frame', s.webSocketControlFrames)
    this.count('WebSocket message compressed or too long', s.webSocketUnreadable)
    this.count('WebSocket protocol error', s.webSocketErrors)
    this.count('SCTP retransmission', s.sctp.duplicates)
    this.count('SCTP fragment dropped', s.sctp.fragmentsDropped)
    this.count('SCTP malformed chunks', s.sctp.malformed)
    return out
  }

  /**
   * Messages, one array per read. A corrupt capture ends the iteration with `stats.error` set and
   * the CaptureError thrown after every message before it was yielded.
   */
  async *batches(): AsyncGenerator<CapturedMessage[]> {
    const { want, portRanges } = this.opts
    const details = this.opts.sipDetails !== false
    const rtcp = this.opts.rtcp === true && want !== 'hep'
    const st = this.stats
    const streams = this.streams
    try {
      for await (const records of this.reader.batches()) {
        const out: CapturedMessage[] = []
        streams.out = out
        for (let r = 0; r < records.length; r++) {
          const rec = records[r]
          st.records++
          const res = this.decoder.decode(rec.linkType, rec.data, rec.seconds, rec.nanos)
          if (res.kind === 'pending') continue
          if (res.kind === 'skip') {
            this.skip(res.reason === 'unknown-link-type' ? `unknown link type ${rec.linkType}` : res.reason)
            continue
          }
          if (res.kind === 'other') {
            this.skip(`IP protocol ${res.protocol}`)
            continue
          }
          if (
            portRanges !== undefined &&
            !inRanges(res.srcPort, portRanges) &&
            !inRanges(res.dstPort, portRanges)
          ) {
            this.skip('filtered out') // the label of every filter (item/skip.ts)
            continue
          }
          if (res.kind !== 'udp') {
            // streams: messages (stamped with the record that completes them) go to `out`
            if (res.kind === 'tcp') streams.tcpSegment(res, rec.index, rec.seconds, rec.nanos)
            else streams.sctpPacket(res, rec.index, rec.seconds, rec.nanos)
            continue
          }
          const payload = res.payload
          let kind: 'sip' | 'hep' | 'rtcp' | undefined
          let sip: SipInfo | undefined
          if (want !== 'sip' && looksLikeHep(payload)) kind = 'hep'
          else if (want !== 'hep') {
            if (details) {
              sip = scanSip(payload)
              if (sip !== undefined) kind = 'sip'
            } else if (isSipStart(payload)) kind = 'sip'
            if (kind === undefined && rtcp && rtcpCandidate(payload)) kind = 'rtcp'
          }
          if (kind === undefined) {
            // the first RTP (version 2) tells the RTCP correlator that media is here
            if (rtcp && (payload[0] & 0xc0) === 0x80 && this.opts.onMedia !== undefined) {
              this.opts.onMedia()
              this.opts.onMedia = undefined
            }
            this.skip(
              want === 'hep' && scanSip(payload) !== undefined
                ? 'SIP (not HEP)'
                : want === 'sip' && looksLikeHep(payload)
                  ? 'HEP (not SIP)'
                  : nonSipReason(res),
            )
            continue
          }
          if (kind === 'sip') st.sip++
          else if (kind === 'hep') st.hep++
          out.push({
            frame: rec.index,
            seconds: rec.seconds,
            nanos: rec.nanos,
            transport: 'udp',
            ipVersion: res.ipVersion,
            src: res.src,
            dst: res.dst,
            srcPort: res.srcPort,
            dstPort: res.dstPort,
            vlan: res.vlan,
            payload,
            kind,
            sip,
          })
        }
        if (out.length > 0) yield out
      }
      const tail = this.closeStreams()
      if (tail.length > 0) yield tail
    } catch (e) {
      if (e instanceof CaptureError) {
        st.error = e
        // what the records before the error completed is still delivered
        const tail = this.closeStreams()
        if (tail.length > 0) yield tail
      }
      throw e
    } finally {
      if (st.streams === undefined) this.closeStreams()
      st.fragmentsReassembled = this.decoder.stats.reassembled
      const held = this.decoder.stats.fragmentsHeld
      this.decoder.flush()
      if (held > 0)
        st.skipped['incomplete IP fragments'] = (st.skipped['incomplete IP fragments'] ?? 0) + held
    }
  }
}
