/**
 * The call table: messages in (in capture-time order), call summaries out, sorted by start, with
 * bounded memory. A call is emitted, and forgotten, once it is finished (call.ts) and has been quiet
 * for `lingerSeconds` of capture time (retransmissions and late ACKs still count in it), or once it
 * has been quiet for `idleSeconds` whatever its state; calls are emitted in the order they started,
 * so a call still running holds back the ones that started after it, and when more than `maxCalls`
 * are held the oldest is emitted early (counted in `stats.early`). A call none of whose messages
passed the filter is forgotten the same way, not emitted (counted in `stats.unmatched`). Only summaries are held: a call
 * costs a few hundred bytes, whatever its number of messages.
 */
import { CallState, type CallSummary, type MessageFacts } from './call.js'

export interface CallTableOptions {
  /** a finished call is emitted after this long without a message (capture time; default 32 s, RFC 3261 timer D) */
  lingerSeconds?: number
  /** any call is emitted after this long without a message (default 7200 s) */
  idleSeconds?: number
  /** at most this many calls held (default 100,000) */
  maxCalls?: number
  /** called with each call as it is emitted, in order of start; `early`: because maxCalls were held */
  onCall: (c: CallSummary, early: boolean) => void
}

export interface CallTableStats {
  /** SIP messages taken in */
  messages: number
  /** calls emitted (one of their messages passed the filter) */
  calls: number
  /** calls forgotten without being emitted: none of their messages passed the filter */
  unmatched: number
  /**
   * of the calls emitted, those emitted before they were finished and quiet because maxCalls were
   * held (a message of theirs that comes later starts a new call of the same Call-ID)
   */
  early: number
}

export class CallTable {
  private readonly calls = new Map<string, CallState>()
  private readonly lingerUs: number
  private readonly idleUs: number
  private readonly maxCalls: number
  /** the latest capture time seen, µs */
  private nowUs = 0
  /** when the head was last looked at, µs */
  private lookedUs = 0
  readonly stats: CallTableStats = { messages: 0, calls: 0, unmatched: 0, early: 0 }

  constructor(private readonly opts: CallTableOptions) {
    this.lingerUs = (opts.lingerSeconds ?? 32) * 1e6
    this.idleUs = (opts.idleSeconds ?? 7200) * 1e6
    this.maxCalls = opts.maxCalls ?? 100_000
  }

  /** Calls held now. */
  get size(): number {
    return this.calls.size
  }

  /** Takes one message of call `callId`; `matched`: it passed the filter (the call is then shown). */
  add(callId: string, m: MessageFacts, matched = true): void {
    this.stats.messages++
    let c = this.calls.get(callId)
    if (c === undefined) {
      c = new CallState(callId, m.timeUs)
      this.calls.set(callId, c)
    }
    c.add(m)
    if (matched) c.matched = true
    if (m.timeUs > this.nowUs) this.nowUs = m.timeUs
    // the head is looked at again once per 100 ms of capture time, or when too many calls are held
    if (this.nowUs - this.lookedUs >= 100_000 || this.calls.size > this.maxCalls) {
      this.lookedUs = this.nowUs
      this.emitReady()
    }
  }

  /** Summaries of the calls held now, in order of start (for a live view). */
  held(): CallSummary[] {
    const out: CallSummary[] = []
    for (const c of this.calls.values()) if (c.matched) out.push(c.summary())
    return out.sort((a, b) => a.startUs - b.startUs)
  }

  /** Emits every call still held, in order of start (at the end of the input). */
  flush(): void {
    const rest = [...this.calls.values()].sort((a, b) => a.startUs - b.startUs)
    this.calls.clear()
    for (const c of rest) this.emit(c, false)
  }

  private emitReady(): void {
    for (const [id, c] of this.calls) {
      const quiet = this.nowUs - c.endUs
      const over = this.calls.size > this.maxCalls
      const ready = quiet >= this.idleUs || (c.finished && quiet >= this.lingerUs)
      if (!over && !ready) break
      this.calls.delete(id)
      this.emit(c, !ready)
    }
  }

  /** Emits `c` if it matched, else counts it as unmatched. */
  private emit(c: CallState, early: boolean): void {
    if (!c.matched) {
      this.stats.unmatched++
      return
    }
    this.stats.calls++
    if (early) this.stats.early++
    this.opts.onCall(c.summary(), early)
  }
}
