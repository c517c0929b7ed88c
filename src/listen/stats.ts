/** What a listen session counts: packets per capture id and payload type, malformed, rejected. */
import type { HepPacket } from '../hep/packet.js'

export class ListenStats {
  readonly startedAt = Date.now()
  received = 0
  shown = 0
  filtered = 0
  malformed = 0
  rejected: Record<string, number> = {}
  /** capture id (-1: none) -> payload type -> packets */
  private byKind = new Map<number, Map<number, number>>()
  private byVersion = [0, 0, 0, 0]

  packet(p: HepPacket): void {
    this.received++
    this.byVersion[p.version]++
    const c = p.captureId ?? -1
    let m = this.byKind.get(c)
    if (m === undefined) this.byKind.set(c, (m = new Map()))
    const t = p.payloadType ?? 1
    m.set(t, (m.get(t) ?? 0) + 1)
  }

  reject(reason: string): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1
  }

  /** rows of [capture id, payload type, packets], most first */
  kinds(): { captureId: string; payloadType: number; packets: number }[] {
    const rows: { captureId: string; payloadType: number; packets: number }[] = []
    for (const [c, m] of this.byKind) {
      for (const [t, n] of m) rows.push({ captureId: c < 0 ? '-' : String(c), payloadType: t, packets: n })
    }
    return rows.sort((a, b) => b.packets - a.packets)
  }

  versions(): Record<string, number> {
    return { v1: this.byVersion[1], v2: this.byVersion[2], v3: this.byVersion[3] }
  }
}
