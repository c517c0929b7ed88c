/** What a listen session counts: packets per capture id and payload type, malformed, rejected. */
import type { HepPacket } from '../hep/packet.js'

export class ListenStats {
  readonly startedAt = Date.now()
  received = 0
  shown = 0
  filtered = 0
  malformed = 0
  rejected: Record<string, number> = {}
  /** "captureId|payloadType" -> packets */
  private byKind = new Map<string, number>()
  private byVersion = [0, 0, 0, 0]

  packet(p: HepPacket): void {
    this.received++
    this.byVersion[p.version]++
    const k = `${p.captureId ?? '-'}|${p.payloadType ?? 1}`
    this.byKind.set(k, (this.byKind.get(k) ?? 0) + 1)
  }

  reject(reason: string): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1
  }

  /** rows of [capture id, payload type, packets], most first */
  kinds(): { captureId: string; payloadType: number; packets: number }[] {
    return [...this.byKind]
      .map(([k, n]) => {
        const [c, t] = k.split('|')
        return { captureId: c, payloadType: Number(t), packets: n }
      })
      .sort((a, b) => b.packets - a.packets)
  }

  versions(): Record<string, number> {
    return { v1: this.byVersion[1], v2: this.byVersion[2], v3: this.byVersion[3] }
  }
}
