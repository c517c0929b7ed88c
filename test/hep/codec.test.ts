/**
 * Hand-made packets of every kind through checkCodec, with the expected bytes built from the wire
 * layout (./spec-bytes.ts), not from our encoder.
 */
import { describe, expect, it } from 'vitest'
import {
  CHUNK_DEFS,
  decode,
  encode,
  encodingLength,
  fromJson,
  fromJsonLine,
  hep1,
  hep2,
  hep3,
  HepError,
  toJson,
  type ChunkKind,
  type HepPacket,
} from '../../src/index.js'
import { checkCodec, normalise } from '../helpers/check-codec.js'
import { loadHepJs, loadHexVectors } from '../helpers/fixtures.js'
import { chunk, hep3 as hep3Hex, ip4, le32, text, u16, u32, u8, v1Header, v2Time } from './spec-bytes.js'

const SIP = 'OPTIONS sip:probe@192.0.2.2:5060 SIP/2.0\r\nCall-ID: abc@192.0.2.1\r\nContent-Length: 0\r\n\r\n'
const sip = (): Buffer => Buffer.from(SIP)

function hepError(fn: () => unknown): HepError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(HepError)
    return e as HepError
  }
  throw new Error('expected a HepError, nothing was thrown')
}

// ------------------------------------------------------------------ the chunk table against the spec

/** HEP.md "Generic chunks (vendor 0x0000), spec rev37": id -> type; octets = text or bytes */
const SPEC_TYPES: Record<number, 'u8' | 'u16' | 'u32' | 'u64' | 'inet4' | 'inet6' | 'octets'> = {
  0x01: 'u8',
  0x02: 'u8',
  0x03: 'inet4',
  0x04: 'inet4',
  0x05: 'inet6',
  0x06: 'inet6',
  0x07: 'u16',
  0x08: 'u16',
  0x09: 'u32',
  0x0a: 'u32',
  0x0b: 'u8',
  0x0c: 'u32',
  0x0d: 'u16',
  0x0e: 'octets',
  0x0f: 'octets',
  0x10: 'octets',
  0x11: 'octets',
  0x12: 'u16',
  0x13: 'octets',
  0x14: 'u64',
  0x15: 'u64',
  0x16: 'u16',
  0x17: 'u8',
  0x18: 'u8',
  0x20: 'u16',
  0x21: 'u16',
  0x22: 'octets',
  0x23: 'u32',
  0x24: 'octets',
  0x25: 'octets',
  0x26: 'octets',
  0x27: 'u16',
  0x28: 'u16',
  0x29: 'octets',
}

/** a sample value of each kind and its wire bytes */
function sample(kind: ChunkKind, field: string): [unknown, string] {
  switch (kind) {
    case 'u8':
      return [0xa7, 'a7']
    case 'u16':
      return [0xbeef, 'beef']
    case 'u32':
      return [0xdeadbeef, 'deadbeef']
    case 'u64':
      return ['00:00:02:42:ac:11:00:02', '00000242ac110002']
    case 'inet4':
      return ['192.0.2.33', 'c0000221']
    case 'inet6':
      return ['2001:db8::a:1', '20010db8000000000000000000' + '0a0001']
    case 'text': {
      const s = `x-${field} ü€😀`
      return [s, text(s)]
    }
    case 'bytes':
      return [Buffer.from([0, 1, 2, 0xff, 0x80]), '000102ff80']
  }
}

describe('the chunk table (CHUNK_DEFS) follows the spec', () => {
  it('has exactly the generic ids of spec rev37, with their types', () => {
    expect(CHUNK_DEFS.map((d) => d.id).sort((a, b) => a - b)).toEqual(
      Object.keys(SPEC_TYPES)
        .map(Number)
        .sort((a, b) => a - b),
    )
    for (const d of CHUNK_DEFS) {
      const t = SPEC_TYPES[d.id]
      if (t === 'octets') expect(['text', 'bytes'], d.label).toContain(d.kind)
      else expect(d.kind, d.label).toBe(t)
    }
    // payloads are bytes (RTCP and others are binary), never text
    expect(CHUNK_DEFS.find((d) => d.id === 0x0f)!.kind).toBe('bytes')
    expect(CHUNK_DEFS.find((d) => d.id === 0x10)!.kind).toBe('bytes')
  })

  it.each(CHUNK_DEFS.map((d) => [d.id.toString(16).padStart(4, '0'), d]))(
    'chunk 0x%s alone round-trips with its spec bytes',
    (_id, d) => {
      const [value, valueHex] = sample(d.kind, d.field)
      const p = { version: 3, [d.field]: value, chunks: [d.id] } as HepPacket
      checkCodec(hep3, p, hep3Hex(chunk(0, d.id, valueHex)))
    },
  )
})

