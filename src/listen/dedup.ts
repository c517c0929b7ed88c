/**
 * --dedup MS: drops a packet equal to one seen within the window, as when two agents mirror the same
 * message. Equal means the same payload, addresses and ports (the HEP chunks, not who sent the HEP)
 * and payload type; "within the window" compares the packets' HEP capture times (their arrival when a
 * packet has none), as heplify-server's Dedup does (a payload hash with its time, a repeat within
 * 500 ms dropped; the first sighting's time is kept, so a message repeated steadily is let through
 * once per window). Memory is bounded: entries older than the window go, and at most `maxEntries`
 * are kept (the oldest go first).
 */
import { createHash } from 'node:crypto'
import type { HepPacket } from '../hep/packet.js'

/** about 40 MB of keys at most */
export const DEDUP_MAX_ENTRIES = 250_000

export class Deduplicator {
  /** packets dropped as duplicates */
  dropped = 0
  /** key → [capture time ms, arrival ms]; a Map keeps insertion order, the oldest first */
  private readonly seen = new Map<string, number>()
  private readonly arrived = new Map<string, number>()

  constructor(
    readonly windowMs: number,
    private readonly maxEntries = DEDUP_MAX_ENTRIES,
  ) {
    if (!Number.isFinite(windowMs) || windowMs <= 0) throw new RangeError(`dedup window must be > 0 ms`)
  }

  /** true when `p` repeats a packet seen within the window (counted in `dropped`) */
  duplicate(p: HepPacket, arrivalMs: number): boolean {
    if (p.payload === undefined) return false
    const h = createHash('sha1')
    h.update(`${p.payloadType ?? 1} ${p.srcIp ?? ''} ${p.srcPort ?? ''} ${p.dstIp ?? ''} ${p.dstPort ?? ''} `)
    h.update(p.payload)
    const key = h.digest('base64')
    const t = p.timeSeconds !== undefined ? p.timeSeconds * 1000 + (p.timeUseconds ?? 0) / 1000 : arrivalMs
    this.expire(arrivalMs)
    const prev = this.seen.get(key)
    if (prev !== undefined && Math.abs(t - prev) < this.windowMs) {
      this.dropped++
      return true
    }
    if (prev !== undefined) {
      this.seen.delete(key)
      this.arrived.delete(key)
    }
    this.seen.set(key, t)
    this.arrived.set(key, arrivalMs)
    if (this.seen.size > this.maxEntries) {
      const oldest = this.seen.keys().next().value as string
      this.seen.delete(oldest)
      this.arrived.delete(oldest)
    }
    return false
  }

  /** entries kept now */
  get size(): number {
    return this.seen.size
  }

  /** Forgets entries that arrived more than twice the window ago (no later packet can match them by arrival). */
  private expire(now: number): void {
    const before = now - 2 * this.windowMs
    for (const [k, at] of this.arrived) {
      if (at >= before) break
      this.arrived.delete(k)
      this.seen.delete(k)
    }
  }
}
