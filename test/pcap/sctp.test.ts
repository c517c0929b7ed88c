// SCTP user messages: bundled DATA chunks, fragments (B/E) reassembled, retransmissions dropped.
import { describe, expect, it } from 'vitest'
import type { TransportResult } from '../../src/pcap/result.js'
import { SctpReassembler, type SctpMessage } from '../../src/pcap/sctp.js'

function data(
  tsn: number,
  payload: string,
  flags = 'BE',
  o: { sid?: number; ssn?: number; u?: boolean; ppid?: number } = {},
): Buffer {
  const p = Buffer.from(payload)
  const h = Buffer.alloc(16)
  h[0] = 0
  h[1] = (flags.includes('B') ? 2 : 0) | (flags.includes('E') ? 1 : 0) | (o.u ? 4 : 0)
  h.writeUInt16BE(16 + p.length, 2)
  h.writeUInt32BE(tsn >>> 0, 4)
  h.writeUInt16BE(o.sid ?? 0, 8)
  h.writeUInt16BE(o.ssn ?? 0, 10)
  h.writeUInt32BE(o.ppid ?? 0, 12)
  const c = Buffer.concat([h, p])
  return Buffer.concat([c, Buffer.alloc(-c.length & 3)])
}

const SACK = Buffer.from('0300001000000064' + '0000ffff' + '00000000', 'hex')

function pkt(chunks: Buffer[], dir = 0): TransportResult {
  return {
    kind: 'sctp',
    ipVersion: 4,
    src: dir ? '10.0.0.2' : '10.0.0.1',
    dst: dir ? '10.0.0.1' : '10.0.0.2',
    srcPort: dir ? 5060 : 5070,
    dstPort: dir ? 5070 : 5060,
    payload: Buffer.concat(chunks),
  }
}

function run(
  pkts: TransportResult[],
  r = new SctpReassembler(),
): { msgs: string[]; r: SctpReassembler; per: number[] } {
  const msgs: string[] = []
  const per: number[] = []
  for (const p of pkts) {
    const out: SctpMessage[] = []
    r.packet(p, out)
    per.push(out.length)
    msgs.push(...out.map((m) => m.payload.toString()))
  }
  return { msgs, r, per }
}

describe('SCTP DATA chunks', () => {
  it('several DATA chunks in one packet, other chunks between them', () => {
    const { msgs, per } = run([pkt([SACK, data(1, 'one'), data(2, 'two!'), SACK, data(3, 'three')])])
    expect(msgs).toEqual(['one', 'two!', 'three'])
    expect(per).toEqual([3])
  })

  it('a fragmented message, fragments in three packets and out of order', () => {
    const { msgs, per, r } = run([
      pkt([data(10, 'Hel', 'B')]),
      pkt([data(12, 'rld', 'E')]),
      pkt([data(11, 'lo wo', '')]),
    ])
    expect(msgs).toEqual(['Hello world'])
    expect(per).toEqual([0, 0, 1])
    expect(r.stats).toMatchObject({ reassembled: 1, bytesHeld: 0 })
  })

  it('fragments of two streams interleaved; unordered fragments; TSN wrap-around', () => {
    const { msgs } = run([
      pkt([data(0xfffffffe, 'A1', 'B', { sid: 1, ssn: 5 }), data(0xffffffff, 'B1', 'B', { sid: 2, ssn: 9 })]),
      pkt([data(0, 'A2', 'E', { sid: 1, ssn: 5 })]),
    ])
    // B1 (stream 2) cannot be followed by A2 (stream 1): A1 + A2 only works if consecutive TSNs match the stream
    expect(msgs).toEqual([])
    const ok = run([
      pkt([
        data(0xffffffff, 'x', 'B', { u: true }),
        data(0, 'y', '', { u: true }),
        data(1, 'z', 'E', { u: true }),
      ]),
    ])
    expect(ok.msgs).toEqual(['xyz'])
  })

  it('a retransmitted DATA chunk (same TSN, same direction) comes out once', () => {
    const { msgs, r } = run([
      pkt([data(7, 'INVITE')]),
      pkt([data(7, 'INVITE')]),
      pkt([data(7, 'other way')], 1),
    ])
    expect(msgs).toEqual(['INVITE', 'other way'])
    expect(r.stats.duplicates).toBe(1)
  })

  it('retransmissions among the last 4096 TSNs dropped, across the TSN wrap; out of order is not a retransmission', () => {
    const top = 0xffffffff - 1
    const { msgs, r } = run([
      pkt([data(top - 4000, 'old')]),
      pkt([data(top - 2, 'a')]),
      pkt([data(top, 'b')]), // top - 1 skipped for now
      pkt([data(top + 3, 'c')]), // past the wrap: TSN 1
      pkt([data(top - 1, 'late')]), // out of order, not seen: comes out
      pkt([data(top - 2, 'a')]), // retransmissions, before and after the wrap
      pkt([data(top + 3, 'c')]),
      pkt([data(top - 4000, 'old')]), // 4004 behind: still within the window
    ])
    expect(msgs).toEqual(['old', 'a', 'b', 'c', 'late'])
    expect(r.stats.duplicates).toBe(3)
    // 5000 TSNs later the first ones are forgotten (a retransmission that late is not one)
    const more = Array.from({ length: 5000 }, (_, i) => pkt([data(top + 4 + i, 'x')]))
    const again = run([...more, pkt([data(top - 2, 'a')])], r)
    expect(again.msgs.at(-1)).toBe('a')
  })

  it('memory per direction is small: 16,384 directions of a few messages hold under 16 MB', () => {
    const r = new SctpReassembler()
    const before = process.memoryUsage().arrayBuffers
    const out: SctpMessage[] = []
    for (let i = 0; i < 16_384; i++)
      for (let k = 0; k < 3; k++) {
        r.packet({ ...pkt([data(k, 'OPTIONS')]), srcPort: 1024 + i }, out)
        out.length = 0
      }
    // each direction kept a 32 KB array of recent TSNs from its first chunk: 512 MB
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 2 ** 20)
    expect(r.stats.dataChunks).toBe(3 * 16_384)
  })

  it('malformed chunk lengths stop the packet; incomplete fragments are counted at the end', () => {
    const bad = data(1, 'ok')
    bad.writeUInt16BE(200, 2)
    const { msgs, r } = run([pkt([bad]), pkt([data(2, 'part', 'B')])])
    expect(msgs).toEqual([])
    expect(r.stats.malformed).toBe(1)
    r.flush()
    expect(r.stats).toMatchObject({ fragmentsDropped: 1, bytesHeld: 0 })
  })

  it('the memory cap drops the oldest fragments first', () => {
    const r = new SctpReassembler({ memoryCap: 100 })
    const big = 'f'.repeat(60)
    run([pkt([data(1, big, 'B')]), pkt([data(50, big, 'B')], 1)], r)
    expect(r.stats.bytesHeld).toBeLessThanOrEqual(100)
    expect(r.stats.fragmentsDropped).toBe(1)
  })
})