// ------------------------------------------------------------------ HEP v3

const ALL_V4: HepPacket = {
  version: 3,
  protocolFamily: 2,
  protocol: 17,
  srcIp: '192.0.2.1',
  dstIp: '192.0.2.2',
  srcPort: 5060,
  dstPort: 5080,
  timeSeconds: 1795437599,
  timeUseconds: 584087,
  payloadType: 1,
  captureId: 2001,
  keepAliveTimer: 30,
  authKey: 'secret',
  payload: sip(),
  compressedPayload: Buffer.from([0x1f, 0x8b, 0x08, 0x00]),
  correlationId: 'abc@192.0.2.1',
  vlanId: 100,
  nodeName: 'node-1',
  srcMac: '00:00:02:42:ac:11:00:02',
  dstMac: '00:00:02:42:ac:11:00:03',
  ethernetType: 0x0800,
  tcpFlags: 0x18,
  ipTos: 0xb8,
  mos: 437,
  rFactor: 93,
  geoLocation: '48.85,2.35',
  jitter: 12345,
  transactionType: 'call',
  payloadJsonKeys: 'a,b',
  tagValues: 't=1',
  tagType: 2,
  eventType: 1,
  groupId: 'group-7',
}

/** ALL_V4's chunks in the order given, as bytes */
function allV4Chunks(): Record<number, string> {
  return {
    0x01: chunk(0, 0x01, u8(2)),
    0x02: chunk(0, 0x02, u8(17)),
    0x03: chunk(0, 0x03, ip4('192.0.2.1')),
    0x04: chunk(0, 0x04, ip4('192.0.2.2')),
    0x07: chunk(0, 0x07, u16(5060)),
    0x08: chunk(0, 0x08, u16(5080)),
    0x09: chunk(0, 0x09, u32(1795437599)),
    0x0a: chunk(0, 0x0a, u32(584087)),
    0x0b: chunk(0, 0x0b, u8(1)),
    0x0c: chunk(0, 0x0c, u32(2001)),
    0x0d: chunk(0, 0x0d, u16(30)),
    0x0e: chunk(0, 0x0e, text('secret')),
    0x0f: chunk(0, 0x0f, text(SIP)),
    0x10: chunk(0, 0x10, '1f8b0800'),
    0x11: chunk(0, 0x11, text('abc@192.0.2.1')),
    0x12: chunk(0, 0x12, u16(100)),
    0x13: chunk(0, 0x13, text('node-1')),
    0x14: chunk(0, 0x14, '00000242ac110002'),
    0x15: chunk(0, 0x15, '00000242ac110003'),
    0x16: chunk(0, 0x16, '0800'),
    0x17: chunk(0, 0x17, '18'),
    0x18: chunk(0, 0x18, 'b8'),
    0x20: chunk(0, 0x20, u16(437)),
    0x21: chunk(0, 0x21, u16(93)),
    0x22: chunk(0, 0x22, text('48.85,2.35')),
    0x23: chunk(0, 0x23, u32(12345)),
    0x24: chunk(0, 0x24, text('call')),
    0x25: chunk(0, 0x25, text('a,b')),
    0x26: chunk(0, 0x26, text('t=1')),
    0x27: chunk(0, 0x27, u16(2)),
    0x28: chunk(0, 0x28, u16(1)),
    0x29: chunk(0, 0x29, text('group-7')),
  }
}

