/**
 * Every HEP packet of every real capture (fixtures/hep/*.hex, sent by Kamailio, sngrep and hep-js)
 * decodes to what the real receivers decoded: Kamailio sipcapture (HEPRECV lines, stored ROWs), hep-js
 * (.hepjs.jsonl) and tshark + hep.lua (.fields.tsv); it re-encodes byte for byte, and so does its JSON form.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  decode,
  decodeDatagram,
  encode,
  encodingLength,
  fromJson,
  fromJsonLine,
  Hep3Framer,
  hep1,
  hep2,
  hep3,
  toJson,
  type HepCodec,
  type HepPacket,
} from '../../src/index.js'
import { checkCodec } from '../helpers/check-codec.js'
import { readTsv, type TsvRow } from '../helpers/tsv.js'
import {
  fixturePath,
  HEP_UDP_CAPTURES,
  loadHepJs,
  loadHexVectors,
  loadRecv,
  loadTcpSegments,
  type HepJsLine,
  type HepRecv,
  type RecvFile,
  type RecvRow,
} from '../helpers/fixtures.js'

const CODECS: Record<number, HepCodec> = { 1: hep1, 2: hep2, 3: hep3 }

const versionOf = (name: string): number => Number(/^hep-v(\d)/.exec(name)![1])

function firstLine(payload: Buffer): string {
  const s = payload.toString('utf8')
  const i = s.indexOf('\r\n')
  return i < 0 ? s : s.slice(0, i)
}

/** Call-ID (or compact "i:") header of a SIP message */
function callIdOf(payload: Buffer): string {
  const m = /^(?:Call-ID|i)[ \t]*:[ \t]*(.*?)[ \t]*$/im.exec(payload.toString('utf8'))
  return m ? m[1] : ''
}

/** what Kamailio puts in method / reply_reason for a SIP start line */
function methodAndReason(line1: string): [string, string] {
  const reply = /^SIP\/2\.0 (\d{3}) (.*)$/.exec(line1)
  if (reply) return [reply[1], reply[2]]
  return [line1.split(' ')[0], '']
}

const hostPort = (ip: string | undefined, port: number | undefined): string => `${ip}:${port}`
const microTs = (p: HepPacket): number => p.timeSeconds! * 1e6 + p.timeUseconds!

/** ISO time with microseconds, from seconds + µs as a receiver printed them */
function isoFrom(sec: number, usec: number): string {
  return new Date(sec * 1000).toISOString().slice(0, 19) + '.' + String(usec).padStart(6, '0') + 'Z'
}

/** Pops the one expected item for `key`; fails when there is none left. */
function take<T>(index: Map<string, T[]>, key: string, what: string): T {
  const list = index.get(key)
  expect(list?.length ?? 0, `${what} for ${key}`).toBeGreaterThan(0)
  return list!.shift()!
}

function indexBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>()
  for (const it of items) {
    const k = key(it)
    const l = m.get(k)
    if (l) l.push(it)
    else m.set(k, [it])
  }
  return m
}

const recvKey = (h: HepRecv): string => `${h.tsSec}.${h.tsUsec}|${h.sport}|${h.dport}|${h.payloadLen}`
const packetRecvKey = (p: HepPacket): string =>
  `${p.timeSeconds}.${p.timeUseconds}|${p.srcPort}|${p.dstPort}|${p.payload!.length}`

/** HEPRECV v=3: the raw chunk values sipcapture's $hep(0x...) read */
function expectMatchesHepRecv(p: HepPacket, h: HepRecv): void {
  expect(p.version).toBe(h.version)
  expect(p.protocolFamily).toBe(h.family)
  expect(p.protocol).toBe(h.ipproto)
  if (h.family === 2) {
    expect(p.srcIp).toBe(h.src4)
    expect(p.dstIp).toBe(h.dst4)
    expect(h.src6).toBeUndefined()
  } else {
    expect(p.srcIp).toBe(h.src6)
    expect(p.dstIp).toBe(h.dst6)
    expect(h.src4).toBeUndefined()
  }
  expect(p.srcPort).toBe(h.sport)
  expect(p.dstPort).toBe(h.dport)
  expect(p.timeSeconds).toBe(h.tsSec)
  expect(p.timeUseconds).toBe(h.tsUsec)
  expect(p.payloadType).toBe(h.ptype)
  expect(p.captureId).toBe(h.capid)
  expect(p.authKey ?? '').toBe(h.authkey)
  expect(p.correlationId ?? '').toBe(h.corr)
  expect(p.payload!.length).toBe(h.payloadLen)
  expect(firstLine(p.payload!)).toBe(h.line1)
}

