/**
 * The media table: which call (Call-ID) each RTCP endpoint (address and port) belongs to, learnt from
 * the SDP of the calls' SIP messages. Bounded in calls and in endpoints per call; a call is forgotten
 * a grace period after its BYE or CANCEL (the last reports come after it), after an idle limit
 * without SIP or RTCP, or, over the bound on calls, the least recently active first. All times are
 * capture times (ms), so a capture of last week ages as it did then, whatever the wall clock says.
 *
 * An endpoint named again by a later call belongs to the later call (ports are reused).
 */
import type { MediaEndpoint } from './sdp.js'

export interface MediaTableOptions {
  /** calls held at most (default 50,000); over it the least recently active is forgotten */
  maxCalls?: number
  /** endpoints held per call (default 32; re-INVITEs add more): the oldest go first */
  maxEndpointsPerCall?: number
  /** ms a call is kept after its BYE or CANCEL (default 30 s) */
  graceMs?: number
  /** ms a call is kept without SIP or RTCP (default 20 minutes, as heplify) */
  idleMs?: number
}

export interface MediaTableStats {
  /** calls held now */
  calls: number
  /** endpoints held now */
  endpoints: number
  /** calls forgotten after BYE/CANCEL + grace */
  ended: number
  /** calls forgotten after the idle limit */
  idle: number
  /** calls forgotten to stay under maxCalls */
  evicted: number
}

interface Call {
  readonly id: string
  readonly endpoints: string[]
  /** capture time of the last SIP or RTCP of the call */
  last: number
  /** when it is forgotten after BYE/CANCEL (Infinity until then) */
  endAt: number
}

/** "10.0.0.1 4001": the key of an endpoint. */
export function endpointKey(ip: string, port: number): string {
  return `${ip} ${port}`
}

export class MediaTable {
  private readonly byEndpoint = new Map<string, Call>()
  /** in order of last activity: the first is the least recently active */
  private readonly calls = new Map<string, Call>()
  private readonly ending: Call[] = []
  private endingHead = 0
  private now = -Infinity
  /** the idle sweep runs at most once per second of capture time */
  private nextSweep = -Infinity
  private readonly maxCalls: number
  private readonly maxEndpoints: number
  private readonly graceMs: number
  private readonly idleMs: number
  private readonly counts = { ended: 0, idle: 0, evicted: 0 }

  constructor(o: MediaTableOptions = {}) {
    this.maxCalls = Math.max(1, o.maxCalls ?? 50_000)
    this.maxEndpoints = Math.max(1, o.maxEndpointsPerCall ?? 32)
    this.graceMs = o.graceMs ?? 30_000
    this.idleMs = o.idleMs ?? 20 * 60_000
  }

  get stats(): MediaTableStats {
    return { calls: this.calls.size, endpoints: this.byEndpoint.size, ...this.counts }
  }

  get size(): number {
    return this.calls.size
  }

  /** The SDP of a message of call `callId` at time `t` names these RTCP endpoints. */
  offer(callId: string, endpoints: readonly MediaEndpoint[], t: number): void {
    this.expire(t)
    let call = this.calls.get(callId)
    if (call === undefined) {
      if (endpoints.length === 0) return
      if (this.calls.size >= this.maxCalls) {
        const oldest = this.calls.values().next().value as Call
        this.remove(oldest)
        this.counts.evicted++
      }
      call = { id: callId, endpoints: [], last: t, endAt: Infinity }
    } else this.calls.delete(callId)
    call.last = Math.max(call.last, t)
    this.calls.set(callId, call)
    for (const e of endpoints) {
      const key = endpointKey(e.ip, e.port)
      if (!call.endpoints.includes(key)) {
        if (call.endpoints.length >= this.maxEndpoints) this.drop(call, call.endpoints.shift() as string)
        call.endpoints.push(key)
      }
      this.byEndpoint.set(key, call)
    }
  }

  /** The call has ended (BYE or CANCEL) at `t`: forgotten once the grace period is over. */
  end(callId: string, t: number): void {
    this.expire(t)
    const call = this.calls.get(callId)
    if (call === undefined || call.endAt !== Infinity) return
    call.endAt = Math.max(t, this.now) + this.graceMs
    this.ending.push(call)
  }

  /** The call whose RTCP goes to or comes from this endpoint at `t` (counted as activity), if any. */
  lookup(ip: string, port: number, t: number): string | undefined {
    if (this.calls.size === 0) return undefined
    this.expire(t)
    const call = this.byEndpoint.get(endpointKey(ip, port))
    if (call === undefined) return undefined
    if (t > call.last) {
      call.last = t
      this.calls.delete(call.id)
      this.calls.set(call.id, call)
    }
    return call.id
  }

  /** Forgets what has expired by capture time `t` (time never runs backwards here). */
  expire(t: number): void {
    if (t <= this.now) return
    this.now = t
    const e = this.ending
    while (this.endingHead < e.length && e[this.endingHead].endAt <= t) {
      const call = e[this.endingHead++]
      if (this.calls.get(call.id) === call) {
        this.remove(call)
        this.counts.ended++
      }
    }
    if (this.endingHead > 1024 && this.endingHead * 2 > e.length) {
      e.splice(0, this.endingHead)
      this.endingHead = 0
    }
    if (t < this.nextSweep) return
    this.nextSweep = t + 1000
    for (;;) {
      const first = this.calls.values().next().value as Call | undefined
      if (first === undefined || first.last + this.idleMs > t) break
      this.remove(first)
      this.counts.idle++
    }
  }

  private drop(call: Call, key: string): void {
    if (this.byEndpoint.get(key) === call) this.byEndpoint.delete(key)
  }

  private remove(call: Call): void {
    for (const key of call.endpoints) this.drop(call, key)
    this.calls.delete(call.id)
  }
}