describe('HEP v3', () => {
  it('a packet with every field, in a given wire order (reversed ids)', () => {
    const c = allV4Chunks()
    const order = Object.keys(c)
      .map(Number)
      .sort((a, b) => b - a)
    checkCodec(hep3, { ...ALL_V4, chunks: order }, hep3Hex(...order.map((id) => c[id])))
  })

  it('without a chunk list: Kamailio order first (1,2,3,4,7..12), every field once, payload after the rest', () => {
    const ids = decode(encode(ALL_V4)).chunks as number[]
    const { bytes } = checkCodec(hep3, ALL_V4, undefined, { decoded: { ...ALL_V4, chunks: ids } })
    expect(ids.slice(0, 10)).toEqual([1, 2, 3, 4, 7, 8, 9, 10, 11, 12])
    expect([...ids].sort((a, b) => a - b)).toEqual(Object.keys(allV4Chunks()).map(Number))
    const payloadAt = ids.indexOf(0x0f)
    expect(ids.filter((id, i) => i > payloadAt && id !== 0x10)).toEqual([])
    // the bytes are the chunks in that order
    const c = allV4Chunks()
    expect(bytes.toString('hex')).toBe(hep3Hex(...ids.map((id) => c[id])))
  })

  it('IPv6 addresses go in chunks 5/6 (and IPv4-mapped ones too)', () => {
    const p: HepPacket = {
      version: 3,
      protocolFamily: 10,
      protocol: 6,
      srcIp: '2001:db8::1',
      dstIp: '::ffff:192.0.2.1',
      srcPort: 5060,
      dstPort: 5061,
      payload: sip(),
      chunks: [1, 2, 5, 6, 7, 8, 15],
    }
    checkCodec(
      hep3,
      p,
      hep3Hex(
        chunk(0, 1, '0a'),
        chunk(0, 2, '06'),
        chunk(0, 5, '20010db8000000000000000000000001'),
        chunk(0, 6, '00000000000000000000ffffc0000201'),
        chunk(0, 7, u16(5060)),
        chunk(0, 8, u16(5061)),
        chunk(0, 15, text(SIP)),
      ),
    )
    // without a chunk list the address chunks follow the address text
    const { bytes } = checkCodec(
      hep3,
      { version: 3, srcIp: 'fe80::1', dstIp: '::1' },
      hep3Hex(
        chunk(0, 5, 'fe800000000000000000000000000001'),
        chunk(0, 6, '00000000000000000000000000000001'),
      ),
      { decoded: { version: 3, srcIp: 'fe80::1', dstIp: '::1', chunks: [5, 6] } },
    )
    expect(bytes.length).toBe(6 + 2 * 22)
  })

  it('IPv6 text is canonical (RFC 5952) after decode', () => {
    const { decoded } = checkCodec(
      hep3,
      { version: 3, srcIp: '2001:DB8:0:0:0:0:0:1', dstIp: '[2001:db8:0:1:0:0:0:1]', chunks: [5, 6] },
      hep3Hex(
        chunk(0, 5, '20010db8000000000000000000000001'),
        chunk(0, 6, '20010db8000000010000000000000001'),
      ),
      { decoded: { version: 3, srcIp: '2001:db8::1', dstIp: '2001:db8:0:1::1', chunks: [5, 6] } },
    )
    expect(decoded.srcIp).toBe('2001:db8::1')
  })

  it('MACs: 6-byte input is zero-padded in front to the 8-byte field; any separator', () => {
    for (const mac of ['aa:bb:cc:dd:ee:ff', 'AA-BB-CC-DD-EE-FF', 'aabbccddeeff', '00:00:aa:bb:cc:dd:ee:ff']) {
      checkCodec(
        hep3,
        { version: 3, srcMac: mac, chunks: [0x14] },
        hep3Hex(chunk(0, 0x14, '0000aabbccddeeff')),
        {
          decoded: { version: 3, srcMac: '00:00:aa:bb:cc:dd:ee:ff', chunks: [0x14] },
        },
      )
    }
  })

  it('vendor chunks and unknown generic ids are kept, in order, byte for byte', () => {
    const p: HepPacket = {
      version: 3,
      protocolFamily: 2,
      srcPort: 5060,
      payload: sip(),
      chunks: [
        { vendor: 0x0002, type: 0x0020, value: Buffer.from('kamailio-ext') },
        1,
        { vendor: 0x0000, type: 0x0019, value: Buffer.from([1, 2, 3]) }, // reserved generic id
        7,
        { vendor: 0x0000, type: 0x1234, value: Buffer.from([]) }, // unknown generic id, empty
        // another vendor's chunk with a generic type number: no width check, kept raw
        { vendor: 0x0003, type: 0x0007, value: Buffer.from([0xaa, 0xbb, 0xcc]) },
        15,
        { vendor: 0xffff, type: 0xffff, value: Buffer.from([0xff]) },
      ],
    }
    checkCodec(
      hep3,
      p,
      hep3Hex(
        chunk(2, 0x20, text('kamailio-ext')),
        chunk(0, 1, '02'),
        chunk(0, 0x19, '010203'),
        chunk(0, 7, u16(5060)),
        chunk(0, 0x1234, ''),
        chunk(3, 7, 'aabbcc'),
        chunk(0, 15, text(SIP)),
        chunk(0xffff, 0xffff, 'ff'),
      ),
    )
  })

  it('a repeated chunk: the first gives the field, the others are kept raw in place', () => {
    const bytes = hep3Hex(
      chunk(0, 7, u16(5060)),
      chunk(0, 15, text('first')),
      chunk(0, 7, u16(5061)),
      chunk(0, 15, text('second')),
    )
    checkCodec(
      hep3,
      {
        version: 3,
        srcPort: 5060,
        payload: Buffer.from('first'),
        chunks: [
          7,
          15,
          { vendor: 0, type: 7, value: Buffer.from('13c5', 'hex') },
          { vendor: 0, type: 15, value: Buffer.from('second') },
        ],
      },
      bytes,
    )
  })

  it('a text chunk that is not UTF-8 is kept raw (no lossy string), and its JSON form too', () => {
    const bytes = hep3Hex(chunk(0, 0x0e, 'fffe41'), chunk(0, 0x11, 'c328'), chunk(0, 0x13, text('ok')))
    const { decoded } = checkCodec(
      hep3,
      {
        version: 3,
        nodeName: 'ok',
        chunks: [
          { vendor: 0, type: 0x0e, value: Buffer.from('fffe41', 'hex') },
          { vendor: 0, type: 0x11, value: Buffer.from('c328', 'hex') },
          0x13,
        ],
      },
      bytes,
    )
    expect(decoded.authKey).toBeUndefined()
    expect(decoded.correlationId).toBeUndefined()
    const j = JSON.parse(JSON.stringify(toJson(decoded))) as Record<string, unknown>
    expect(j.chunks).toEqual([
      { vendor: 0, type: 14, hex: 'fffe41' },
      { vendor: 0, type: 17, hex: 'c328' },
      19,
    ])
    expect(encode(fromJson(j)).toString('hex')).toBe(bytes)
  })

  it('multi-byte UTF-8 text: chunk length counts bytes, not characters', () => {
    const s = 'ü€😀' // 2 + 3 + 4 bytes
    const { bytes } = checkCodec(
      hep3,
      { version: 3, correlationId: s, chunks: [0x11] },
      hep3Hex(chunk(0, 0x11, text(s))),
    )
    expect(bytes.readUInt16BE(6 + 4)).toBe(6 + 9)
  })

  it('a binary (non-UTF-8) payload is kept as bytes', () => {
    const rtcp = Buffer.from('80c8000600000001e4a5f0c0000000000000000000000000', 'hex')
    checkCodec(
      hep3,
      { version: 3, payloadType: 5, payload: rtcp, chunks: [11, 15] },
      hep3Hex(chunk(0, 11, '05'), chunk(0, 15, rtcp.toString('hex'))),
    )
  })

  it('an empty packet (header only) and empty text/payload values', () => {
    checkCodec(hep3, { version: 3, chunks: [] }, '484550330006')
    checkCodec(
      hep3,
      { version: 3, authKey: '', payload: Buffer.alloc(0), chunks: [14, 15] },
      hep3Hex(chunk(0, 14, ''), chunk(0, 15, '')),
    )
  })

  it('the largest packet (65535 bytes) encodes; one byte more is HEP_TOO_LONG', () => {
    const max = 65535 - 6 - 6
    const { bytes } = checkCodec(hep3, { version: 3, payload: Buffer.alloc(max, 0x41), chunks: [15] })
    expect(bytes.length).toBe(65535)
    expect(bytes.readUInt16BE(4)).toBe(65535)
    const big: HepPacket = { version: 3, srcPort: 5060, payload: Buffer.alloc(max, 0x41) }
    expect(hepError(() => encode(big)).code).toBe('HEP_TOO_LONG')
    expect(hepError(() => encodingLength(big)).code).toBe('HEP_TOO_LONG')
    expect(hepError(() => hep3.encode({ version: 3, payload: Buffer.alloc(70000) })).code).toBe(
      'HEP_TOO_LONG',
    )
  })

  it('encode rejects what it cannot write, with HEP_ENCODE', () => {
    expect(hepError(() => encode({ version: 3, srcPort: 70000 })).code).toBe('HEP_ENCODE')
    expect(hepError(() => encode({ version: 3, srcIp: '300.1.1.1' })).code).toBe('HEP_ENCODE')
    expect(hepError(() => encode({ version: 3, srcMac: 'zz' })).code).toBe('HEP_ENCODE')
    expect(hepError(() => encode({ version: 3, chunks: [0x1f] })).code).toBe('HEP_ENCODE')
    expect(hepError(() => encode({ version: 4 } as unknown as HepPacket)).code).toBe('HEP_ENCODE')
    const small = Buffer.alloc(20)
    expect(hepError(() => encode({ version: 3, payload: sip() }, small, 0)).code).toBe('HEP_ENCODE')
  })
})