/** a stored sip_capture row */
function expectMatchesRow(p: HepPacket, row: RecvRow, version: number): void {
  const [method, reason] = methodAndReason(firstLine(p.payload!))
  expect(row.method).toBe(method)
  expect(row.replyReason).toBe(reason)
  expect(row.src).toBe(hostPort(p.srcIp, p.srcPort))
  expect(row.dst).toBe(hostPort(p.dstIp, p.dstPort))
  expect(row.proto).toBe(p.protocol === 6 ? 2 : p.protocol === 17 ? 1 : -1)
  expect(row.family).toBe(p.protocolFamily)
  expect(row.node).toBe(version === 1 ? 'peers-recv-9060' : `peers-recv-9060:${p.captureId}`)
  expect(row.callid).toBe(callIdOf(p.payload!))
  expect(row.correlationId).toBe(p.correlationId ?? callIdOf(p.payload!))
  expect(row.msgLen).toBe(p.payload!.length)
  if (version !== 1) expect(row.microTs).toBe(microTs(p))
}

/** Packets against everything the Kamailio receiver printed and stored. */
function expectMatchesReceiver(
  name: string,
  packets: HepPacket[],
  recv: RecvFile,
  datagramLengths?: number[],
): void {
  const version = versionOf(name)
  expect(packets.length).toBe(recv.heprecv.length)
  expect(packets.length).toBe(Number(recv.summary.hep_packets))
  expect(recv.summary.errors).toBe('0')
  expect(recv.rows.length + recv.nonsip.length).toBe(packets.length)
  for (const h of recv.heprecv) expect(h.version).toBe(version)

  if (version === 3) {
    const byKey = indexBy(recv.heprecv, recvKey)
    for (const p of packets) expectMatchesHepRecv(p, take(byKey, packetRecvKey(p), 'HEPRECV line'))
  } else {
    // v1/v2: Kamailio printed the datagram length only
    const sorted = (a: number[]): number[] => [...a].sort((x, y) => x - y)
    expect(sorted(datagramLengths!)).toEqual(sorted(recv.heprecv.map((h) => h.len!)))
  }

  // stored rows; Kamailio stores concurrently, so rows are matched by key, not by index.
  // v1 has no timestamp (rows carry the arrival time): match on what the packet itself says.
  const rowKey = (src: string, dst: string, len: number, extra: string): string =>
    `${src}|${dst}|${len}|${extra}`
  const rows = indexBy(recv.rows, (r) =>
    rowKey(r.src, r.dst, r.msgLen, version === 1 ? `${r.method}|${r.callid}` : String(r.microTs)),
  )
  const nonsip = indexBy(recv.nonsip, (r) => String(r.microTs))
  for (const p of packets) {
    if (p.payloadType === 100) {
      const r = take(nonsip, String(microTs(p)), 'logs row')
      expect(r.table).toBe('logs')
      expect(r.correlationId).toBe(p.correlationId)
      expect(`${r.srcIp}:${r.srcPort}`).toBe(hostPort(p.srcIp, p.srcPort))
      expect(`${r.dstIp}:${r.dstPort}`).toBe(hostPort(p.dstIp, p.dstPort))
      expect(r.node).toBe(`peers-recv-9060:${p.captureId}`)
      expect(r.msg).toBe(p.payload!.toString('utf8'))
      continue
    }
    const src = hostPort(p.srcIp, p.srcPort)
    const dst = hostPort(p.dstIp, p.dstPort)
    const extra =
      version === 1
        ? `${methodAndReason(firstLine(p.payload!))[0]}|${callIdOf(p.payload!)}`
        : String(microTs(p))
    expectMatchesRow(p, take(rows, rowKey(src, dst, p.payload!.length, extra), 'stored row'), version)
  }
  for (const [k, left] of [...rows, ...nonsip]) expect(left, `rows never matched: ${k}`).toEqual([])
}

/** hep-js decapsulate() of the same packet (IPv4 addresses only: hep-js ignores chunks 5/6) */
function expectMatchesHepJs(p: HepPacket, js: HepJsLine): void {
  expect(js.ok).toBe(true)
  const r = js.rcinfo
  expect(p.protocolFamily).toBe(r.protocolFamily)
  expect(p.protocol).toBe(r.protocol)
  if (p.protocolFamily === 2) {
    expect(p.srcIp).toBe(r.srcIp)
    expect(p.dstIp).toBe(r.dstIp)
  } else {
    expect(r.srcIp).toBeUndefined()
    expect(r.dstIp).toBeUndefined()
  }
  expect(p.srcPort).toBe(r.srcPort)
  expect(p.dstPort).toBe(r.dstPort)
  expect(p.timeSeconds).toBe(r.timeSeconds)
  expect(p.timeUseconds).toBe(r.timeUseconds)
  expect(p.payloadType).toBe(r.payloadType)
  expect(p.captureId).toBe(r.captureId)
  expect(p.authKey).toBe(r.capturePass)
  expect(p.correlationId).toBe(r.correlation_id)
  expect(p.nodeName).toBe(r.hepNodeName)
  expect(p.payload!.length).toBe(js.payload_len)
  expect(createHash('sha1').update(p.payload!).digest('hex')).toBe(js.payload_sha1)
  expect(firstLine(p.payload!)).toBe(js.first_line)
}

