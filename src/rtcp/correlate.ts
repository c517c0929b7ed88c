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
import { textEndpoints } from './sdp.js'
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
  /**
   * SIP messages with a body (or BYE/CANCEL) before the first media that the backlog (BACKLOG)
   * could not keep: their calls are not known (0 unless a capture opens with that much SIP alone)
   */
  backlogDropped: number
}

/**
 * SIP messages with a body (or BYE/CANCEL) kept before the capture shows media (RTP or RTCP), for
 * the media table to read then: some 500 calls' offers and answers. Media follows its call's
 * answer within milliseconds; more kept costs a SIP-only capture some 10 % (measured: they outlive
 * the young generation of the garbage collector).
 */
export const BACKLOG = 1024

export function emptyRtcpCounts(): RtcpCounts {
  return { found: 0, items: 0, itemsUncorrelated: 0, uncorrelated: 0, malformed: 0, backlogDropped: 0 }
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

/** Ends with the blank line: a message without a body (most of them), told without a search. */
function endsBlank(p: Buffer): boolean {
  const n = p.length
  return p[n - 1] === 10 && p[n - 2] === 13 && p[n - 3] === 10 && p[n - 4] === 13
}

export class RtcpCorrelator {
  readonly table: MediaTable
  readonly counts: RtcpCounts = emptyRtcpCounts()
  /** SIP messages are read as they come (an RTCP candidate has been seen) */
  private learning = false
  private backlog: MediaMessage[] = []
  private backlogNext = 0

  constructor(
    readonly mode: Exclude<RtcpMode, 'off'>,
    table?: MediaTableOptions,
  ) {
    this.table = new MediaTable(table)
  }

  /**
   * A SIP message, in capture order: its SDP's endpoints recorded against its Call-ID, a BYE or
   * CANCEL noted. A message without a body (and not a BYE or CANCEL) costs four byte compares.
   *
   * Until the capture shows media (media(): its first RTP or RTCP), the messages that matter (with a
   * body; BYE, CANCEL) are only kept, the last BACKLOG of them, as they are (no copy: the views the
   * capture reader made): a capture without media never pays for reading SDP. Then the backlog is
   * read in order, and from then on every message as it comes.
   */
  sip(m: MediaMessage): void {
    if (this.learning) return this.learn(m)
    const info = m.sip
    if (info !== undefined) {
      const ends = info.kind === 'request' && (info.method === 'BYE' || info.method === 'CANCEL')
      if (!ends && info.contentLength === 0) return
    } else if (!endsCall(m.payload) && endsBlank(m.payload)) return
    const i = this.backlogNext++ % BACKLOG
    if (this.backlog[i] !== undefined) this.counts.backlogDropped++
    this.backlog[i] = m
  }

  /**
   * The capture has media (its first RTP, or an RTCP candidate): the SIP messages kept so far are
   * read, in order, and every one from now on.
   */
  media(): void {
    if (this.learning) return
    this.learning = true
    const b = this.backlog
    const n = this.backlogNext
    for (let k = Math.max(0, n - BACKLOG); k < n; k++) this.learn(b[k % BACKLOG])
    this.backlog = []
  }

  private learn(m: MediaMessage): void {
    const p = m.payload
    const info = m.sip
    let callId: string | undefined
    let ends: boolean
    if (info !== undefined) {
      callId = info.callId
      ends = info.kind === 'request' && (info.method === 'BYE' || info.method === 'CANCEL')
      if (callId === undefined || (!ends && info.contentLength === 0)) return
      if (ends) return this.table.end(callId, timeMs(m))
      if (info.headerLength <= 0 || info.headerLength >= p.length) return
      return this.offer(callId, p.toString('latin1'), info.headerLength, info.contentLength, m)
    }
    // no SIP scan yet (convert needs none): only a message with a body, a BYE or a CANCEL is read,
    // as one latin1 string (searches in a JS string cost less than native Buffer searches)
    ends = endsCall(p)
    if (ends ? this.table.size === 0 : endsBlank(p)) return
    const text = p.toString('latin1')
    const blank = text.indexOf('\r\n\r\n')
    if (blank < 0 || (!ends && blank + 4 >= text.length)) return
    let headerLength = blank + 4
    let contentLength: number | undefined
    const at = text.indexOf('\r\nCall-ID:')
    if (at >= 0 && at < blank) {
      const e = text.indexOf('\r', at + 10)
      callId = text.slice(at + 10, e).trim()
      // Call-IDs are ASCII; anything else is decoded as the SIP scan decodes it (UTF-8)
      if (!/^[\x21-\x7e]*$/.test(callId)) callId = p.toString('utf8', at + 10, e).trim()
    } else {
      const s = scanSip(p)
      if (s === undefined) return
      callId = s.callId
      headerLength = s.headerLength
      contentLength = s.contentLength
    }
    if (callId === undefined || callId === '') return
    if (ends) return this.table.end(callId, timeMs(m))
    this.offer(callId, text, headerLength, contentLength, m)
  }

  private offer(
    callId: string,
    text: string,
    headerLength: number,
    contentLength: number | undefined,
    m: MediaMessage,
  ): void {
    const eps = textEndpoints(text, headerLength, contentLength)
    if (eps.length > 0) this.table.offer(callId, eps, timeMs(m))
  }

  /** An RTCP candidate: its report and call, or why it is not one. Counted. */
  rtcp(m: MediaMessage): RtcpDecision {
    if (!this.learning) this.media()
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
