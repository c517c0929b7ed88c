/**
 * RTCP of a capture, told apart and tied to its call. The capture's SIP messages, in capture order,
 * teach the media table (table.ts) where each call's RTCP goes (sdp.ts); each RTCP candidate (a UDP
 * payload rtcpCandidate accepted) is then:
 *
 * - on an endpoint of a known call (its destination, else its source): RTCP of that call when it
 *   parses (RFC 5761: on a muxed RTP port the second byte 192..223 already told it from RTP), else
 *   malformed RTCP;
 * - elsewhere: RTCP outside any known call when it passes the content test (looksLikeRtcp: first
 *   packet type 200..207, lengths consistent through the compound) and parses; malformed when it
 *   looks like RTCP but does not parse; otherwise not RTCP at all (RTP with an unlucky second byte).
 */
import { scanSip, type SipInfo } from '../sip/scan.js'
import { looksLikeRtcp, parseRtcp, type RtcpReport } from './rtcp.js'
import { messageEndpoints } from './sdp.js'
import { MediaTable, type MediaTableOptions } from './table.js'

/** --rtcp: RTCP of the capture's calls only (default), all RTCP, or none. */
export type RtcpMode = 'correlated' | 'all' | 'off'
export const RTCP_MODES: readonly RtcpMode[] = ['correlated', 'all', 'off']

export interface RtcpCounts {
  /** RTCP packets found (each of the others below is one of these) */
  found: number
  /** made into HEP: of a known call, or (--rtcp all) outside any */
  items: number
  /** of those, outside any known call (--rtcp all) */
  itemsUncorrelated: number
  /** skipped (--rtcp correlated): RTCP of no call whose SIP is in the capture */
  uncorrelated: number
  /** skipped: looked like RTCP, did not parse */
  malformed: number
}

export function emptyRtcpCounts(): RtcpCounts {
  return { found: 0, items: 0, itemsUncorrelated: 0, uncorrelated: 0, malformed: 0 }
}

/** What became of one RTCP candidate. */
export type RtcpDecision =
  | { kind: 'report'; report: RtcpReport; callId: string | undefined }
  | { kind: 'uncorrelated' }
  | { kind: 'malformed'; detail: string }
  | { kind: 'not-rtcp' }

/** What the correlator reads of a captured message (CapturedMessage has it all). */
export interface MediaMessage {
  seconds: number
  nanos: number
  src: string
  dst: string
  srcPort: number
  dstPort: number
  payload: Buffer
  sip?: SipInfo
}

const timeMs = (m: MediaMessage) => m.seconds * 1000 + m.nanos / 1e6

const CRLFCRLF = Buffer.from('\r\n\r\n')

/** Starts with "BYE " or "CANCEL ". */
function endsCall(p: Buffer): boolean {
  return (
    (p[0] === 0x42 && p[1] === 0x59 && p[2] === 0x45 && p[3] === 0x20) ||
    (p[0] === 0x43 &&
      p[1] === 0x41 &&
      p[2] === 0x4e &&
      p[3] === 0x43 &&
      p[6] === 0x20 &&
      p.toString('latin1', 0, 6) === 'CANCEL')
  )
}

export class RtcpCorrelator {
  readonly table: MediaTable
  readonly counts: RtcpCounts = emptyRtcpCounts()

  constructor(
    readonly mode: Exclude<RtcpMode, 'off'>,
    table?: MediaTableOptions,
  ) {
    this.table = new MediaTable(table)
  }

  /**
   * A SIP message, in capture order: its SDP's endpoints recorded against its Call-ID, a BYE or
   * CANCEL noted. Messages without a body (and not BYE/CANCEL) cost one search for the blank line.
   */
  sip(m: MediaMessage): void {
    const p = m.payload
    let info = m.sip
    if (info === undefined) {
      const bye = endsCall(p)
      if (!bye) {
        const blank = p.indexOf(CRLFCRLF)
        if (blank < 0 || blank + 4 >= p.length) return
      } else if (this.table.size === 0) return
      info = scanSip(p)
      if (info === undefined) return
    }
    const callId = info.callId
    if (callId === undefined) return
    const t = timeMs(m)
    if (info.kind === 'request' && (info.method === 'BYE' || info.method === 'CANCEL')) {
      this.table.end(callId, t)
      return
    }
    if (info.headerLength <= 0 || info.headerLength >= p.length) return
    const eps = messageEndpoints(p, info.headerLength, info.contentLength)
    if (eps.length > 0) this.table.offer(callId, eps, t)
  }

  /** An RTCP candidate: its report and call, or why it is not one. Counted. */
  rtcp(m: MediaMessage): RtcpDecision {
    const t = timeMs(m)
    const c = this.counts
    const callId = this.table.lookup(m.dst, m.dstPort, t) ?? this.table.lookup(m.src, m.srcPort, t)
    const p = m.payload
    if (callId === undefined && !looksLikeRtcp(p)) {
      // version 2 and type 200..207 but lengths that do not add up: broken RTCP, not RTP
      if ((p[0] & 0xc0) === 0x80 && p[1] >= 200 && p[1] <= 207) {
        c.found++
        c.malformed++
        return { kind: 'malformed', detail: 'packet lengths do not add up to the datagram' }
      }
      return { kind: 'not-rtcp' }
    }
    c.found++
    const r = parseRtcp(p)
    if (r.error !== undefined) {
      c.malformed++
      return { kind: 'malformed', detail: r.error }
    }
    if (callId === undefined && this.mode === 'correlated') {
      c.uncorrelated++
      return { kind: 'uncorrelated' }
    }
    c.items++
    if (callId === undefined) c.itemsUncorrelated++
    return { kind: 'report', report: r.report, callId }
  }
}