// ------------------------------------------------------------------ HEP v1 / v2

const V4 = { srcHex: ip4('192.0.2.1'), dstHex: ip4('198.51.100.2') }
const V6 = { srcHex: '20010db8000000000000000000000001', dstHex: 'fe800000000000000000000012345678' }

const v1v4: HepPacket = {
  version: 1,
  protocolFamily: 2,
  protocol: 17,
  srcIp: '192.0.2.1',
  dstIp: '198.51.100.2',
  srcPort: 5060,
  dstPort: 5080,
  payloadType: 1,
  payload: sip(),
}
const v1v6: HepPacket = {
  ...v1v4,
  protocolFamily: 10,
  protocol: 6,
  srcIp: '2001:db8::1',
  dstIp: 'fe80::1234:5678',
}
const TIME = { timeSeconds: 1795437593, timeUseconds: 947978, captureId: 2001 }

describe('HEP v1', () => {
  it('IPv4: 16-byte header', () => {
    checkCodec(hep1, v1v4, v1Header(1, { family: 2, proto: 17, sport: 5060, dport: 5080, ...V4 }) + text(SIP))
  })

  it('IPv6: 40-byte header', () => {
    checkCodec(hep1, v1v6, v1Header(1, { family: 10, proto: 6, sport: 5060, dport: 5080, ...V6 }) + text(SIP))
  })

  it('the family follows the addresses when protocolFamily is absent; payload type is always SIP', () => {
    const { protocolFamily: _f, payloadType: _t, ...bare } = v1v6
    checkCodec(
      hep1,
      bare,
      v1Header(1, { family: 10, proto: 6, sport: 5060, dport: 5080, ...V6 }) + text(SIP),
      {
        decoded: v1v6,
      },
    )
  })

  it('v1 has no time header: time and capture id are not written', () => {
    const { bytes } = checkCodec(hep1, { ...v1v4, ...TIME }, undefined, { decoded: v1v4 })
    expect(bytes.length).toBe(16 + SIP.length)
  })
})

