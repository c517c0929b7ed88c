// Properties of the stream layer, on random input (a seeded generator: the same cases every run):
// any split of a stream into segments, delivered in any order with duplicates and overlaps, gives its
// messages exactly once; random garbage never throws and leaves nothing held.
import { describe, expect, it } from 'vitest'
import type { CapturedMessage, ExtractStats } from '../../src/capture/extract.js'
import { CaptureStreams } from '../../src/capture/streams.js'
import type { TransportResult } from '../../src/pcap/result.js'
import { loadTcpSegments } from '../helpers/fixtures.js'
import { wsFrame } from '../sip/ws-build.js'
import { rng } from '../helpers/rng.js'

const stats = (): ExtractStats => ({ records: 0, sip: 0, hep: 0, skipped: {}, fragmentsReassembled: 0 })

function sipMessage(i: number, bodyLen: number, compact: boolean): string {
  const body = 'b'.repeat(bodyLen)
  const cl = compact ? 'l' : 'Content-Length'
  return (
    `MESSAGE sip:u${i}@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK${i}\r\n` +
    `Call-ID: fuzz-${i}\r\nCSeq: ${i} MESSAGE\r\n${cl}: ${bodyLen}\r\n\r\n${body}`
  )
}

function seg(seq: number, payload: Buffer, flags = 0x18): TransportResult {
  return {
    kind: 'tcp',
    ipVersion: 4,
    src: '10.0.0.1',
    dst: '10.0.0.2',
    srcPort: 5070,
    dstPort: 5060,
    payload,
    tcp: { seq: seq >>> 0, ack: 0, flags, window: 1 },
  }
}

/** Cuts `stream` into random segments, shuffles them locally, duplicates some, adds overlapping copies. */
function mangle(stream: Buffer, isn: number, r: () => number): TransportResult[] {
  const segs: TransportResult[] = []
  for (let off = 0; off < stream.length;) {
    const n = 1 + Math.floor(r() * (r() < 0.2 ? 3000 : 400))
    segs.push(seg(isn + 1 + off, stream.subarray(off, off + n)))
    off += n
  }
  const out: TransportResult[] = []
  for (let i = 0; i < segs.length; i++) {
    out.push(segs[i])
    if (r() < 0.1) out.push(segs[i]) // duplicate
    if (r() < 0.1 && i + 1 < segs.length) {
      // an overlapping copy of the end of this one and the start of the next
      const a = segs[i].payload
      const b = segs[i + 1].payload
      const from = Math.floor(r() * a.length)
      const both = Buffer.concat([a.subarray(from), b.subarray(0, Math.ceil(r() * b.length))])
      out.push(seg(segs[i].tcp!.seq + from, both))
    }
  }
  // local reordering: swap neighbours
  for (let i = 0; i + 1 < out.length; i++) {
    if (r() < 0.25) {
      const t = out[i]
      out[i] = out[i + 1]
      out[i + 1] = t
      i++
    }
  }
  return [seg(isn, Buffer.alloc(0), 0x02), ...out]
}

function feed(segs: TransportResult[]): { msgs: CapturedMessage[]; streams: CaptureStreams } {
  const streams = new CaptureStreams('both', stats())
  const msgs: CapturedMessage[] = []
  streams.out = msgs
  segs.forEach((s, i) => streams.tcpSegment(s, i + 1, 1_800_000_000, i))
  streams.flush()
  return { msgs, streams }
}

describe('stream properties', () => {
  it('SIP: any segmentation, order, duplication and overlap gives every message exactly once', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const r = rng(seed)
      const n = 1 + Math.floor(r() * 25)
      const parts: string[] = []
      for (let i = 0; i < n; i++) {
        if (r() < 0.2) parts.push('\r\n\r\n')
        parts.push(sipMessage(i, Math.floor(r() < 0.1 ? r() * 70000 : r() * 600), r() < 0.3))
      }
      const stream = Buffer.from(parts.join(''))
      const { msgs, streams } = feed(mangle(stream, Math.floor(r() * 2 ** 32), r))
      expect(msgs.map((m) => m.sip?.callId)).toEqual(Array.from({ length: n }, (_, i) => `fuzz-${i}`))
      expect(msgs.every((m) => m.payload.length === m.sip!.headerLength + m.sip!.contentLength!)).toBe(true)
      expect(streams.tcp.stats.bytesHeld).toBe(0)
    }
  })

  it('HEP3 and WebSocket streams too', () => {
    const hep = Buffer.concat(loadTcpSegments())
    const frames: Buffer[] = []
    for (let i = 0; i < 30; i++)
      frames.push(wsFrame(1, sipMessage(i, i * 37, false), { mask: [i, 7, 9, i & 3] }))
    const handshake = Buffer.from(
      'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    )
    const ws = Buffer.concat([handshake, ...frames])
    for (let seed = 100; seed < 130; seed++) {
      const r = rng(seed)
      expect(feed(mangle(hep, seed * 1000, r)).msgs.filter((m) => m.kind === 'hep')).toHaveLength(39)
      expect(feed(mangle(ws, seed * 1000, r)).msgs.map((m) => m.sip?.callId)).toEqual(
        Array.from({ length: 30 }, (_, i) => `fuzz-${i}`),
      )
    }
  })

  it('random bytes, random sequence numbers, flags and flows: no exception, nothing left held', () => {
    const r = rng(424242)
    const pieces = [
      Buffer.from(sipMessage(1, 10, false)),
      Buffer.from('HEP3'),
      loadTcpSegments()[0],
      wsFrame(1, sipMessage(2, 5, true), { mask: [1, 2, 3, 4] }),
      Buffer.from('GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n'),
      Buffer.from('HTTP/1.1 101 Switching\r\n\r\n'),
      Buffer.from('\r\n\r\n'),
    ]
    const streams = new CaptureStreams('both', stats(), {
      maxFlows: 8,
      flowMemoryCap: 20_000,
      memoryCap: 60_000,
    })
    streams.out = []
    for (let i = 0; i < 20_000; i++) {
      let payload: Buffer
      if (r() < 0.5) {
        const p = pieces[Math.floor(r() * pieces.length)]
        const a = Math.floor(r() * p.length)
        payload = p.subarray(a, a + Math.floor(r() * p.length))
      } else payload = Buffer.from(Array.from({ length: Math.floor(r() * 300) }, () => Math.floor(r() * 256)))
      const t = seg(Math.floor(r() * 4000), payload, Math.floor(r() * 64))
      t.srcPort = 1 + Math.floor(r() * 12)
      if (r() < 0.5) [t.src, t.dst, t.srcPort, t.dstPort] = [t.dst, t.src, t.dstPort, t.srcPort]
      streams.tcpSegment(t, i, 1_800_000_000 + Math.floor(i / 50), 0)
      expect(streams.tcp.stats.bytesHeld).toBeLessThanOrEqual(60_000)
      expect(streams.tcp.size).toBeLessThanOrEqual(8)
    }
    streams.flush()
    expect(streams.tcp.stats).toMatchObject({ flows: 0, bytesHeld: 0 })
  })
})
