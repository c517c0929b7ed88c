/**
 * What a listen session counts beyond HepServer.stats(): packets received (while listening), shown
 * (passed the filter), filtered out, and per capture id and payload type. Malformed, rejected,
 * connections and drops are the server's (HepServer.stats()).
 */
import type { HepPacket } from '../hep/packet.js'
import { MAX_KINDS } from '../item/skip.js'
import { KIND_UNKNOWN } from './out-ring.js'

/** the capture ids that are not ones: none in the packet, the rest past MAX_KINDS, not known */
const KIND_LABELS: Record<number, string> = { [-1]: '-', [-2]: 'other', [KIND_UNKNOWN]: 'unknown' }

export class ListenStats {
  readonly startedAt = Date.now()
  received = 0
  shown = 0
  filtered = 0
  /** dropped by --dedup as repeats */
  deduplicated = 0
  /** capture id (-1: none; -2: others, beyond MAX_KINDS ids) -> payload type -> packets */
  private byKind = new Map<number, Map<number, number>>()

  packet(p: HepPacket): void {
    this.received++
    let c = p.captureId ?? -1
    // capture ids come from the network: beyond MAX_KINDS of them, new ones count together
    if (!this.byKind.has(c) && this.byKind.size >= MAX_KINDS) c = -2
    let m = this.byKind.get(c)
    if (m === undefined) this.byKind.set(c, (m = new Map()))
    const t = p.payloadType ?? 1
    m.set(t, (m.get(t) ?? 0) + 1)
  }

  /** the counts by kind as [capture id (-1: none, -2: others), payload type, packets] */
  rows(): [number, number, number][] {
    const rows: [number, number, number][] = []
    for (const [c, m] of this.byKind) for (const [t, n] of m) rows.push([c, t, n])
    return rows
  }

  /** Adds counts by kind that another thread made (rows()); `received` is the caller's. */
  addRows(rows: readonly (readonly [number, number, number])[]): void {
    for (const [c0, t, n] of rows) {
      // (the rows of no capture id, 'other' and 'unknown' are never folded into 'other')
      const c = c0 >= 0 && !this.byKind.has(c0) && this.byKind.size >= MAX_KINDS ? -2 : c0
      let m = this.byKind.get(c)
      if (m === undefined) this.byKind.set(c, (m = new Map()))
      m.set(t, (m.get(t) ?? 0) + n)
    }
  }

  /** rows of [capture id, payload type (-1: not known), packets], most first */
  kinds(): { captureId: string; payloadType: number; packets: number }[] {
    const rows: { captureId: string; payloadType: number; packets: number }[] = []
    for (const [c, m] of this.byKind) {
      for (const [t, n] of m)
        rows.push({ captureId: KIND_LABELS[c] ?? String(c), payloadType: t, packets: n })
    }
    return rows.sort((a, b) => b.packets - a.packets)
  }
}
