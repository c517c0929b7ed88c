// The flow table on its own (src/pcap/tcp/table.ts): the flow-count cap evicts the least recently
// active flow (a flow touched since it was placed gets a second chance), the memory cap sheds other
// flows before the current one, the idle timeout runs on capture time, and flush closes everything;
// every flow closed ends both directions with its reason.
import { describe, expect, it } from 'vitest'
import type { TransportResult } from '../../src/pcap/result.js'
import type { TcpFlow, TcpHalf } from '../../src/pcap/tcp/flow.js'
import { TcpSequencer } from '../../src/pcap/tcp/sequencer.js'
import { FlowTable, type FlowLimits } from '../../src/pcap/tcp/table.js'
import {
  emptyTcpStats,
  type TcpConsumer,
  type TcpEndReason,
  type TcpStats,
} from '../../src/pcap/tcp/types.js'

class Ends implements TcpConsumer<true> {
  ends: string[] = []
  data(): void {}
  gap(): void {}
  end(h: TcpHalf<true>, reason: TcpEndReason): void {
    this.ends.push(`${h.srcPort}>${h.dstPort} ${reason}`)
  }
  buffered(): number {
    return 0
  }
}

function setup(limits: Partial<FlowLimits> = {}) {
  const c = new Ends()
  const stats: TcpStats = emptyTcpStats()
  const table = new FlowTable<true>(new TcpSequencer(c, stats, 1 << 20), stats, {
    maxFlows: 100,
    memoryCap: 1 << 30,
    idleTimeoutMs: 60_000,
    ...limits,
  })
  const open = (port: number): TcpFlow<true> => {
    const t = {
      src: '10.0.0.1',
      srcPort: port,
      dst: '10.0.0.2',
      dstPort: 5060,
      ipVersion: 4,
    } as TransportResult
    const f = table.open(`k${port}`, t, true)
    f.a.synced = true // ends are reported for directions that saw traffic
    f.lastSeen = table.clock
    return f
  }
  return { c, stats, table, open }
}

describe('FlowTable', () => {
  it('opens flows by key, fwd or reversed, and counts them', () => {
    const { table, stats, open } = setup()
    table.advance(0)
    const f = open(1)
    expect(table.get('k1')).toBe(f)
    expect([f.a.src, f.a.srcPort, f.b.src, f.b.srcPort]).toEqual(['10.0.0.1', 1, '10.0.0.2', 5060])
    const t = { src: '10.0.0.2', srcPort: 5060, dst: '10.0.0.1', dstPort: 2, ipVersion: 4 } as TransportResult
    const r = table.open('k2', t, false)
    expect([r.a.src, r.a.srcPort]).toEqual(['10.0.0.1', 2])
    expect([table.size, stats.flows, stats.flowsOpened]).toEqual([2, 2, 2])
    table.remove(f)
    expect([table.size, stats.flows, table.get('k1')]).toEqual([1, 1, undefined])
  })

  it('over maxFlows: the least recently placed flow is evicted; a touched one is moved to the end first', () => {
    const { c, table, stats, open } = setup({ maxFlows: 3 })
    table.advance(0)
    const f1 = open(1)
    open(2)
    open(3)
    f1.touched = true // a segment since it was placed: second chance
    open(4)
    expect(c.ends).toEqual(['2>5060 evicted'])
    expect([table.get('k1'), table.get('k2')]).toEqual([f1, undefined])
    expect([table.size, stats.evicted]).toEqual([3, 1])
    open(5) // f1 was moved behind 3: 3 goes next
    expect(c.ends).toEqual(['2>5060 evicted', '3>5060 evicted'])
  })

  it('over the memory cap: other flows are shed, oldest first, before the current one', () => {
    const { c, table, stats, open } = setup({ memoryCap: 100 })
    table.advance(0)
    const flows = [1, 2, 3].map(open)
    flows.forEach((f) => (f.bytes = 40))
    stats.bytesHeld = 120
    table.shed(flows[0])
    expect(c.ends).toEqual(['2>5060 evicted'])
    expect([stats.bytesHeld, stats.evicted, table.size]).toEqual([80, 1, 2])
    flows[0].bytes = 200
    stats.bytesHeld = 240
    table.shed(flows[0])
    expect(c.ends).toEqual(['2>5060 evicted', '3>5060 evicted', '1>5060 evicted'])
    expect([stats.bytesHeld, stats.evicted, table.size]).toEqual([0, 3, 0])
  })

  it('idle flows are closed on capture time, once a timeout passed since their last segment', () => {
    const { c, table, stats, open } = setup({ idleTimeoutMs: 1000 })
    table.advance(0)
    const f1 = open(1)
    open(2)
    table.advance(500)
    f1.lastSeen = 500
    table.advance(-5000) // time never runs backwards
    expect(table.clock).toBe(500)
    table.advance(750) // sweeps run every timeout / 4 of capture time
    expect(c.ends).toEqual([])
    table.advance(1000) // a timeout after flow 2's last segment
    expect(c.ends).toEqual(['2>5060 idle'])
    table.advance(1250)
    expect(c.ends).toEqual(['2>5060 idle'])
    table.advance(1500) // flow 1's last segment at 500
    expect(c.ends).toEqual(['2>5060 idle', '1>5060 idle'])
    expect([stats.expired, table.size]).toEqual([2, 0])
  })

  it('flush closes every flow, both directions, with "end"', () => {
    const { c, table, stats, open } = setup()
    table.advance(0)
    const f = open(1)
    f.b.synced = true
    open(2)
    f.bytes = 5
    stats.bytesHeld = 5
    table.flush()
    expect(c.ends).toEqual(['1>5060 end', '5060>1 end', '2>5060 end'])
    expect([table.size, stats.flows, stats.bytesHeld]).toEqual([0, 0, 0])
  })
})
