// TCP reassembly: order, retransmissions, overlaps, mid-stream starts, FIN/RST, idle timeout, caps.
import { describe, expect, it } from 'vitest'
import type { TransportResult } from '../../src/pcap/result.js'
import { TcpReassembler, type TcpConsumer, type TcpEndReason, type TcpHalf } from '../../src/pcap/tcp.js'

const FIN = 0x01
const SYN = 0x02
const RST = 0x04
const ACK = 0x10
const PSH = 0x08

interface Rec {
  bytes: Buffer[]
  frames: number[]
  gaps: number[]
  ended?: TcpEndReason
  midStream: boolean
}

/** A consumer that records what each direction got. */
class Recorder implements TcpConsumer<Rec> {
  hold = 0
  data(half: TcpHalf<Rec>, data: Buffer, frame: number): void {
    const r = this.rec(half)
    r.bytes.push(Buffer.from(data))
    r.frames.push(frame)
  }
  gap(half: TcpHalf<Rec>, bytes: number): void {
    this.rec(half).gaps.push(bytes)
  }
  end(half: TcpHalf<Rec>, reason: TcpEndReason): void {
    this.rec(half).ended = reason
    this.all.push({ ...this.rec(half), key: `${half.src}:${half.srcPort}` } as Rec & { key: string })
  }
  buffered(): number {
    return this.hold
  }
  readonly all: (Rec & { key: string })[] = []
  rec(half: TcpHalf<Rec>): Rec {
    return (half.app ??= { bytes: [], frames: [], gaps: [], midStream: half.midStream })
  }
}

function seg(
  seq: number,
  payload: string | Buffer,
  flags = ACK | PSH,
  o: { src?: string; dst?: string; sp?: number; dp?: number } = {},
): TransportResult {
  return {
    kind: 'tcp',
    ipVersion: 4,
    src: o.src ?? '10.0.0.1',
    dst: o.dst ?? '10.0.0.2',
    srcPort: o.sp ?? 5070,
    dstPort: o.dp ?? 5060,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    tcp: { seq: seq >>> 0, ack: 0, flags, window: 65535 },
  }
}

/** the reverse direction of the default flow */
const back = { src: '10.0.0.2', dst: '10.0.0.1', sp: 5060, dp: 5070 }

function run(segs: TransportResult[], opts = {}) {
  const c = new Recorder()
  const r = new TcpReassembler(c, opts)
  segs.forEach((s, i) => r.segment(s, i + 1, 1000 + i, 0))
  const before = { flows: r.size, held: r.stats.bytesHeld }
  r.flush()
  const text = (k: string) =>
    c.all
      .filter((x) => x.key === k)
      .map((x) => Buffer.concat(x.bytes).toString())
      .join('|')
  return { c, r, before, fwd: text('10.0.0.1:5070'), rev: text('10.0.0.2:5060') }
}

