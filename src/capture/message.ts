/**
 * What capture extraction produces and counts, shared by the extractor (extract.ts), the stream
 * handlers (streams.ts, tcp/) and the item layer (items.ts). Types only: this module imports no
 * code, so everything in src/capture can depend on it without a cycle.
 */
import type { CaptureError } from '../errors.js'
import type { SctpStats } from '../pcap/sctp.js'
import type { TcpStats } from '../pcap/tcp.js'
import type { SipInfo } from '../sip/scan.js'

/** What a capture is searched for: SIP messages, HEP packets, or both. */
export type Want = 'sip' | 'hep' | 'both'

export interface CapturedMessage {
  /** record (frame) number that completed the message, as Wireshark numbers frames */
  frame: number
  /** capture time of that record (for a message over several TCP segments: the last one needed) */
  seconds: number
  nanos: number
  transport: 'udp' | 'tcp' | 'sctp'
  ipVersion: 4 | 6
  src: string
  dst: string
  srcPort: number
  dstPort: number
  vlan?: number
  payload: Buffer
  /** 'rtcp': a UDP payload that may be RTCP (ExtractOptions.rtcp), for the RTCP correlator to decide */
  kind: 'sip' | 'hep' | 'rtcp'
  sip?: SipInfo
}

/** Counters of the stream handlers (TCP directions and what they carried). */
export interface StreamCounts {
  /** TCP directions by what they carried */
  sipStreams: number
  hepStreams: number
  webSocketStreams: number
  otherStreams: number
  /** CRLF keep-alives between messages */
  keepAlives: number
  /** bytes skipped looking for a SIP start line / HEP3 magic (mid-stream starts, holes, bad data) */
  resyncBytes: number
  /** messages dropped: cut by a hole, incomplete when their stream ended, or too long */
  incomplete: number
  /** SIP messages longer than the framer's limit (256 KiB), skipped */
  tooLong: number
  /** WebSocket control frames (ping, pong, close) */
  webSocketControlFrames: number
  /** WebSocket messages skipped whole: compressed (RSV bits, permessage-deflate) or too long */
  webSocketUnreadable: number
  /** WebSocket framing errors (the rest of that direction is ignored) */
  webSocketErrors: number
}

export interface StreamStats extends StreamCounts {
  tcp: TcpStats
  sctp: SctpStats
}

export interface ExtractStats {
  records: number
  sip: number
  hep: number
  /** frames (or payloads) not turned into messages, by reason */
  skipped: Record<string, number>
  fragmentsReassembled: number
  /** TCP / SCTP stream counters (set when the capture has been read) */
  streams?: StreamStats
  /** the error that ended the capture early, if any (records before it were processed) */
  error?: CaptureError
}
