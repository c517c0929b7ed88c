/**
 * Several SIP messages completed by one captured packet (a TCP segment holding two) are stamped 1 µs
 * apart in order, as heplify does since 2.0.23 (heplify#342), so Homer's ladder keeps their order.
 * fixtures/streams/tcp-two-in-one.pcap: frame 7 holds 180 + 200, frame 9 holds ACK + BYE.
 */
import { describe, expect, it } from 'vitest'
import { CaptureItems } from '../../src/capture/items.js'
import { fixture } from '../helpers/cli.js'

describe('messages completed by one packet', () => {
  it('are 1 µs apart, in order; the first keeps the packet time', async () => {
    const c = new CaptureItems(fixture('streams/tcp-two-in-one.pcap'), 'x', { mode: 'sip' })
    const got: [number, number, number, string][] = []
    for await (const b of c.batches())
      for (const it of b) {
        const p = it.packet!
        got.push([it.capture!.frame, p.timeSeconds!, p.timeUseconds!, it.sip!.startLine.slice(0, 11)])
        // its origin: the input and the frame that completed it
        expect(it.origin).toEqual({ source: 'x', frame: it.capture!.frame })
        expect(it.where).toBe(`x frame ${it.capture!.frame}`)
      }
    const frame7 = got.filter((g) => g[0] === 7)
    const frame9 = got.filter((g) => g[0] === 9)
    // the packet times as tshark shows them (fixtures/streams/tcp-two-in-one.pcap.sip.tsv)
    expect(frame7).toEqual([
      [7, 1795437526, 697648, 'SIP/2.0 180'],
      [7, 1795437526, 697649, 'SIP/2.0 200'],
    ])
    expect(frame9).toEqual([
      [9, 1795437526, 704259, 'ACK sip:ser'],
      [9, 1795437526, 704260, 'BYE sip:ser'],
    ])
    // a message alone in its packet keeps that packet's time
    expect(got.find((g) => g[0] === 11)?.slice(1, 3)).toEqual([1795437526, 704285])
  })
})