/** tshark + peers/tools/hep.lua, one row per frame, in capture order */
function loadFieldsTsv(name: string): TsvRow[] {
  return readTsv(fixturePath('captures', `${name}.fields.tsv`))
}

function expectMatchesTshark(p: HepPacket, t: TsvRow): void {
  const opt = (n: number | undefined): string => (n === undefined ? '' : String(n))
  expect(opt(p.version)).toBe(t['hep.version'])
  expect(opt(p.protocolFamily)).toBe(t['hep.ip_family'])
  expect(opt(p.protocol)).toBe(t['hep.ip_proto'])
  expect(p.srcIp).toBe(p.protocolFamily === 2 ? t['hep.src_ip4'] : t['hep.src_ip6'])
  expect(p.dstIp).toBe(p.protocolFamily === 2 ? t['hep.dst_ip4'] : t['hep.dst_ip6'])
  expect(opt(p.srcPort)).toBe(t['hep.src_port'])
  expect(opt(p.dstPort)).toBe(t['hep.dst_port'])
  expect(opt(p.timeSeconds)).toBe(t['hep.ts_sec'])
  expect(opt(p.timeUseconds)).toBe(t['hep.ts_usec'])
  // hep.lua shows proto_type only for v3 (v1/v2 carry none on the wire)
  expect(p.version === 3 ? opt(p.payloadType) : '').toBe(t['hep.proto_type'])
  expect(opt(p.captureId)).toBe(t['hep.capture_id'])
  expect(p.authKey ?? '').toBe(t['hep.auth_key'])
  expect(p.correlationId ?? '').toBe(t['hep.correlation_id'])
  expect(String(p.payload!.length)).toBe(t['hep.payload_len'])
}

/** The chunk order each real sender uses (peers/README §3). */
const SENDER_ORDER: Record<string, (p: HepPacket) => number[]> = {
  kamailio: (p) => [
    1,
    2,
    ...(p.protocolFamily === 10 ? [5, 6] : [3, 4]),
    // hlog() (payload type 100) writes the destination port first
    ...(p.payloadType === 100 ? [8, 7] : [7, 8]),
    9,
    10,
    11,
    12,
    ...(p.correlationId !== undefined ? [17] : []),
    ...(p.authKey !== undefined ? [14] : []),
    15,
  ],
  sngrep: () => [1, 2, 7, 8, 9, 10, 11, 12, 3, 4, 15],
  // hep-js: ..., 12, 0x13 node name, [0x0e auth key], 0x0f payload
  hepjs: (p) => [1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 19, ...(p.authKey !== undefined ? [14] : []), 15],
}
const senderOf = (name: string): string =>
  name.endsWith('sngrep') ? 'sngrep' : name.endsWith('hepjs') ? 'hepjs' : 'kamailio'

