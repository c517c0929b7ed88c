// SIP and HEP out of streams: TCP (reassembled; SIP by Content-Length, HEP3, SIP over WebSocket), SCTP,
// and tunnels, compared with tshark (the .sip.tsv oracles) and with Kamailio (HEP over TCP).
import { readdirSync } from 'node:fs'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import {
  CaptureExtractor,
  type CapturedMessage,
  type ExtractOptions,
  type ExtractStats,
} from '../../src/capture/extract.js'
import { CaptureStreams } from '../../src/capture/streams.js'
import type { TransportResult } from '../../src/pcap/result.js'
import { decode } from '../../src/hep/codec.js'
import { Hep3Framer } from '../../src/hep/framer.js'
import { PacketDecoder } from '../../src/pcap/decoder.js'
import { fixturePath, loadRecv, loadTcpSegments } from '../helpers/fixtures.js'
import { readCapture } from '../helpers/mini-pcap.js'
import { field, readTsv } from '../helpers/tsv.js'
import { eth, ipv4, tcp } from '../pcap/build.js'
import { wsFrame } from '../sip/ws-build.js'

async function extract(source: string | Buffer, opts: Partial<ExtractOptions> = {}) {
  const src = typeof source === 'string' ? source : Readable.from([source])
  const x = new CaptureExtractor(src, { want: 'sip', ...opts })
  const msgs: CapturedMessage[] = []
  for await (const b of x.batches()) msgs.push(...b)
  return { msgs, stats: x.stats }
}

/** a tshark row: one frame, its messages' values comma-separated (-E occurrence=a -E aggregator=,) */
interface Row {
  frame: number
  time: string
  src: string
  dst: string
  srcPort: number
  dstPort: number
  reassembled: string
  labels: string[]
  callIds: string[]
  cseqs: string[]
}

function tsv(path: string): Row[] {
  const last = (s: string) => s.split(',').pop() ?? ''
  return readTsv(path)
    .map((r) => {
      const g = (c: string) => field(r, c)
      const list = (c: string) => (g(c) === '' ? [] : g(c).split(','))
      return {
        frame: Number(g('frame.number')),
        time: g('frame.time_epoch'),
        // the innermost header: IPv6 when there is one (6in4 in these files, no 4in6)
        src: last(g('ipv6.src') || g('ip.src')),
        dst: last(g('ipv6.dst') || g('ip.dst')),
        srcPort: Number(last(g('tcp.srcport') || g('sctp.srcport') || g('udp.srcport'))),
        dstPort: Number(last(g('tcp.dstport') || g('sctp.dstport') || g('udp.dstport'))),
        reassembled: g('tcp.reassembled.length'),
        labels: [...list('sip.Method'), ...list('sip.Status-Code')].sort(),
        callIds: list('sip.Call-ID'),
        cseqs: list('sip.CSeq'),
      }
    })
    .filter((r) => r.cseqs.length > 0) // tshark also lists "Continuation" rows: bytes that are no message
}

/** our messages grouped per frame, in the shape of the tsv rows */
function rows(msgs: CapturedMessage[]): Row[] {
  const by = new Map<number, CapturedMessage[]>()
  for (const m of msgs) by.set(m.frame, [...(by.get(m.frame) ?? []), m])
  return [...by.entries()].map(([frame, ms]) => ({
    frame,
    time: `${ms[0].seconds}.${String(ms[0].nanos).padStart(9, '0')}`,
    src: ms[0].src,
    dst: ms[0].dst,
    srcPort: ms[0].srcPort,
    dstPort: ms[0].dstPort,
    reassembled: '',
    labels: ms.map((m) => String(m.sip?.method ?? m.sip?.statusCode)).sort(),
    callIds: ms.map((m) => m.sip?.callId ?? ''),
    cseqs: ms.map((m) => `${m.sip?.cseq?.seq} ${m.sip?.cseq?.method}`),
  }))
}