describe('TCP reassembly', () => {
  it('in order, from the SYN: bytes once, each stamped with its segment', () => {
    const { c, fwd, r } = run([
      seg(99, '', SYN),
      seg(100, 'hello '),
      seg(106, 'world'),
      seg(111, '', FIN | ACK),
    ])
    expect(fwd).toBe('hello world')
    expect(c.all[0].frames).toEqual([2, 3])
    expect(c.all[0].ended).toBe('fin')
    expect(c.all[0].midStream).toBe(false)
    expect(r.stats.flowsOpened).toBe(1)
  })

  it('out of order: held, then delivered in sequence with the stamp of the segment that filled the hole', () => {
    const { c, fwd, r } = run([seg(0, '', SYN), seg(11, 'CCC'), seg(6, 'BBBBB'), seg(1, 'AAAAA')])
    expect(fwd).toBe('AAAAABBBBBCCC')
    expect(c.all[0].frames).toEqual([4, 4, 4])
    expect(r.stats.outOfOrder).toBe(2)
  })

  it('retransmissions and duplicates are dropped; overlaps are trimmed (the first copy wins)', () => {
    const { fwd, r } = run([
      seg(0, '', SYN),
      seg(1, '0123456789'),
      seg(1, '0123456789'), // retransmission
      seg(6, '56789abcde'), // overlaps 5 bytes
      seg(21, 'lmnop'), // ahead
      seg(21, 'lmn'), // shorter duplicate of a held segment
      seg(16, 'fghijklmnopqrs'), // fills the hole, overlaps the held one
      seg(11, 'abcdefghij'), // all old
    ])
    expect(fwd).toBe('0123456789abcdefghijklmnopqrs')
    expect(r.stats.retransmissions).toBe(3)
  })

  it('held segments that overlap each other', () => {
    const { fwd } = run([seg(0, '', SYN), seg(21, 'uvwxyz'), seg(11, 'klmnopqrstuv'), seg(1, 'abcdefghij')])
    expect(fwd).toBe('abcdefghijklmnopqrstuvwxyz')
  })

  it('sequence numbers wrap around 2^32', () => {
    const isn = 0xfffffff0
    const { fwd } = run([seg(isn, '', SYN), seg(isn + 1, 'a'.repeat(20)), seg(isn + 21, 'b'.repeat(10))])
    expect(fwd).toBe('a'.repeat(20) + 'b'.repeat(10))
  })

  it('a capture that starts mid-stream starts at the first segment seen, marked midStream', () => {
    const { c, fwd } = run([seg(5000, 'middle '), seg(5007, 'end')])
    expect(fwd).toBe('middle end')
    expect(c.all[0].midStream).toBe(true)
  })

  it('data on the SYN (TCP Fast Open) comes after it', () => {
    expect(run([seg(10, 'early', SYN), seg(16, ' more')]).fwd).toBe('early more')
  })

  it('both directions are kept apart in one flow', () => {
    const { fwd, rev, r } = run([
      seg(0, '', SYN),
      seg(900, '', SYN | ACK, back),
      seg(1, 'request'),
      seg(901, 'response', ACK, back),
    ])
    expect([fwd, rev]).toEqual(['request', 'response'])
    expect(r.stats.flowsOpened).toBe(1)
  })

  it('FIN ends a direction after every byte before it; FIN on both sides forgets the flow', () => {
    const c = new Recorder()
    const r = new TcpReassembler(c)
    r.segment(seg(0, '', SYN), 1, 1, 0)
    r.segment(seg(49, '', SYN | ACK, back), 1, 1, 0)
    r.segment(seg(6, 'world', FIN | ACK), 2, 1, 0) // ahead of a hole, with FIN
    expect(c.all).toHaveLength(0)
    r.segment(seg(1, 'hello'), 3, 1, 0)
    expect(c.all.map((x) => [Buffer.concat(x.bytes).toString(), x.ended])).toEqual([['helloworld', 'fin']])
    expect(r.size).toBe(1)
    r.segment(seg(50, 'bye', FIN | ACK, back), 4, 1, 0)
    expect(r.size).toBe(0)
    expect(r.stats.closed).toBe(1)
    // a capture of one direction only: its FIN is enough
    r.segment(seg(1, 'one way', ACK, { sp: 9 }), 5, 1, 0)
    r.segment(seg(8, '', FIN | ACK, { sp: 9 }), 6, 1, 0)
    expect(r.size).toBe(0)
  })

  it('RST ends both directions at once; held bytes are delivered after a gap', () => {
    const c = new Recorder()
    const r = new TcpReassembler(c)
    r.segment(seg(0, '', SYN), 1, 1, 0)
    r.segment(seg(1, 'abc'), 2, 1, 0)
    r.segment(seg(10, 'xyz'), 3, 1, 0)
    r.segment(seg(13, '', RST), 4, 1, 0)
    expect(r.size).toBe(0)
    expect(c.all[0]).toMatchObject({ ended: 'reset', gaps: [6] })
    expect(Buffer.concat(c.all[0].bytes).toString()).toBe('abcxyz')
  })

  it('a hole never filled is skipped at the end (the consumer is told how many bytes were lost)', () => {
    const { c, fwd, r } = run([seg(0, '', SYN), seg(1, 'aaa'), seg(14, 'zzz')])
    expect(fwd).toBe('aaazzz')
    expect(c.all[0].gaps).toEqual([10])
    expect(c.all[0].frames).toEqual([2, 3]) // the held segment keeps its own stamp
    expect(r.stats).toMatchObject({ gaps: 1, gapBytes: 10 })
  })

  it('a new SYN with another ISN on the same 4-tuple is a new connection', () => {
    const c = new Recorder()
    const r = new TcpReassembler(c)
    r.segment(seg(0, '', SYN), 1, 1, 0)
    r.segment(seg(1, 'old'), 2, 1, 0)
    r.segment(seg(7000, '', SYN), 3, 2, 0)
    r.segment(seg(7001, 'new'), 4, 2, 0)
    r.flush()
    expect(
      c.all.filter((x) => x.bytes.length).map((x) => [Buffer.concat(x.bytes).toString(), x.ended]),
    ).toEqual([
      ['old', 'new connection'],
      ['new', 'end'],
    ])
    // the same SYN again (a retransmission) changes nothing
    const r2 = new TcpReassembler(new Recorder())
    r2.segment(seg(0, '', SYN), 1, 1, 0)
    r2.segment(seg(0, '', SYN), 2, 1, 0)
    expect(r2.stats.flowsOpened).toBe(1)
  })

  it('pure ACKs and FIN/RST of unknown flows create nothing', () => {
    const c = new Recorder()
    const r = new TcpReassembler(c)
    r.segment(seg(1, '', ACK), 1, 1, 0)
    r.segment(seg(1, '', FIN | ACK), 2, 1, 0)
    r.segment(seg(1, '', RST), 3, 1, 0)
    expect(r.size).toBe(0)
    expect(r.stats.flowsOpened).toBe(0)
  })

  it('idle flows are closed by capture time, not wall time', () => {
    const c = new Recorder()
    const r = new TcpReassembler(c, { idleTimeoutMs: 60_000 })
    r.segment(seg(1, 'idle'), 1, 1000, 0)
    r.segment(seg(1, 'busy', ACK, { sp: 7000 }), 2, 1030, 0)
    r.segment(seg(5, 'busy', ACK, { sp: 7000 }), 3, 1050, 0)
    expect(r.size).toBe(2)
    // 80 s after its last segment (capture time), the first flow was idle for longer than the timeout
    r.segment(seg(9, 'busy', ACK, { sp: 7000 }), 4, 1080, 0)
    expect(r.stats.expired).toBe(1)
    expect(c.all[0]).toMatchObject({ ended: 'idle' })
    expect(r.size).toBe(1)
    // timestamps going backwards do not bring it back
    r.segment(seg(13, 'late', ACK, { sp: 7000 }), 5, 900, 0)
    expect(r.size).toBe(1)
  })

  it('the flow memory cap gives up on a hole rather than hold more', () => {
    const c = new Recorder()
    const r = new TcpReassembler(c, { flowMemoryCap: 1000 })
    r.segment(seg(0, '', SYN), 1, 1, 0)
    r.segment(seg(1, 'a'), 2, 1, 0)
    for (let i = 0; i < 5; i++) r.segment(seg(1000 + i * 300, Buffer.alloc(300, 0x62)), 3 + i, 1, 0)
    expect(r.stats.bytesHeld).toBeLessThanOrEqual(1000)
    expect(r.stats.gaps).toBe(1)
    r.flush()
    expect(Buffer.concat(c.all[0].bytes).length).toBe(1 + 5 * 300)
  })

  it('a segment far ahead (more than the flow cap) is loss, not reordering: skipped to at once', () => {
    const { c, fwd } = run([seg(0, '', SYN), seg(1, 'x'), seg(5_000_000, 'y')], { flowMemoryCap: 64 * 1024 })
    expect(fwd).toBe('xy')
    expect(c.all[0].gaps).toEqual([4_999_998])
  })

  it('the overall memory cap evicts the least recently active flows first, counted', () => {
    const c = new Recorder()
    const r = new TcpReassembler(c, { memoryCap: 10_000 })
    for (let i = 0; i < 50; i++) {
      r.segment(seg(1, 'a', ACK, { sp: 10_000 + i }), i * 2 + 1, 1, 0)
      r.segment(seg(500, Buffer.alloc(400), ACK, { sp: 10_000 + i }), i * 2 + 2, 1, 0) // held: 400 bytes
      expect(r.stats.bytesHeld).toBeLessThanOrEqual(10_000)
    }
    // 25 flows of 400 held bytes fit in 10 000
    expect(r.stats.evicted).toBe(25)
    expect(c.all.slice(0, 25).every((x) => x.ended === 'evicted')).toBe(true)
    // the oldest went first
    expect(c.all[0].key).toBe('10.0.0.1:10000')
  })

  it('100 000 half-open flows: the flow table stays at its cap, the oldest evicted and counted', () => {
    const c = new Recorder()
    const r = new TcpReassembler(c, { maxFlows: 10_000 })
    const big = new TcpReassembler(new Recorder()) // default cap: 65 536
    let maxSize = 0
    let maxBig = 0
    for (let i = 0; i < 100_000; i++) {
      const s = seg(7, '', SYN, {
        src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        sp: 1024 + (i % 60000),
      })
      r.segment(s, i + 1, 1000, i)
      big.segment(s, i + 1, 1000, i)
      if (r.size > maxSize) maxSize = r.size
      if (big.size > maxBig) maxBig = big.size
    }
    expect(maxSize).toBe(10_000)
    expect(r.stats.evicted).toBe(90_000)
    expect(r.stats.flowsOpened).toBe(100_000)
    expect(maxBig).toBe(65_536)
    expect(big.stats.evicted).toBe(100_000 - 65_536)
  })

  it('a flow that keeps sending survives eviction (least recently active goes, not oldest created)', () => {
    const c = new Recorder()
    const r = new TcpReassembler(c, { maxFlows: 3 })
    const keep = { sp: 1 }
    r.segment(seg(1, 'k', ACK, keep), 1, 1, 0)
    for (let i = 0; i < 10; i++) {
      r.segment(seg(2 + i, 'k', ACK, keep), 2 + i * 2, 1, 0)
      r.segment(seg(1, 'x', ACK, { sp: 100 + i }), 3 + i * 2, 1, 0)
    }
    r.flush()
    const kept = c.all.find((x) => x.key === '10.0.0.1:1')!
    expect(Buffer.concat(kept.bytes).toString()).toBe('k'.repeat(11))
    expect(kept.ended).toBe('end')
  })
})