describe('HEP v2', () => {
  it('IPv4: 16-byte header + 12-byte little-endian time header', () => {
    checkCodec(
      hep2,
      { ...v1v4, version: 2, ...TIME },
      v1Header(2, { family: 2, proto: 17, sport: 5060, dport: 5080, ...V4 }) +
        v2Time(1795437593, 947978, 2001) +
        text(SIP),
    )
  })

  it('IPv6: 40 + 12 bytes', () => {
    checkCodec(
      hep2,
      { ...v1v6, version: 2, ...TIME },
      v1Header(2, { family: 10, proto: 6, sport: 5060, dport: 5080, ...V6 }) +
        v2Time(1795437593, 947978, 2001) +
        text(SIP),
    )
  })

  it("sngrep's wrong header-length byte and non-zero padding are kept", () => {
    checkCodec(
      hep2,
      { ...v1v4, version: 2, ...TIME, hdrLen: 2, v2Padding: 0x4a57 },
      v1Header(2, { hdrLen: 2, family: 2, proto: 17, sport: 5060, dport: 5080, ...V4 }) +
        v2Time(1795437593, 947978, 2001, 0x4a57) +
        text(SIP),
    )
  })

  it('big-endian time header on request (heplify-server style), both ways', () => {
    const p: HepPacket = { ...v1v4, version: 2, ...TIME }
    const want =
      v1Header(2, { family: 2, proto: 17, sport: 5060, dport: 5080, ...V4 }) +
      v2Time(1795437593, 947978, 2001, 0, 'be') +
      text(SIP)
    const be = encode(p, undefined, 0, { timeByteOrder: 'be' })
    expect(be.toString('hex')).toBe(want)
    expect(normalise(decode(be, 0, be.length, { timeByteOrder: 'be' }))).toEqual(normalise(p))
    const into = Buffer.alloc(be.length + 10)
    hep2.encode(p, into, 10, { timeByteOrder: 'be' })
    expect(into.subarray(10).toString('hex')).toBe(want)
    expect(normalise(hep2.decode(into, 10, into.length, { timeByteOrder: 'be' }))).toEqual(normalise(p))
  })

  it('reading a little-endian packet as big-endian gives the heplify-server "2044" time', () => {
    const t = 1795437708 // 2026-11-23, low byte 0x8c
    const le = encode({ ...v1v4, version: 2, timeSeconds: t, timeUseconds: 5, captureId: 2001 })
    expect(new Date(decode(le).timeSeconds! * 1000).getUTCFullYear()).toBe(2026)
    const wrong = decode(le, 0, le.length, { timeByteOrder: 'be' })
    expect(wrong.timeSeconds).toBe(parseInt(le32(t), 16)) // the bytes read the other way round
    expect(new Date(wrong.timeSeconds! * 1000).getUTCFullYear()).toBe(2044)
    expect(wrong.timeUseconds).toBe(0x05000000)
    expect(wrong.captureId).toBe(0xd107)
  })

  it('a real Kamailio v2 packet read big-endian: the time is wrong, the rest is the same', () => {
    const b = loadHexVectors('hep-v2')[0]
    const le = decode(b)
    const be = decode(b, 0, b.length, { timeByteOrder: 'be' })
    expect(be.timeSeconds).toBe(b.readUInt32BE(16))
    expect(be.timeSeconds).not.toBe(le.timeSeconds)
    expect({ ...be, timeSeconds: 0, timeUseconds: 0, captureId: 0 }).toEqual({
      ...le,
      timeSeconds: 0,
      timeUseconds: 0,
      captureId: 0,
    })
  })

  it('a capture id over 65535 does not fit v2: HEP_ENCODE', () => {
    const p: HepPacket = { ...v1v4, version: 2, ...TIME, captureId: 65536 }
    const e = hepError(() => encode(p))
    expect(e.code).toBe('HEP_ENCODE')
    expect(e.message).toMatch(/captureId/)
    expect(hepError(() => hep2.encode(p)).code).toBe('HEP_ENCODE')
    // 65535 fits
    checkCodec(hep2, { ...p, captureId: 65535 })
  })

  it('encode rejects missing or wrong-family addresses with HEP_ENCODE', () => {
    const { srcIp: _s, ...noSrc } = v1v4
    expect(hepError(() => encode(noSrc)).code).toBe('HEP_ENCODE')
    expect(hepError(() => encode({ ...v1v4, protocolFamily: 10 })).code).toBe('HEP_ENCODE')
    expect(hepError(() => encode({ ...v1v4, dstIp: 'not-an-ip' })).code).toBe('HEP_ENCODE')
    expect(hepError(() => encode({ ...v1v4, version: 2, timeSeconds: -1 })).code).toBe('HEP_ENCODE')
  })

  it('the hep1/hep2/hep3 trios set the version they stand for', () => {
    const b1 = hep1.encode({ ...v1v4, version: 3 } as HepPacket)
    expect(b1[0]).toBe(1)
    const b3 = hep3.encode({ ...v1v4, version: 1, chunks: undefined })
    expect(b3.subarray(0, 4).toString('latin1')).toBe('HEP3')
    expect(hep3.encodingLength(v1v4)).toBe(b3.length)
  })
})