function compare(msgs: CapturedMessage[], want: Row[]) {
  const got = rows(msgs)
  expect(got.map((r) => r.frame)).toEqual(want.map((r) => r.frame))
  const strip = (r: Row) => ({ ...r, reassembled: '' })
  expect(got.map(strip)).toEqual(want.map(strip))
  // messages over several segments have the length tshark reassembled (for messages completed
  // together by a segment that filled a hole, tshark gives the length of all of them)
  for (const r of want) {
    if (r.reassembled === '') continue
    const ours = msgs.filter((m) => m.frame === r.frame).map((m) => m.payload.length)
    const total = ours.reduce((a, b) => a + b, 0)
    for (const l of r.reassembled.split(',').map(Number)) expect([...ours, total]).toContain(l)
  }
}

describe('SIP over TCP in the real captures matches tshark (with TCP reassembly)', () => {
  it.each(['sip-tcp.pcap', 'sip-tcp-ipv6.pcap', 'sip-tcp-segmented.pcap'])('%s', async (name) => {
    const { msgs, stats } = await extract(fixturePath('captures', name))
    compare(msgs, tsv(fixturePath('captures', `${name}.sip.tsv`)))
    expect(msgs.every((m) => m.transport === 'tcp' && m.kind === 'sip')).toBe(true)
    expect(stats.skipped).toEqual({})
    // content: a message in one segment is that segment's payload, byte for byte; the others are
    // the concatenation of their segments (6554 bytes for the segmented INVITEs)
    const dec = new PacketDecoder()
    const seg = new Map<number, Buffer>()
    for (const rec of readCapture(fixturePath('captures', name))) {
      const r = dec.decodeRecord(rec)
      if (r.kind === 'tcp') seg.set(rec.index, Buffer.from(r.payload))
    }
    for (const m of msgs) {
      const s = seg.get(m.frame)!
      if (m.payload.length <= s.length) expect(m.payload.equals(s)).toBe(true)
      else expect(m.payload.subarray(m.payload.length - s.length).equals(s)).toBe(true)
      expect(m.payload.length).toBe(m.sip!.headerLength + (m.sip!.contentLength ?? 0))
    }
  })
})

const STREAMS = readdirSync(fixturePath('streams')).filter((f) => f.endsWith('.pcap'))

describe('crafted captures (fixtures/streams) match tshark', () => {
  it('all of them are here', () => {
    expect(STREAMS.sort()).toEqual(
      [
        'sctp-sip.pcap',
        'tcp-64k.pcap',
        'tcp-midstream.pcap',
        'tcp-overlap.pcap',
        'tcp-reordered.pcap',
        'tcp-retransmitted.pcap',
        'tcp-two-in-one.pcap',
        'tunnel-6in4.pcap',
        'tunnel-erspan1.pcap',
        'tunnel-erspan2.pcap',
        'tunnel-erspan3.pcap',
        'tunnel-gre.pcap',
        'tunnel-gretap.pcap',
        'tunnel-ipip.pcap',
        'tunnel-vxlan-tcp.pcap',
        'tunnel-vxlan.pcap',
        'ws-sip.pcap',
      ].sort(),
    )
  })

  it.each(STREAMS)('%s', async (name) => {
    const { msgs } = await extract(fixturePath('streams', name))
    compare(msgs, tsv(fixturePath('streams', `${name}.sip.tsv`)))
  })

  it('exactly once: retransmitted, overlapping, reordered and merged segments give the same messages as the original', async () => {
    const key = (m: CapturedMessage) => m.payload.toString('hex')
    const orig = (await extract(fixturePath('captures', 'sip-tcp.pcap'))).msgs.map(key)
    for (const name of [
      'tcp-retransmitted.pcap',
      'tcp-overlap.pcap',
      'tcp-reordered.pcap',
      'tcp-two-in-one.pcap',
    ]) {
      const { msgs, stats } = await extract(fixturePath('streams', name))
      expect(msgs.map(key).sort()).toEqual([...orig].sort())
      if (name !== 'tcp-reordered.pcap' && name !== 'tcp-two-in-one.pcap')
        expect(stats.skipped['TCP retransmission']).toBeGreaterThan(0)
    }
  })

  it('the 64 KiB message over 50 segments is completed by the last one', async () => {
    const { msgs } = await extract(fixturePath('streams', 'tcp-64k.pcap'))
    expect(msgs[0].sip?.contentLength).toBe(65536)
    expect(msgs[0].payload.length).toBe(65536 + msgs[0].sip!.headerLength)
    expect(msgs[0].frame).toBe(57) // SYN, SYN-ACK, ACK, then 50 segments with an ACK after each tenth
  })

  it('a capture that starts in the middle of a message resynchronises at the next start line', async () => {
    const { msgs, stats } = await extract(fixturePath('streams', 'tcp-midstream.pcap'))
    expect(msgs[0].sip?.statusCode).toBe(180)
    expect(stats.skipped['bytes skipped to resynchronise a stream']).toBe(6554 - 1448)
  })

  it('WebSocket: masked, fragmented (text and binary), control frames skipped', async () => {
    const { msgs, stats } = await extract(fixturePath('streams', 'ws-sip.pcap'))
    expect(msgs.map((m) => m.sip?.method ?? m.sip?.statusCode)).toEqual([
      'REGISTER',
      401,
      'REGISTER',
      200,
      'MESSAGE',
    ])
    expect(stats.skipped['WebSocket control frame']).toBe(6)
    expect(msgs[4].payload.length).toBe(msgs[4].sip!.headerLength + 2310)
  })

  it('SCTP: two DATA chunks in one packet, a fragmented message, a retransmission dropped', async () => {
    const { msgs, stats } = await extract(fixturePath('streams', 'sctp-sip.pcap'))
    expect(msgs.map((m) => [m.frame, m.transport, m.sip?.method ?? m.sip?.statusCode])).toEqual([
      [1, 'sctp', 'INVITE'],
      [2, 'sctp', 180],
      [2, 'sctp', 200],
      [6, 'sctp', 'ACK'],
      [7, 'sctp', 'BYE'],
      [8, 'sctp', 200],
    ])
    expect(stats.skipped).toEqual({ 'SCTP retransmission': 1 })
  })
})

