/**
 * From packets to calls: each HEP packet (or captured SIP message) goes to its call by Call-ID; what
 * is not SIP, or has no Call-ID, is counted by reason. One call may be followed closely (`flow`): its
 * messages, and the RTCP reports (payload type 5) that name it in their correlation id, are kept for
 * its ladder diagram. Used by `hep calls` on files and by `hep listen --calls` on what it receives.
 */
import { payloadOf } from '../hep/compress.js'
import type { HepPacket } from '../hep/packet.js'
import { tally, type Counts } from '../item/skip.js'
import { scanSip, type SipInfo } from '../sip/scan.js'
import type { CallSummary } from './call.js'
import { CallTable, type CallTableOptions, type CallTableStats } from './table.js'

/** A packet filter: the shared one of the commands (PacketFilter) or any predicate. */
export interface CallFilter {
  matches(p: HepPacket, sip?: SipInfo): boolean
}

/** One message of the followed call. */
export interface FlowMessage {
  timeUs: number
  packet: HepPacket
  sip: SipInfo
}

/** One RTCP report (HEP payload type 5) correlated with the followed call. */
export interface FlowReport {
  timeUs: number
  packet: HepPacket
}

export interface CollectOptions extends Omit<CallTableOptions, 'onCall'> {
  onCall: (c: CallSummary, early: boolean) => void
  /** a call is shown when one of its messages passes this (all its messages are counted) */
  filter?: CallFilter
  /** keep the messages and RTCP reports of this call (exact Call-ID) */
  flow?: string
  /** keep at most this many messages and reports of the followed call (default 10,000) */
  flowLimit?: number
}

export const PAYLOAD_SIP = 1
export const PAYLOAD_RTCP = 5

/** A packet's capture time in µs since the epoch (0 when it has none). */
export function timeUsOf(p: HepPacket): number {
  return (p.timeSeconds ?? 0) * 1e6 + (p.timeUseconds ?? 0)
}

export class CallCollector {
  readonly table: CallTable
  /** packets that did not go to a call, by reason */
  readonly skipped: Counts = {}
  readonly flowMessages: FlowMessage[] = []
  readonly flowReports: FlowReport[] = []
  /** messages of the followed call beyond flowLimit: counted in the call, not kept for its ladder */
  flowMessagesDropped = 0
  /** RTCP reports of the followed call beyond flowLimit: not kept */
  flowReportsDropped = 0
  private readonly flowLimit: number

  constructor(private readonly opts: CollectOptions) {
    this.table = new CallTable(opts)
    this.flowLimit = opts.flowLimit ?? 10_000
  }

  get stats(): CallTableStats {
    return this.table.stats
  }

  /**
   * One packet; `sip`: its SIP scan, when the reader made it already; `captured`: a SIP message read
   * from a capture (not HEP), whose capture id is only the one stamped on it, not a sender's.
   */
  packet(p: HepPacket, sip?: SipInfo, captured = false): void {
    const type = p.payloadType ?? PAYLOAD_SIP
    if (type === PAYLOAD_RTCP) {
      if (this.opts.flow !== undefined && p.correlationId === this.opts.flow) this.keep(this.flowReports, p)
      else tally(this.skipped, 'RTCP')
      return
    }
    // a compressed payload (chunk 0x0010, as captagent and Asterisk send) is read inflated
    const payload = payloadOf(p)
    if (type !== PAYLOAD_SIP || payload === undefined) {
      tally(this.skipped, 'not SIP')
      return
    }
    const s = sip ?? scanSip(payload)
    if (s === undefined) {
      tally(this.skipped, 'not SIP')
      return
    }
    const callId = s.callId
    if (callId === undefined) {
      tally(this.skipped, 'no Call-ID')
      return
    }
    const timeUs = timeUsOf(p)
    const matched = this.opts.filter === undefined || this.opts.filter.matches(p, s)
    this.table.add(
      callId,
      { sip: s, payload, timeUs, captureId: captured ? undefined : p.captureId, nodeName: p.nodeName },
      matched,
    )
    if (this.opts.flow !== undefined && callId === this.opts.flow) {
      if (this.flowMessages.length < this.flowLimit) this.flowMessages.push({ timeUs, packet: p, sip: s })
      else this.flowMessagesDropped++
    }
  }

  private keep(list: FlowReport[], p: HepPacket): void {
    if (list.length < this.flowLimit) list.push({ timeUs: timeUsOf(p), packet: p })
    else this.flowReportsDropped++
  }

  /** The end of the input: every call still held is emitted. */
  end(): void {
    this.table.flush()
  }
}
