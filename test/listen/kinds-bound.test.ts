/** Counts by capture id stay bounded whatever ids the network sends (summary, metrics, relay). */
import { describe, expect, it } from 'vitest'
import { countKind, MAX_KINDS } from '../../src/item/skip.js'
import { ListenStats } from '../../src/listen/stats.js'

describe('counts by capture id', () => {
  it('countKind keeps MAX_KINDS kinds apart, then counts new capture ids as "other"; nothing is lost', () => {
    const kinds = new Map<string, number>()
    for (let id = 0; id < 5000; id++) countKind(kinds, `${id} 1 udp`)
    countKind(kinds, '7 1 udp')
    expect(kinds.size).toBe(MAX_KINDS + 1)
    expect(kinds.get('other 1 udp')).toBe(5000 - MAX_KINDS)
    expect(kinds.get('7 1 udp')).toBe(2)
    expect([...kinds.values()].reduce((a, b) => a + b, 0)).toBe(5001)
  })

  it('ListenStats: random capture ids give at most MAX_KINDS + 1 rows, and the rows add up', () => {
    const s = new ListenStats()
    for (let i = 0; i < 20_000; i++)
      s.packet({ version: 3, captureId: (i * 2654435761) >>> 0, payloadType: 1 })
    const rows = s.kinds()
    expect(rows.length).toBe(MAX_KINDS + 1)
    expect(rows.find((r) => r.captureId === 'other')?.packets).toBe(20_000 - MAX_KINDS)
    expect(rows.reduce((a, r) => a + r.packets, 0)).toBe(20_000)
  })
})