describe('HEP over TCP (Kamailio siptrace to a TCP receiver)', () => {
  it('hep-v3-tcp.pcap: 39 HEP3 packets, the framed bytes of the connection', async () => {
    const { msgs, stats } = await extract(fixturePath('captures', 'hep-v3-tcp.pcap'), { want: 'hep' })
    const framer = new Hep3Framer()
    const want = loadTcpSegments().flatMap((s) => framer.push(s))
    expect(want).toHaveLength(39)
    expect(msgs).toHaveLength(39)
    expect(msgs.map((m) => m.payload.toString('hex'))).toEqual(want.map((b) => b.toString('hex')))
    expect(msgs.every((m) => m.kind === 'hep' && m.transport === 'tcp' && m.dstPort === 9060)).toBe(true)
    expect(stats.hep).toBe(39)
    expect(stats.skipped).toEqual({})
    // what Kamailio's sipcapture decoded from the same connection
    const recv = loadRecv('hep-v3-tcp').heprecv
    expect(recv).toHaveLength(39)
    msgs.forEach((m, i) => {
      const p = decode(m.payload)
      const r = recv[i]
      expect([p.srcPort, p.dstPort, p.timeSeconds, p.timeUseconds, p.captureId]).toEqual([
        r.sport,
        r.dport,
        r.tsSec,
        r.tsUsec,
        r.capid,
      ])
      expect((p.payload as Buffer).length).toBe(r.payloadLen)
    })
  })

  it('the frame that completes a packet stamps it: two packets in frame 5', async () => {
    const { msgs } = await extract(fixturePath('captures', 'hep-v3-tcp.pcap'), { want: 'hep' })
    expect(msgs.slice(0, 4).map((m) => m.frame)).toEqual([3, 5, 5, 7])
  })

  it('with want sip, HEP streams are counted, not returned', async () => {
    const { msgs, stats } = await extract(fixturePath('captures', 'hep-v3-tcp.pcap'), { want: 'sip' })
    expect(msgs).toHaveLength(0)
    expect(stats.skipped['HEP (not SIP)']).toBe(39)
  })
})

// ------------------------------------------------------------------ crafted in the test