describe.each(HEP_UDP_CAPTURES.map((n) => [n]))('%s (UDP)', (name) => {
  const version = versionOf(name)
  const vectors = loadHexVectors(name)
  const packets = vectors.map((b) => decodeDatagram(b))

  it('every vector decodes as its HEP version', () => {
    expect(vectors.length).toBeGreaterThan(0)
    for (const p of packets) expect(p.version).toBe(version)
  })

  it('decodes to what Kamailio sipcapture received and stored', () => {
    expectMatchesReceiver(
      name,
      packets,
      loadRecv(name),
      vectors.map((b) => b.length),
    )
  })

  it('decodes to what tshark + hep.lua shows, packet by packet', () => {
    const rows = loadFieldsTsv(name)
    expect(rows.length).toBe(packets.length)
    packets.forEach((p, i) => expectMatchesTshark(p, rows[i]))
  })

  if (version !== 3) {
    it('v1/v2: fixed header, payload from the header length on, payload type SIP', () => {
      vectors.forEach((b, i) => {
        const p = packets[i]
        const family = b[2]
        expect(p.protocolFamily).toBe(family)
        const header = (family === 2 ? 16 : 40) + (version === 2 ? 12 : 0)
        expect(p.payload!.toString('hex')).toBe(b.subarray(header).toString('hex'))
        expect(p.payloadType).toBe(1)
        if (version === 1) {
          // no time header and no capture id in v1
          expect(p.timeSeconds).toBeUndefined()
          expect(p.timeUseconds).toBeUndefined()
          expect(p.captureId).toBeUndefined()
        }
      })
    })
  }

  if (name === 'hep-v2-sngrep') {
    it('sngrep v2: its wrong header-length byte and non-zero padding are kept', () => {
      vectors.forEach((b, i) => {
        // sngrep writes 1 or 2 here instead of 16; Kamailio ignores it, so must we (and keep it)
        expect(b[1]).toBeLessThan(16)
        expect(packets[i].hdrLen).toBe(b[1])
        const pad = b.readUInt16LE(16 + 10)
        expect(pad).not.toBe(0)
        expect(packets[i].v2Padding).toBe(pad)
      })
    })
  }

  if (version === 3) {
    it(`keeps the wire chunk order of the sender (${senderOf(name)})`, () => {
      for (const p of packets) expect(p.chunks).toEqual(SENDER_ORDER[senderOf(name)](p))
    })

    it('decodes to what hep-js decoded', () => {
      const js = loadHepJs(name)
      expect(js.length).toBe(packets.length)
      packets.forEach((p, i) => expectMatchesHepJs(p, js[i]))
    })
  }

  it('re-encodes byte for byte (checkCodec with the golden bytes)', () => {
    vectors.forEach((b, i) => {
      const hex = b.toString('hex')
      expect(encodingLength(packets[i])).toBe(b.length)
      expect(encode(packets[i]).toString('hex')).toBe(hex)
      checkCodec(CODECS[version], packets[i], hex)
    })
  })

  it('decode() at an offset of a bigger buffer gives the same packet', () => {
    vectors.forEach((b, i) => {
      const big = Buffer.concat([Buffer.from('garbage!'), b])
      const p = decode(big, 8)
      expect(decode.bytes).toBe(b.length)
      expect(encode(p).toString('hex')).toBe(b.toString('hex'))
      expect(p.srcPort).toBe(packets[i].srcPort)
    })
  })

  it('JSON form round trip (toJson -> JSON text -> fromJson -> encode) is byte for byte', () => {
    vectors.forEach((b, i) => {
      const p = packets[i]
      const line = JSON.stringify(toJson(p))
      expect(encode(fromJson(JSON.parse(line))).toString('hex')).toBe(b.toString('hex'))
      expect(encode(fromJsonLine(line)).toString('hex')).toBe(b.toString('hex'))
      const j = JSON.parse(line) as Record<string, unknown>
      expect(j.version).toBe(version)
      // SIP payloads are text in the JSON form
      expect(j.payload).toBe(p.payload!.toString('utf8'))
      expect(j.payloadEncoding).toBeUndefined()
      if (version === 1) expect(j.time).toBeUndefined()
      else expect(j.time).toBe(isoFrom(p.timeSeconds!, p.timeUseconds!))
    })
  })
})

describe('hep-v3-tcp: one Kamailio HEP3-over-TCP connection', () => {
  const segments = loadTcpSegments()
  const framer = new Hep3Framer()
  const frames = segments.flatMap((s) => framer.push(s))
  const packets = frames.map((f) => decodeDatagram(f))
  const recv = loadRecv('hep-v3-tcp')

  it('the framer yields 39 packets and nothing is left over', () => {
    expect(frames.length).toBe(39)
    expect(framer.buffered).toBe(0)
    expect(framer.skipped).toBe(0)
    expect(frames.reduce((n, f) => n + f.length, 0)).toBe(segments.reduce((n, s) => n + s.length, 0))
  })

  it('packets come out in stream order, as the receiver printed them', () => {
    expect(recv.heprecv.length).toBe(39)
    packets.forEach((p, i) => {
      expect(recv.heprecv[i].from.endsWith('/tcp')).toBe(true)
      expectMatchesHepRecv(p, recv.heprecv[i])
    })
  })

  it('decodes to what Kamailio stored', () => {
    expectMatchesReceiver('hep-v3-tcp', packets, recv)
  })

  it('decodes to what hep-js decoded from the same stream', () => {
    const js = loadHepJs('hep-v3-tcp')
    expect(js.length).toBe(39)
    packets.forEach((p, i) => {
      expect(js[i].transport).toBe('tcp')
      expectMatchesHepJs(p, js[i])
    })
  })

  it('re-encodes byte for byte, frame by frame and as a whole stream', () => {
    frames.forEach((f, i) => checkCodec(hep3, packets[i], f.toString('hex')))
    expect(Buffer.concat(packets.map((p) => encode(p))).toString('hex')).toBe(
      Buffer.concat(segments).toString('hex'),
    )
  })

  it('JSON form round trip is byte for byte', () => {
    frames.forEach((f, i) => {
      expect(encode(fromJsonLine(JSON.stringify(toJson(packets[i])))).toString('hex')).toBe(f.toString('hex'))
    })
  })
})
