/**
 * One call (one SIP Call-ID) as it is being summarised: what its messages have told so far, kept
 * small (no message is kept), and the rule for its final status:
 *
 * - the initial method is the method of the first request seen (a capture that starts inside a dialog
 *   gives that dialog's request);
 * - the "initial request" is the latest out-of-dialog request (no To tag) of that method; a REGISTER
 *   or INVITE sent again with credentials after a 401/407 (a higher CSeq) replaces it;
 * - its final status is the last final response (200-699) to that request (by CSeq number and method),
 *   so that behind a proxy the response the caller got counts; "no final" while there is none.
 */
import type { SipInfo } from '../sip/scan.js'
import { scanParties } from './headers.js'

/** The summary of one call: what `hep calls` prints per row and per JSON object. */
export interface CallSummary {
  callId: string
  /** the initial method; undefined when only responses were seen */
  method: string | undefined
  /** user@host of the From and To URIs of the call's first message */
  from: string | undefined
  to: string | undefined
  /** capture time of the first and last message, µs since the epoch */
  startUs: number
  endUs: number
  /** SIP messages of the call */
  messages: number
  /** the final status of the initial request; undefined: none seen */
  finalStatus: number | undefined
  /** its reason phrase */
  reason: string | undefined
  /** HEP capture ids seen (captured SIP carries none) */
  captureIds: number[]
  /** HEP node names seen */
  nodes: string[]
}

/** Failed: the initial request's final status is 400 or more, or there is none. */
export function isFailed(c: CallSummary): boolean {
  return c.finalStatus === undefined || c.finalStatus >= 400
}

/** What is known of a message for the summary. */
export interface MessageFacts {
  sip: SipInfo
  payload: Buffer
  /** capture time, µs since the epoch */
  timeUs: number
  captureId?: number
  nodeName?: string
}

export class CallState implements CallSummary {
  method: string | undefined = undefined
  from: string | undefined = undefined
  to: string | undefined = undefined
  startUs: number
  endUs: number
  messages = 0
  finalStatus: number | undefined = undefined
  reason: string | undefined = undefined
  captureIds: number[] = []
  nodes: string[] = []
  /** the CSeq number of the initial request (see the file's comment); -1 before one is seen */
  private attemptSeq = -1
  /** an INVITE answered 2xx: the call is over with a BYE (or CANCEL) and its response */
  private byeAnswered = false
  private byeSeen = false
  /** one of its messages passed the filter */
  matched = false

  constructor(
    readonly callId: string,
    timeUs: number,
  ) {
    this.startUs = timeUs
    this.endUs = timeUs
  }

  add(m: MessageFacts): void {
    const s = m.sip
    this.messages++
    if (m.timeUs < this.startUs) this.startUs = m.timeUs
    if (m.timeUs > this.endUs) this.endUs = m.timeUs
    if (m.captureId !== undefined && !this.captureIds.includes(m.captureId) && this.captureIds.length < 16)
      this.captureIds.push(m.captureId)
    if (m.nodeName !== undefined && !this.nodes.includes(m.nodeName) && this.nodes.length < 16)
      this.nodes.push(m.nodeName)
    const first = this.messages === 1
    if (s.kind === 'request') {
      const method = s.method ?? ''
      if (method === 'BYE') this.byeSeen = true
      if (this.method === undefined) {
        this.method = method
        this.parties(m, first || this.from === undefined)
        this.attemptSeq = s.cseq?.seq ?? 0
        this.finalStatus = undefined
        this.reason = undefined
        return
      }
      if (method === this.method && s.cseq !== undefined && s.cseq.seq > this.attemptSeq) {
        // the same request again, out of dialog (e.g. with credentials after 401/407): the new attempt
        const p = scanParties(m.payload, s.headerLength)
        if (p.toTag === undefined) {
          this.attemptSeq = s.cseq.seq
          this.finalStatus = undefined
          this.reason = undefined
        }
      }
      return
    }
    // a response
    if (first) this.parties(m, true)
    const status = s.statusCode ?? 0
    const cseq = s.cseq
    if (cseq === undefined) return
    // only responses so far (the capture started after the request): no initial request, no final
    if (this.method === undefined) return
    if (cseq.method === this.method && cseq.seq === this.attemptSeq && status >= 200) {
      this.finalStatus = status
      this.reason = s.reason
    } else if (cseq.method === 'BYE' && status >= 200) this.byeAnswered = true
  }

  private parties(m: MessageFacts, take: boolean): void {
    if (!take) return
    const p = scanParties(m.payload, m.sip.headerLength)
    this.from = p.from
    this.to = p.to
  }

  /**
   * Nothing more is expected: the initial request has its final response and, for an answered
   * INVITE, the BYE has been answered (or at least sent).
   */
  get finished(): boolean {
    if (this.finalStatus === undefined) return false
    if (this.method !== 'INVITE' || this.finalStatus >= 300) return true
    return this.byeAnswered || this.byeSeen
  }

  /** A plain copy (the state without its bookkeeping). */
  summary(): CallSummary {
    return {
      callId: this.callId,
      method: this.method,
      from: this.from,
      to: this.to,
      startUs: this.startUs,
      endUs: this.endUs,
      messages: this.messages,
      finalStatus: this.finalStatus,
      reason: this.reason,
      captureIds: this.captureIds,
      nodes: this.nodes,
    }
  }
}