/** a classic pcap (µs, Ethernet) of the frames, one per millisecond */
function pcap(frames: Buffer[]): Buffer {
  const head = Buffer.alloc(24)
  head.writeUInt32LE(0xa1b2c3d4, 0)
  head.writeUInt16LE(2, 4)
  head.writeUInt16LE(4, 6)
  head.writeUInt32LE(262144, 16)
  head.writeUInt32LE(1, 20)
  const parts: Buffer[] = [head]
  frames.forEach((f, i) => {
    const h = Buffer.alloc(16)
    h.writeUInt32LE(1_800_000_000 + Math.floor(i / 1000), 0)
    h.writeUInt32LE((i % 1000) * 1000, 4)
    h.writeUInt32LE(f.length, 8)
    h.writeUInt32LE(f.length, 12)
    parts.push(h, f)
  })
  return Buffer.concat(parts)
}

const C = { src: '10.0.0.1', dst: '10.0.0.2' }
const S = { src: '10.0.0.2', dst: '10.0.0.1' }
function seg(seq: number, data: Buffer | string, flags = 0x18, dir = C, sp = 5070, dp = 5060): Buffer {
  return eth(0x0800, ipv4(tcp(sp, dp, data, { seq, flags }), { ...dir, protocol: 6 }))
}

const OPTIONS = (n: number) =>
  `OPTIONS sip:b@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK${n}\r\nCall-ID: opt${n}\r\nCSeq: ${n} OPTIONS\r\nContent-Length: 0\r\n\r\n`

describe('crafted streams through the whole pipeline', () => {
  it('a hole never filled: what follows it is delivered at the end, stamped with its own segment', async () => {
    const a = OPTIONS(1)
    const b = OPTIONS(2)
    const c = OPTIONS(3)
    const { msgs, stats } = await extract(
      pcap([seg(0, '', 0x02), seg(1, a), seg(1 + a.length + b.length, c)]),
    )
    expect(msgs.map((m) => [m.frame, m.sip?.callId])).toEqual([
      [2, 'opt1'],
      [3, 'opt3'],
    ])
    expect(stats.skipped['TCP hole (segments missing from the capture)']).toBe(1)
  })

  it('two messages in one segment, and CRLF keep-alives on TCP', async () => {
    const a = OPTIONS(1)
    const b = OPTIONS(2)
    const { msgs, stats } = await extract(
      pcap([seg(100, a + '\r\n\r\n' + b), seg(100 + a.length + 4 + b.length, '\r\n\r\n')]),
    )
    expect(msgs.map((m) => m.sip?.callId)).toEqual(['opt1', 'opt2'])
    expect(stats.skipped['keep-alive']).toBe(2)
  })

  it('a HEP stream picked up in the middle of a packet resynchronises at the next HEP3 magic', async () => {
    const packets = loadTcpSegments().slice(0, 4)
    const bytes = Buffer.concat(packets)
    const { msgs, stats } = await extract(pcap([seg(5000, bytes.subarray(100), 0x18, C, 40000, 9060)]), {
      want: 'hep',
    })
    const framer = new Hep3Framer()
    const all = framer.push(bytes)
    expect(msgs.map((m) => m.payload.toString('hex'))).toEqual(all.slice(1).map((b) => b.toString('hex')))
    expect(stats.skipped['bytes skipped to resynchronise a stream']).toBe(all[0].length - 100)
  })

  it('WebSocket picked up without its handshake (a data frame carrying SIP)', async () => {
    const f1 = wsFrame(1, OPTIONS(1), { mask: [1, 2, 3, 4] })
    const f2 = wsFrame(1, OPTIONS(2), { mask: [5, 6, 7, 8] })
    const { msgs } = await extract(pcap([seg(9, f1), seg(9 + f1.length, f2)]))
    expect(msgs.map((m) => m.sip?.callId)).toEqual(['opt1', 'opt2'])
  })

  it('a stream that is neither SIP, HEP nor WebSocket is left alone, counted per segment', async () => {
    const tls = Buffer.alloc(1000, 0x17)
    const segs = [seg(0, '', 0x02)]
    for (let i = 0; i < 20; i++) segs.push(seg(1 + i * 1000, tls))
    const { msgs, stats } = await extract(pcap(segs))
    expect(msgs).toHaveLength(0)
    // searched for 16 KiB (a fresh stream's first bytes should have been a start), then left alone
    expect(stats.skipped['TCP stream not SIP/HEP']).toBe(4)
    expect(stats.streams?.otherStreams).toBe(1)
  })

  it('SIP over TCP in IP-in-IP, both directions, FIN closes the flow', async () => {
    const inv = OPTIONS(7)
    const ok = 'SIP/2.0 200 OK\r\nCall-ID: opt7\r\nCSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n'
    const wrap = (f: Buffer) =>
      eth(0x0800, ipv4(f.subarray(14), { protocol: 4, src: '192.0.2.1', dst: '192.0.2.2' }))
    const { msgs, stats } = await extract(
      pcap([
        wrap(seg(10, inv)),
        wrap(seg(90, ok, 0x18, S, 5060, 5070)),
        wrap(seg(10 + inv.length, '', 0x11)),
        wrap(seg(90 + ok.length, '', 0x11, S, 5060, 5070)),
      ]),
    )
    expect(msgs.map((m) => [m.src, m.srcPort, m.sip?.statusCode ?? m.sip?.method])).toEqual([
      ['10.0.0.1', 5070, 'OPTIONS'],
      ['10.0.0.2', 5060, 200],
    ])
    expect(stats.streams?.tcp).toMatchObject({ closed: 1, flows: 0 })
  })

  it('an incomplete message at the end of the capture is counted', async () => {
    const { msgs, stats } = await extract(pcap([seg(1, OPTIONS(1).slice(0, 60))]))
    expect(msgs).toHaveLength(0)
    expect(stats.skipped['incomplete message (stream ended or hole)']).toBe(1)
  })
})