// ------------------------------------------------------------------ the JSON form as input

describe('JSON form as input', () => {
  it('hand-written JSON with only the common fields encodes (HEP3 by default)', () => {
    const j = { srcIp: '10.0.0.1', srcPort: 5060, dstIp: '10.0.0.2', dstPort: 5060, payload: 'OPTIONS ...' }
    const p = fromJson(j)
    const bytes = encode(p)
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('HEP3')
    const back = decode(bytes)
    expect(back).toMatchObject({
      version: 3,
      srcIp: '10.0.0.1',
      srcPort: 5060,
      dstIp: '10.0.0.2',
      dstPort: 5060,
    })
    expect(back.payload!.toString()).toBe('OPTIONS ...')
    // nothing invented that the input did not say
    expect(back.timeSeconds).toBeUndefined()
    expect(back.captureId).toBeUndefined()
    checkCodec(hep3, p, undefined, { decoded: { ...p, chunks: back.chunks } })
  })

  it('the same hand-written JSON as v1 and v2', () => {
    const j = { srcIp: '10.0.0.1', srcPort: 5060, dstIp: '10.0.0.2', dstPort: 5060, payload: 'OPTIONS ...' }
    const b1 = encode(fromJson({ ...j, version: 1 }))
    expect(b1.toString('hex')).toBe(
      v1Header(1, {
        family: 2,
        proto: 17,
        sport: 5060,
        dport: 5060,
        srcHex: ip4('10.0.0.1'),
        dstHex: ip4('10.0.0.2'),
      }) + text('OPTIONS ...'),
    )
    const b2 = encode(fromJson({ ...j, version: 2, captureId: 7, timeSeconds: 1, timeUseconds: 2 }))
    expect(b2.subarray(16, 28).toString('hex')).toBe(v2Time(1, 2, 7))
  })

  it('hep-js-shaped {rcinfo, payload} input encodes, with its key names mapped', () => {
    const rcinfo = {
      protocolFamily: 2,
      protocol: 17,
      srcIp: '127.0.0.1',
      dstIp: '127.0.0.2',
      srcPort: 5070,
      dstPort: 5060,
      timeSeconds: 1700000000,
      timeUseconds: 123456,
      payloadType: 1,
      captureId: 2001,
      capturePass: 'myHep',
      correlation_id: 'corr-1',
      hepNodeName: 'node-a',
    }
    const p = decode(encode(fromJson({ rcinfo, payload: SIP })))
    expect(p).toMatchObject({
      version: 3,
      protocolFamily: 2,
      protocol: 17,
      srcIp: '127.0.0.1',
      dstIp: '127.0.0.2',
      srcPort: 5070,
      dstPort: 5060,
      timeSeconds: 1700000000,
      timeUseconds: 123456,
      payloadType: 1,
      captureId: 2001,
      authKey: 'myHep',
      correlationId: 'corr-1',
      nodeName: 'node-a',
    })
    expect(p.payload!.toString()).toBe(SIP)
  })

  it('every rcinfo hep-js decoded from the real captures is accepted as input', () => {
    for (const line of loadHepJs('hep-v3-extras')) {
      const p = decode(encode(fromJson({ rcinfo: line.rcinfo, payload: 'x' })))
      expect(p.captureId).toBe(line.rcinfo.captureId)
      expect(p.authKey).toBe(line.rcinfo.capturePass)
      expect(p.correlationId).toBe(line.rcinfo.correlation_id)
      expect(p.timeUseconds).toBe(line.rcinfo.timeUseconds)
    }
  })

  it('payloadEncoding base64 (and hex) for binary payloads; toJson picks base64 for non-UTF-8', () => {
    const bin = Buffer.from([0x80, 0xc8, 0x00, 0x06, 0xff, 0xfe, 0x00, 0x01])
    const fromB64 = fromJson({ payload: bin.toString('base64'), payloadEncoding: 'base64' })
    expect(fromB64.payload!.toString('hex')).toBe(bin.toString('hex'))
    const fromHex = fromJson({ payload: bin.toString('hex'), payloadEncoding: 'hex' })
    expect(fromHex.payload!.toString('hex')).toBe(bin.toString('hex'))
    const j = toJson({ version: 3, payload: bin })
    expect(j.payloadEncoding).toBe('base64')
    expect(j.payload).toBe(bin.toString('base64'))
    expect(fromJson(JSON.parse(JSON.stringify(j))).payload!.toString('hex')).toBe(bin.toString('hex'))
    // a UTF-8 payload stays text
    expect(toJson({ version: 3, payload: Buffer.from('ü') }).payloadEncoding).toBeUndefined()
  })

  it('`time` (ISO 8601) is used when timeSeconds is absent, and ignored when it is present', () => {
    const p = fromJson({ srcIp: '10.0.0.1', dstIp: '10.0.0.2', time: '2026-11-23T12:39:59.584087Z' })
    expect(p.timeSeconds).toBe(Date.UTC(2026, 10, 23, 12, 39, 59) / 1000)
    expect(p.timeUseconds).toBe(584087)
    const off = fromJson({ time: '2026-11-23T13:39:59.5+01:00' })
    expect(off.timeSeconds).toBe(Date.UTC(2026, 10, 23, 12, 39, 59) / 1000)
    expect(off.timeUseconds).toBe(500000)
    expect(fromJson({ time: '2026-11-23T12:39:59.123456789Z' }).timeUseconds).toBe(123456)
    const both = fromJson({ time: '2026-11-23T12:39:59.584087Z', timeSeconds: 5, timeUseconds: 6 })
    expect([both.timeSeconds, both.timeUseconds]).toEqual([5, 6])
    // toJson's time is the same instant
    expect(toJson({ version: 3, timeSeconds: 1795437599, timeUseconds: 584087 }).time).toBe(
      '2026-11-23T12:39:59.584087Z',
    )
  })

  it('edits made in the JSON form take effect: capture id changed, correlation id added, port removed', () => {
    const original = loadHexVectors('hep-v3')[0]
    const j = toJson(decode(original)) as Record<string, unknown>
    expect(j.chunks).toEqual([1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 15])

    // capture id: only the 4 value bytes of chunk 0x000c change
    const edited = encode(fromJsonLine(JSON.stringify({ ...j, captureId: 0x01020304 })))
    expect(edited.length).toBe(original.length)
    const at = original.indexOf(Buffer.from(chunk(0, 0x0c, u32(2001)), 'hex'))
    expect(at).toBeGreaterThan(0)
    expect(edited.subarray(at, at + 10).toString('hex')).toBe(chunk(0, 0x0c, '01020304'))
    expect(Buffer.concat([edited.subarray(0, at), edited.subarray(at + 10)]).toString('hex')).toBe(
      Buffer.concat([original.subarray(0, at), original.subarray(at + 10)]).toString('hex'),
    )

    // a field absent from the chunk list is still written
    const withCorr = decode(encode(fromJson({ ...j, correlationId: 'added-corr' })))
    expect(withCorr.correlationId).toBe('added-corr')
    expect((withCorr.chunks as number[]).filter((c) => c !== 0x11)).toEqual(j.chunks)
    expect(encode(withCorr).length).toBe(original.length + 6 + 'added-corr'.length)

    // a field removed from the JSON is not written, although its id is still listed
    const { srcPort: _p, ...noPort } = j
    const without = decode(encode(fromJson(noPort)))
    expect(without.srcPort).toBeUndefined()
    expect(without.chunks).not.toContain(7)
    expect(encode(without).length).toBe(original.length - 8)
  })

  it('a raw chunk given as hex, base64 or text in the JSON chunk list', () => {
    const p = fromJson({
      chunks: [
        { vendor: 2, type: 0x20, hex: '0102' },
        { vendor: 2, type: 0x21, base64: Buffer.from('b64').toString('base64') },
        { vendor: 2, type: 0x22, text: 'txt' },
      ],
    })
    expect(encode(p).toString('hex')).toBe(
      hep3Hex(chunk(2, 0x20, '0102'), chunk(2, 0x21, text('b64')), chunk(2, 0x22, text('txt'))),
    )
  })
})
