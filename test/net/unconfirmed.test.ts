// The unconfirmed window of a stream connection on its own: what confirms a packet (bytes written
// after it, a probe answered), what never does (a write not complete), the order of what is taken back
// for resending, and that confirmed packets are not kept.
import { describe, expect, it } from 'vitest'
import { UnconfirmedWindow } from '../../src/net/unconfirmed.js'

const pkt = (n: number, fill = 0) => Buffer.alloc(n, fill)

/** a window and what it confirmed (lengths, in order) */
function win(confirmAfterBytes: number) {
  const w = new UnconfirmedWindow(confirmAfterBytes)
  const sent: number[] = []
  const confirm = () => w.confirm((n) => sent.push(n))
  return { w, sent, confirm }
}

describe('UnconfirmedWindow', () => {
  it('a packet is confirmed once confirmAfterBytes bytes were taken by the kernel after it', () => {
    const { w, sent, confirm } = win(100)
    for (const n of [10, 60, 40, 1]) w.push(pkt(n), 0)
    w.written()
    expect(confirm()).toBe(0) // 0 bytes after the first
    w.written()
    expect(confirm()).toBe(0) // 60 after the first
    w.written()
    expect(confirm()).toBe(1) // 100 after the first (exactly the bound), 40 after the second
    expect(sent).toEqual([10])
    w.written()
    expect(confirm()).toBe(0) // 41 after the second
    expect(w.size).toBe(3)
    w.push(pkt(59), 0)
    w.written()
    expect(confirm()).toBe(1) // 100 after the second
    expect(sent).toEqual([10, 60])
    expect(w.size).toBe(3)
  })

  it('a write not completed is never confirmed, by bytes or by a probe', () => {
    const { w, sent, confirm } = win(0)
    w.push(pkt(5), 0)
    w.push(pkt(7), 0)
    expect(w.pending).toBe(2)
    expect(w.pendingBytes).toBe(12)
    expect(confirm()).toBe(0)
    w.probed(w.writes)
    expect(confirm()).toBe(0)
    w.written()
    expect(w.pending).toBe(1)
    expect(w.pendingBytes).toBe(7)
    expect(confirm()).toBe(1)
    expect(sent).toEqual([5])
    expect(w.size).toBe(1)
  })

  it('a probe answered confirms the written packets sent before it, not those after', () => {
    const { w, sent, confirm } = win(1e9)
    for (let i = 1; i <= 4; i++) w.push(pkt(i), 0)
    const upTo = w.writes // a probe now covers 4 writes
    expect(upTo).toBe(4)
    w.push(pkt(5), 0)
    for (let i = 0; i < 3; i++) w.written()
    w.probed(upTo)
    expect(confirm()).toBe(3) // the fourth is still pending
    w.written()
    w.written()
    expect(confirm()).toBe(1) // the fourth; the fifth was written after the probe
    expect(sent).toEqual([1, 2, 3, 4])
    w.probed(2) // an older probe answered late changes nothing
    expect(confirm()).toBe(0)
    expect(w.size).toBe(1)
  })

  it('probes count writes of the connection across compaction', () => {
    const { w, confirm } = win(1e9)
    for (let i = 0; i < 3000; i++) w.push(pkt(1), 0)
    for (let i = 0; i < 3000; i++) w.written()
    w.probed(w.writes)
    expect(confirm()).toBe(3000)
    expect(w.stored).toBe(0)
    for (let i = 0; i < 10; i++) w.push(pkt(1), 0)
    for (let i = 0; i < 10; i++) w.written()
    w.probed(3005) // writes 3000..3004 of this connection
    expect(confirm()).toBe(5)
    expect(w.size).toBe(5)
  })

  it('take gives back what is not confirmed, written and pending, in write order, and starts over', () => {
    const { w, confirm } = win(3)
    for (let i = 1; i <= 5; i++) w.push(pkt(1, i), 10 * i)
    w.written()
    w.written()
    w.written()
    w.written()
    expect(confirm()).toBe(1)
    const back = w.take()
    expect(back.map((b) => b[0])).toEqual([2, 3, 4, 5])
    expect([w.size, w.pending, w.pendingBytes, w.writes, w.stored]).toEqual([0, 0, 0, 0, 0])
    expect(w.oldestPendingAt).toBeUndefined()
    // the next connection counts its own bytes and writes
    w.push(pkt(1), 0)
    w.written()
    expect(confirm()).toBe(0)
    w.probed(1)
    expect(confirm()).toBe(1)
  })

  it('oldestPendingAt: the time of the oldest write not completed', () => {
    const { w } = win(0)
    expect(w.oldestPendingAt).toBeUndefined()
    w.push(pkt(1), 100)
    w.push(pkt(1), 200)
    expect(w.oldestPendingAt).toBe(100)
    w.written()
    expect(w.oldestPendingAt).toBe(200)
    w.written()
    expect(w.oldestPendingAt).toBeUndefined()
  })

  it('bounded: confirmed packets are released, the arrays stay near the unconfirmed count', () => {
    const { w, sent, confirm } = win(1000)
    let maxStored = 0
    let maxSize = 0
    for (let i = 0; i < 100_000; i++) {
      w.push(pkt(100), 0)
      w.written()
      confirm()
      maxStored = Math.max(maxStored, w.stored)
      maxSize = Math.max(maxSize, w.size)
    }
    expect(maxSize).toBe(10) // the last 1000 bytes: each older packet has 1000 bytes after it
    expect(maxStored).toBeLessThan(2 * 1024 + 10)
    expect(sent.length + w.size).toBe(100_000)
    // what is taken back is only the unconfirmed tail
    expect(w.take()).toHaveLength(10)
  })
})