describe('memory stays bounded', () => {
  // 100 000 connections that each sent the first 120 bytes of an INVITE and nothing more
  function halfOpen(streams: CaptureStreams, n: number, check: () => void) {
    const partial = Buffer.from(OPTIONS(1).replace('OPTIONS', 'INVITE').slice(0, 120))
    for (let i = 0; i < n; i++) {
      const t: TransportResult = {
        kind: 'tcp',
        ipVersion: 4,
        src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        dst: '10.255.0.1',
        srcPort: 1024 + (i % 50000),
        dstPort: 5060,
        payload: partial,
        tcp: { seq: 1, ack: 0, flags: 0x18, window: 1000 },
      }
      streams.tcpSegment(t, i + 1, 1_800_000_000, i)
      if (i % 1000 === 0) check()
    }
  }
  const newStats = (): ExtractStats => ({ records: 0, sip: 0, hep: 0, skipped: {}, fragmentsReassembled: 0 })

  it('100 000 half-open flows: at most 65 536 flows held, the oldest evicted, their partial messages counted', () => {
    const streams = new CaptureStreams('sip', newStats())
    let maxFlows = 0
    halfOpen(streams, 100_000, () => (maxFlows = Math.max(maxFlows, streams.tcp.size)))
    expect(maxFlows).toBeLessThanOrEqual(65_536)
    expect(streams.tcp.size).toBe(65_536)
    expect(streams.tcp.stats.bytesHeld).toBe(65_536 * 120)
    expect(streams.tcp.stats.evicted).toBe(100_000 - 65_536)
    expect(streams.counts.incomplete).toBe(100_000 - 65_536)
    streams.flush()
    expect(streams.counts.incomplete).toBe(100_000)
    expect(streams.tcp.stats).toMatchObject({ flows: 0, bytesHeld: 0 })
  })

  it('with a 1 MiB overall cap, the bytes held never pass it', () => {
    const streams = new CaptureStreams('sip', newStats(), { memoryCap: 1024 * 1024 })
    let maxBytes = 0
    halfOpen(streams, 100_000, () => (maxBytes = Math.max(maxBytes, streams.tcp.stats.bytesHeld)))
    expect(maxBytes).toBeLessThanOrEqual(1024 * 1024)
    expect(streams.tcp.size).toBe(Math.floor((1024 * 1024) / 120))
    expect(streams.tcp.stats.evicted).toBe(100_000 - streams.tcp.size)
  })
})
