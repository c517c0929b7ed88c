/**
 * Messages out of captured streams: TCP (reassembled by src/pcap/tcp.ts) carrying SIP (framed by
 * Content-Length), HEP3 (as Kamailio sends HEP over TCP) or SIP over WebSocket, and SCTP user
 * messages (src/pcap/sctp.ts) carrying SIP or HEP.
 *
 * Each TCP direction gets a handler from the stream factory (tcp/factory.ts): a detector that decides
 * from the first bytes what the direction carries (tcp/detect.ts) and hands over to the SIP, HEP or
 * WebSocket handler (tcp/sip.ts, tcp/hep.ts, tcp/websocket.ts).
 *
 * A message's capture facts are those of the segment (packet) that completed it: its Stamp (frame
 * number, timestamp, VLAN); addresses and ports are the direction's.
 */

import type { TransportResult } from '../pcap/result.js'
import { SctpReassembler, type SctpMessage, type SctpOptions } from '../pcap/sctp.js'
import {
  TcpReassembler,
  type TcpConsumer,
  type TcpEndReason,
  type TcpHalf,
  type TcpReassemblyOptions,
} from '../pcap/tcp.js'
import type { SipInfo } from '../sip/scan.js'
import { classifyMessage } from './classify.js'
import type { CapturedMessage, ExtractStats, StreamCounts, StreamStats, Want } from './message.js'
import type { Stamp } from './stamp.js'
import { CaptureStreamFactory } from './tcp/factory.js'
import type { StreamAddress, StreamFactory, StreamHandler, StreamSink } from './tcp/handler.js'

export type { StreamStats } from './message.js'
export { STREAM_SEARCH_BUDGET, STREAM_SEARCH_BUDGET_FRESH } from './tcp/detect.js'

export type StreamOptions = TcpReassemblyOptions & { sctp?: SctpOptions }

export class CaptureStreams implements TcpConsumer<StreamHandler>, StreamSink {
  /** where completed messages go: the extractor sets it to the batch being built */
  out: CapturedMessage[] = []
  readonly tcp: TcpReassembler<StreamHandler>
  readonly sctp: SctpReassembler
  readonly counts: StreamCounts = {
    sipStreams: 0,
    hepStreams: 0,
    webSocketStreams: 0,
    otherStreams: 0,
    keepAlives: 0,
    resyncBytes: 0,
    incomplete: 0,
    tooLong: 0,
    webSocketControlFrames: 0,
    webSocketUnreadable: 0,
    webSocketErrors: 0,
  }
  private readonly factory: StreamFactory
  private readonly sctpOut: SctpMessage[] = []
  /** the record that completed the last message, and how many it completed before that one */
  private lastFrame = -1
  private sameFrame = 0

  constructor(
    private readonly want: Want,
    private readonly stats: ExtractStats,
    options: StreamOptions = {},
  ) {
    this.tcp = new TcpReassembler(this, options)
    this.sctp = new SctpReassembler(options.sctp)
    this.factory = new CaptureStreamFactory(this)
  }

  /** One TCP segment of record `frame`. */
  tcpSegment(t: TransportResult, frame: number, seconds: number, nanos: number): void {
    this.tcp.segment(t, frame, seconds, nanos)
  }

  /** One SCTP packet of record `frame`: its complete user messages, classified like UDP payloads. */
  sctpPacket(t: TransportResult, frame: number, seconds: number, nanos: number): void {
    const msgs = this.sctpOut
    this.sctp.packet(t, msgs)
    if (msgs.length === 0) return
    const stamp: Stamp = { frame, seconds, nanos, vlan: t.vlan }
    for (let i = 0; i < msgs.length; i++) {
      const p = msgs[i].payload
      const c = classifyMessage(p)
      if (c === undefined) this.skip('SCTP message not SIP/HEP')
      else if (c === 'hep') this.message('sctp', t, stamp, 'hep', p, undefined)
      else this.message('sctp', t, stamp, 'sip', p, c)
    }
    msgs.length = 0
  }

  /** End of input: every stream is closed; what completes now goes to `out`. */
  flush(): void {
    this.tcp.flush()
    this.sctp.flush()
  }

  /** The counters, TCP and SCTP included. */
  get streamStats(): StreamStats {
    return { tcp: this.tcp.stats, sctp: this.sctp.stats, ...this.counts }
  }

  // ---------------------------------------------------------------- TcpConsumer: to the handlers

  data(
    half: TcpHalf<StreamHandler>,
    data: Buffer,
    frame: number,
    seconds: number,
    nanos: number,
    vlan: number | undefined,
  ): void {
    let h = half.app
    if (h === undefined) h = half.app = this.factory.stream(half, half.midStream)
    h.push(data, { frame, seconds, nanos, vlan })
  }

  gap(half: TcpHalf<StreamHandler>): void {
    half.app?.gap()
  }

  end(half: TcpHalf<StreamHandler>, _reason: TcpEndReason): void {
    const h = half.app
    if (h === undefined) return
    half.app = undefined
    h.end()
  }

  buffered(half: TcpHalf<StreamHandler>): number {
    return half.app?.buffered ?? 0
  }

  // ---------------------------------------------------------------- StreamSink: from the handlers

  message(
    transport: 'tcp' | 'sctp',
    from: StreamAddress,
    stamp: Stamp,
    kind: 'sip' | 'hep',
    payload: Buffer,
    sip: SipInfo | undefined,
  ): void {
    const want = this.want
    if (kind === 'sip' && want === 'hep') return this.skip('SIP (not HEP)')
    if (kind === 'hep' && want === 'sip') return this.skip('HEP (not SIP)')
    if (kind === 'sip') this.stats.sip++
    else this.stats.hep++
    // several messages completed by one packet (a TCP segment holding two): the second and later
    // are stamped 1 µs apart, in order, as heplify does (heplify#342), so Homer orders them right
    let seconds = stamp.seconds
    let nanos = stamp.nanos
    if (stamp.frame === this.lastFrame) {
      nanos += ++this.sameFrame * 1000
      if (nanos >= 1e9) {
        seconds += Math.floor(nanos / 1e9)
        nanos %= 1e9
      }
    } else {
      this.lastFrame = stamp.frame
      this.sameFrame = 0
    }
    // the same shape as the UDP messages of extract.ts
    this.out.push({
      frame: stamp.frame,
      seconds,
      nanos,
      transport,
      ipVersion: from.ipVersion,
      src: from.src,
      dst: from.dst,
      srcPort: from.srcPort,
      dstPort: from.dstPort,
      vlan: stamp.vlan,
      payload,
      kind,
      sip,
    })
  }

  skip(reason: string): void {
    const s = this.stats.skipped
    s[reason] = (s[reason] ?? 0) + 1
  }
}
