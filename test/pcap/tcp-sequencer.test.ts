// One direction's sequencing on its own (src/pcap/tcp/sequencer.ts): bytes in order at once, a
// segment ahead of a hole held and delivered when the hole fills, duplicates and overlaps trimmed,
// holes given up when far ahead or over the flow's cap, everything held counted.
import { describe, expect, it } from 'vitest'
import { TcpFlow, type TcpHalf } from '../../src/pcap/tcp/flow.js'
import { TcpSequencer } from '../../src/pcap/tcp/sequencer.js'
import { emptyTcpStats, type TcpConsumer, type TcpEndReason } from '../../src/pcap/tcp/types.js'

type Ev = ['data', string, number] | ['gap', number] | ['end', TcpEndReason]

class Log implements TcpConsumer<never> {
  events: Ev[] = []
  hold = 0
  data(_h: TcpHalf<never>, data: Buffer, frame: number): void {
    this.events.push(['data', data.toString(), frame])
  }
  gap(_h: TcpHalf<never>, bytes: number): void {
    this.events.push(['gap', bytes])
  }
  end(_h: TcpHalf<never>, reason: TcpEndReason): void {
    this.events.push(['end', reason])
  }
  buffered(): number {
    return this.hold
  }
}

function setup(flowMemoryCap = 1000) {
  const log = new Log()
  const stats = emptyTcpStats()
  const seq = new TcpSequencer<never>(log, stats, flowMemoryCap)
  const flow = new TcpFlow<never>('k', '10.0.0.1', 1, '10.0.0.2', 2, 4)
  const half = flow.a
  let frame = 0
  const put = (s: number, text: string) =>
    seq.data(half, s >>> 0, Buffer.from(text), ++frame, 0, 0, undefined)
  return { log, stats, seq, flow, half, put }
}

describe('TcpSequencer', () => {
  it('picks up mid-stream at the first segment, then delivers in order', () => {
    const { log, half, put } = setup()
    put(100, 'abc')
    put(103, 'de')
    expect(half.midStream).toBe(true)
    expect(half.next).toBe(105)
    expect(log.events).toEqual([
      ['data', 'abc', 1],
      ['data', 'de', 2],
    ])
  })

  it('holds a segment ahead of a hole, delivers it when the hole fills, stamped with the filling segment', () => {
    const { log, stats, flow, half, put } = setup()
    put(0, 'ab')
    put(4, 'ef')
    expect(stats.outOfOrder).toBe(1)
    expect([half.heldBytes, flow.bytes, stats.bytesHeld]).toEqual([2, 2, 2])
    put(2, 'cd')
    expect(log.events).toEqual([
      ['data', 'ab', 1],
      ['data', 'cd', 3],
      ['data', 'ef', 3],
    ])
    expect(half.held).toBeUndefined()
    expect([half.heldBytes, flow.bytes, stats.bytesHeld]).toEqual([0, 0, 0])
  })

  it('a held segment is a copy: the caller may reuse its buffer', () => {
    const { log, seq, half, put } = setup()
    put(0, 'a')
    const b = Buffer.from('cc')
    seq.data(half, 2, b, 9, 0, 0, undefined)
    b.fill('x')
    put(1, 'b')
    expect(log.events.map((e) => e[1])).toEqual(['a', 'b', 'cc'])
  })

  it('drops retransmissions and trims overlaps: the first copy of a byte wins', () => {
    const { log, stats, put } = setup()
    put(0, 'abcd')
    put(0, 'XXXX') // all delivered already
    put(2, 'XXef') // overlaps two delivered bytes
    expect(stats.retransmissions).toBe(1)
    expect(log.events.map((e) => e[1])).toEqual(['abcd', 'ef'])
  })

  it('held duplicates: the longer copy at a sequence number is kept, a shorter one dropped', () => {
    const { log, stats, half, put } = setup()
    put(0, 'a')
    put(3, 'd')
    put(3, 'def')
    put(3, 'de')
    expect(stats.retransmissions).toBe(1)
    expect(half.heldBytes).toBe(3)
    put(1, 'bc')
    expect(log.events.map((e) => e[1])).toEqual(['a', 'bc', 'def'])
  })

  it('a hole further ahead than the flow cap is given up at once: gap, then the bytes', () => {
    const { log, stats, half, put } = setup(10)
    put(0, 'a')
    put(50, 'z')
    expect(log.events).toEqual([
      ['data', 'a', 1],
      ['gap', 49],
      ['data', 'z', 2],
    ])
    expect([stats.gaps, stats.gapBytes, half.next]).toEqual([1, 49, 51])
  })

  it('no room left in the flow: what is held goes out first (its holes skipped), each with its own stamp', () => {
    const { log, stats, put } = setup(10)
    put(0, 'a')
    put(2, 'cccc') // held, frame 2
    put(8, 'iiiiiii') // 4 held + 7 > 10: give up the holes
    expect(log.events).toEqual([
      ['data', 'a', 1],
      ['gap', 1],
      ['data', 'cccc', 2],
      ['gap', 2],
      ['data', 'iiiiiii', 3],
    ])
    expect([stats.gaps, stats.gapBytes, stats.bytesHeld]).toEqual([2, 3, 0])
  })

  it('the consumer buffer counts against the flow; endHalf delivers what is held, ends once, releases it all', () => {
    const { log, stats, seq, flow, half, put } = setup()
    log.hold = 7
    put(0, 'a')
    expect([half.appBytes, flow.bytes, stats.bytesHeld]).toEqual([7, 7, 7])
    put(5, 'f')
    expect(stats.bytesHeld).toBe(8)
    seq.endHalf(half, 'fin')
    seq.endHalf(half, 'reset')
    expect(log.events).toEqual([
      ['data', 'a', 1],
      ['gap', 4],
      ['data', 'f', 2],
      ['end', 'fin'],
    ])
    expect(half.ended).toBe(true)
    expect([half.appBytes, flow.bytes, stats.bytesHeld]).toEqual([0, 0, 0])
  })

  it('sequence numbers wrap at 2^32', () => {
    const { log, put } = setup()
    put(0xfffffffe, 'ab')
    put(2, 'ef') // ahead of the wrap: held
    put(0, 'cd')
    expect(log.events.map((e) => e[1])).toEqual(['ab', 'cd', 'ef'])
  })
})
