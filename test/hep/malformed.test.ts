/**
 * A table of malformed inputs: every error code the HEP decoder, the HEP3 framer and the JSON reader
 * raise, each with the byte offset and the field it must name. Errors are DecodeError (or HepError for
 * JSON), never a bare Error.
 */
import { describe, expect, it } from 'vitest'
import {
  CHUNK_DEFS,
  DecodeError,
  decode,
  decodeDatagram,
  frameLength,
  fromJson,
  fromJsonLine,
  Hep3Framer,
  hep1,
  hep2,
  hep3,
  HepError,
  type HepErrorCode,
} from '../../src/index.js'
import { loadHexVectors } from '../helpers/fixtures.js'
import { chunk, hep3 as hep3Hex, ip4, text, u16, v1Header, v2Time } from './spec-bytes.js'

const H = (hex: string): Buffer => Buffer.from(hex, 'hex')
const A = (s: string): Buffer => Buffer.from(s, 'latin1')

const V4 = {
  family: 2 as const,
  proto: 17,
  sport: 5060,
  dport: 5080,
  srcHex: ip4('10.0.0.1'),
  dstHex: ip4('10.0.0.2'),
}
const V6 = {
  family: 10 as const,
  proto: 17,
  sport: 5060,
  dport: 5080,
  srcHex: '00'.repeat(15) + '01',
  dstHex: '00'.repeat(16),
}
const GOOD_V3 = loadHexVectors('hep-v3')[0]

interface Row {
  name: string
  run: () => unknown
  code: HepErrorCode
  /** byte offset a DecodeError must name; undefined for HEP_JSON (a HepError naming a JSON field) */
  offset?: number
  field: string
}

function thrown(run: () => unknown): unknown {
  try {
    run()
  } catch (e) {
    return e
  }
  return undefined
}

const rows: Row[] = [
  // ---- what the first bytes say
  {
    name: 'empty buffer',
    run: () => decode(Buffer.alloc(0)),
    code: 'HEP_TRUNCATED',
    offset: 0,
    field: 'version',
  },
  { name: 'first byte 0', run: () => decode(H('00')), code: 'HEP_BAD_VERSION', offset: 0, field: 'version' },
  {
    name: 'first byte 3',
    run: () => decode(H('031002')),
    code: 'HEP_BAD_VERSION',
    offset: 0,
    field: 'version',
  },
  {
    name: 'SIP text, not HEP',
    run: () => decode(A('INVITE sip:x SIP/2.0\r\n')),
    code: 'HEP_BAD_VERSION',
    offset: 0,
    field: 'version',
  },
  {
    name: 'hep1 trio given HEP3',
    run: () => hep1.decode(H(hep3Hex())),
    code: 'HEP_BAD_VERSION',
    offset: 0,
    field: 'version',
  },
  {
    name: 'hep3 trio given HEPv2',
    run: () => hep3.decode(H(v1Header(2, V4) + v2Time(1, 2, 3))),
    code: 'HEP_BAD_VERSION',
    offset: 0,
    field: 'version',
  },
  {
    name: 'hep2 trio given HEPv1',
    run: () => hep2.decode(H(v1Header(1, V4))),
    code: 'HEP_BAD_VERSION',
    offset: 0,
    field: 'version',
  },
  // a packet starting with "H" is a HEP3 packet gone wrong: errors.ts keeps HEP_BAD_VERSION for a first
  // byte that is "neither 1, 2 nor H", HEP_BAD_MAGIC for a packet that does not start with "HEP3"
  {
    name: '"HEPX" magic',
    run: () => decode(A('HEPX\x00\x06')),
    code: 'HEP_BAD_MAGIC',
    offset: 0,
    field: 'magic',
  },
  {
    name: '"HEP2" magic via hep3',
    run: () => hep3.decode(A('HEP2\x00\x06')),
    code: 'HEP_BAD_MAGIC',
    offset: 0,
    field: 'magic',
  },
  {
    name: '"HEP" (3 bytes of a HEP3 header)',
    run: () => decode(A('HEP')),
    code: 'HEP_TRUNCATED',
    offset: 0,
    field: 'HEP3 header',
  },

  // ---- HEP v1 / v2 fixed headers
  {
    name: 'v1, 3 bytes',
    run: () => decode(H('011002')),
    code: 'HEP_TRUNCATED',
    offset: 0,
    field: 'HEPv1 header',
  },
  {
    name: 'v1, 7 bytes',
    run: () => decode(H('0110021113c413')),
    code: 'HEP_TRUNCATED',
    offset: 0,
    field: 'HEPv1 header',
  },
  {
    name: 'v1 IPv4, 15 bytes',
    run: () => decode(H(v1Header(1, V4)).subarray(0, 15)),
    code: 'HEP_TRUNCATED',
    offset: 0,
    field: 'HEPv1 header',
  },
  {
    name: 'v1 IPv6, 39 bytes',
    run: () => decode(H(v1Header(1, V6)).subarray(0, 39)),
    code: 'HEP_TRUNCATED',
    offset: 0,
    field: 'HEPv1 header',
  },
  {
    name: 'v1 IPv6 family with an IPv4-sized header',
    run: () => decode(H(v1Header(1, { ...V4, family: 10 }) + text('SIP/2.0 200 OK'))),
    code: 'HEP_TRUNCATED',
    offset: 0,
    field: 'HEPv1 header',
  },
  {
    name: 'v2 IPv4, no time header',
    run: () => decode(H(v1Header(2, V4))),
    code: 'HEP_TRUNCATED',
    offset: 0,
    field: 'HEPv2 header',
  },
  {
    name: 'v2 IPv4, 27 bytes',
    run: () => decode(H(v1Header(2, V4) + v2Time(1, 2, 3)).subarray(0, 27)),
    code: 'HEP_TRUNCATED',
    offset: 0,
    field: 'HEPv2 header',
  },
  {
    name: 'v2 IPv6, 51 bytes',
    run: () => decode(H(v1Header(2, V6) + v2Time(1, 2, 3)).subarray(0, 51)),
    code: 'HEP_TRUNCATED',
    offset: 0,
    field: 'HEPv2 header',
  },
  {
    name: 'v1 family 7',
    run: () => decode(H(v1Header(1, V4)).fill(7, 2, 3)),
    code: 'HEP_BAD_FAMILY',
    offset: 2,
    field: 'address family',
  },
  {
    name: 'v2 family 0',
    run: () => decode(H(v1Header(2, V4) + v2Time(1, 2, 3)).fill(0, 2, 3)),
    code: 'HEP_BAD_FAMILY',
    offset: 2,
    field: 'address family',
  },
  {
    name: 'v2 family 23 (Windows AF_INET6)',
    run: () => hep2.decode(H(v1Header(2, V6) + v2Time(1, 2, 3)).fill(23, 2, 3)),
    code: 'HEP_BAD_FAMILY',
    offset: 2,
    field: 'address family',
  },

  // ---- HEP3 header
  {
    name: 'HEP3, 5 bytes',
    run: () => decode(H('4845503300')),
    code: 'HEP_TRUNCATED',
    offset: 0,
    field: 'HEP3 header',
  },
  {
    name: 'HEP3 total length 0',
    run: () => decode(H('484550330000')),
    code: 'HEP_BAD_LENGTH',
    offset: 4,
    field: 'total length',
  },
  {
    name: 'HEP3 total length 5',
    run: () => decode(H('484550330005' + '00')),
    code: 'HEP_BAD_LENGTH',
    offset: 4,
    field: 'total length',
  },
  {
    name: 'HEP3 total length past the buffer',
    run: () => decode(H('484550330010aabbccdd')),
    code: 'HEP_TRUNCATED',
    offset: 4,
    field: 'total length',
  },
  {
    name: 'HEP3 total length past `end`',
    run: () => decode(GOOD_V3, 0, GOOD_V3.length - 1),
    code: 'HEP_TRUNCATED',
    offset: 4,
    field: 'total length',
  },

  // ---- HEP3 chunks (offsets from the packet start)
  {
    name: 'chunk header cut by the total length',
    run: () => decode(H('48455033000a00000007')),
    code: 'HEP_CHUNK_LENGTH',
    offset: 6,
    field: 'chunk header',
  },
  {
    name: 'second chunk header cut',
    run: () => decode(H(hep3Hex(chunk(0, 7, u16(5060))).replace(/^48455033000e/, '484550330010') + '0000')),
    code: 'HEP_CHUNK_LENGTH',
    offset: 14,
    field: 'chunk header',
  },
  {
    name: 'chunk length 0 (Kamailio drops it)',
    run: () => decode(H('48455033000c000000070000aaaa')),
    code: 'HEP_CHUNK_LENGTH',
    offset: 10,
    field: 'chunk 0x0007 length',
  },
  {
    name: 'chunk length 5',
    run: () => decode(H('48455033000c000000070005aaaa')),
    code: 'HEP_CHUNK_LENGTH',
    offset: 10,
    field: 'chunk 0x0007 length',
  },
  {
    name: 'chunk runs past the total length',
    run: () => decode(H('48455033000e000000070009aaaaaaaa')),
    code: 'HEP_CHUNK_LENGTH',
    offset: 10,
    field: 'chunk 0x0007 length',
  },
  {
    name: 'vendor chunk runs past the total length (after a good chunk)',
    run: () => decode(H('484550330018' + chunk(0, 7, u16(5060)) + '000200200010aaaaaaaa')),
    code: 'HEP_CHUNK_LENGTH',
    offset: 18,
    field: 'chunk 0x0020 length',
  },
  {
    name: 'srcPort chunk of 3 bytes',
    run: () => decode(H(hep3Hex(chunk(0, 7, 'aabbcc')))),
    code: 'HEP_CHUNK_WIDTH',
    offset: 6,
    field: 'chunk 0x0007 srcPort',
  },
  {
    name: 'inet6 source of 4 bytes, after a good chunk',
    run: () => decode(H(hep3Hex(chunk(0, 1, '0a'), chunk(0, 5, ip4('10.0.0.1'))))),
    code: 'HEP_CHUNK_WIDTH',
    offset: 13,
    field: 'chunk 0x0005 srcIp',
  },

  // ---- one datagram, one packet
  {
    name: 'datagram longer than the total length',
    run: () => decodeDatagram(Buffer.concat([GOOD_V3, H('00')])),
    code: 'HEP_BAD_LENGTH',
    offset: 4,
    field: 'total length',
  },
  {
    name: 'two packets in one datagram',
    run: () => decodeDatagram(Buffer.concat([GOOD_V3, GOOD_V3])),
    code: 'HEP_BAD_LENGTH',
    offset: 4,
    field: 'total length',
  },
  {
    name: 'datagram shorter than the total length',
    run: () => decodeDatagram(GOOD_V3.subarray(0, GOOD_V3.length - 1)),
    code: 'HEP_TRUNCATED',
    offset: 4,
    field: 'total length',
  },

  // ---- the HEP3 stream framer (offsets in the stream)
  {
    name: 'framer: "X"',
    run: () => new Hep3Framer().push(A('X')),
    code: 'HEP_BAD_MAGIC',
    offset: 0,
    field: 'magic',
  },
  {
    name: 'framer: "HEX"',
    run: () => new Hep3Framer().push(A('HEX')),
    code: 'HEP_BAD_MAGIC',
    offset: 0,
    field: 'magic',
  },
  {
    name: 'framer: HEPv2 on a HEP3 stream',
    run: () => new Hep3Framer().push(H(v1Header(2, V4))),
    code: 'HEP_BAD_MAGIC',
    offset: 0,
    field: 'magic',
  },
  {
    name: 'framer: bad magic after a good packet',
    run: () => new Hep3Framer().push(Buffer.concat([GOOD_V3, A('GET / HTTP/1.1\r\n')])),
    code: 'HEP_BAD_MAGIC',
    offset: GOOD_V3.length,
    field: 'magic',
  },
  {
    name: 'framer: total length 5',
    run: () => new Hep3Framer().push(H('484550330005')),
    code: 'HEP_BAD_LENGTH',
    offset: 4,
    field: 'total length',
  },
  {
    name: 'framer: total length 0 after a good packet',
    run: () => new Hep3Framer().push(Buffer.concat([GOOD_V3, H('484550330000')])),
    code: 'HEP_BAD_LENGTH',
    offset: GOOD_V3.length + 4,
    field: 'total length',
  },
  {
    name: 'framer: maxLength 100, packet of 101',
    run: () => new Hep3Framer({ maxLength: 100 }).push(H('484550330065')),
    code: 'HEP_TOO_LONG',
    offset: 4,
    field: 'total length',
  },
  {
    name: 'framer: maxLength 600, a 608-byte packet',
    run: () => new Hep3Framer({ maxLength: 600 }).push(GOOD_V3),
    code: 'HEP_TOO_LONG',
    offset: 4,
    field: 'total length',
  },
  {
    name: 'frameLength: maxLength, base 1000',
    run: () => frameLength(H('4845503300ff'), 0, 200, 1000),
    code: 'HEP_TOO_LONG',
    offset: 1004,
    field: 'total length',
  },

  // ---- the JSON form
  { name: 'JSON: not JSON', run: () => fromJsonLine('{"version":3'), code: 'HEP_JSON', field: 'not JSON' },
  { name: 'JSON: an array', run: () => fromJson([1, 2]), code: 'HEP_JSON', field: 'packet' },
  { name: 'JSON: a string', run: () => fromJsonLine('"HEP3"'), code: 'HEP_JSON', field: 'packet' },
  { name: 'JSON: version 4', run: () => fromJson({ version: 4 }), code: 'HEP_JSON', field: 'version' },
  {
    name: 'JSON: port not a number',
    run: () => fromJson({ srcPort: 'sip' }),
    code: 'HEP_JSON',
    field: 'srcPort',
  },
  {
    name: 'JSON: address not a string',
    run: () => fromJson({ dstIp: 10 }),
    code: 'HEP_JSON',
    field: 'dstIp',
  },
  {
    name: 'JSON: hep-js alias, wrong type',
    run: () => fromJson({ rcinfo: { capturePass: 5 }, payload: 'x' }),
    code: 'HEP_JSON',
    field: 'capturePass',
  },
  {
    name: 'JSON: payload not a string',
    run: () => fromJson({ payload: 42 }),
    code: 'HEP_JSON',
    field: 'payload',
  },
  {
    name: 'JSON: unknown payloadEncoding',
    run: () => fromJson({ payload: 'x', payloadEncoding: 'rot13' }),
    code: 'HEP_JSON',
    field: 'payloadEncoding',
  },
  {
    name: 'JSON: payload not hex',
    run: () => fromJson({ payload: 'xyz', payloadEncoding: 'hex' }),
    code: 'HEP_JSON',
    field: 'payload',
  },
  {
    name: 'JSON: time not ISO',
    run: () => fromJson({ time: 'yesterday-ish' }),
    code: 'HEP_JSON',
    field: 'time',
  },
  {
    name: 'JSON: chunks not an array',
    run: () => fromJson({ chunks: {} }),
    code: 'HEP_JSON',
    field: 'chunks',
  },
  {
    name: 'JSON: chunk id out of range',
    run: () => fromJson({ chunks: [1, 70000] }),
    code: 'HEP_JSON',
    field: 'chunks[1]',
  },
  {
    name: 'JSON: raw chunk without value',
    run: () => fromJson({ chunks: [{ vendor: 2, type: 32 }] }),
    code: 'HEP_JSON',
    field: 'chunks[0]',
  },
  {
    name: 'JSON: raw chunk bad vendor',
    run: () => fromJson({ chunks: [{ vendor: 'x', type: 32, hex: '' }] }),
    code: 'HEP_JSON',
    field: 'chunks[0].vendor',
  },
  {
    name: 'JSON: raw chunk bad hex',
    run: () => fromJson({ chunks: [{ vendor: 2, type: 32, hex: 'abc' }] }),
    code: 'HEP_JSON',
    field: 'chunks[0].hex',
  },
  {
    name: 'JSON: hdrLen not a number',
    run: () => fromJson({ version: 2, hdrLen: 'x' }),
    code: 'HEP_JSON',
    field: 'hdrLen',
  },
]

describe('malformed input table', () => {
  it.each(rows.map((r) => [r.name, r]))('%s', (_name, row) => {
    const e = thrown(row.run)
    expect(e, 'must throw').toBeDefined()
    expect(e).toBeInstanceOf(HepError)
    expect(e).toBeInstanceOf(Error)
    const err = e as HepError
    expect(err.code).toBe(row.code)
    if (row.code === 'HEP_JSON') {
      expect(err).not.toBeInstanceOf(DecodeError)
      expect(err.message.startsWith(`${row.field}:`), err.message).toBe(true)
    } else {
      expect(err).toBeInstanceOf(DecodeError)
      const d = err as DecodeError
      expect({ offset: d.offset, field: d.field }).toEqual({ offset: row.offset, field: row.field })
      expect(d.message).toBe(`${row.field} at byte ${row.offset}: ${d.detail}`)
      expect(d.detail.length).toBeGreaterThan(0)
    }
  })

  it('covers every decode error code of the codec', () => {
    const codes = new Set(rows.map((r) => r.code))
    for (const c of [
      'HEP_TRUNCATED',
      'HEP_BAD_MAGIC',
      'HEP_BAD_VERSION',
      'HEP_BAD_FAMILY',
      'HEP_BAD_LENGTH',
      'HEP_CHUNK_LENGTH',
      'HEP_CHUNK_WIDTH',
      'HEP_TOO_LONG',
      'HEP_JSON',
    ] as HepErrorCode[]) {
      expect(codes.has(c), c).toBe(true)
    }
  })
})

describe('chunk widths', () => {
  const fixed = CHUNK_DEFS.filter((d) => d.width !== 0)

  it.each(fixed.map((d) => [d.id.toString(16).padStart(4, '0'), d]))(
    'chunk 0x%s: one byte short or long is HEP_CHUNK_WIDTH at the chunk',
    (id, d) => {
      for (const width of [d.width - 1, d.width + 1, 0]) {
        const bytes = H(hep3Hex(chunk(0, 0x0b, '01'), chunk(0, d.id, 'ab'.repeat(width))))
        const e = thrown(() => decode(bytes)) as DecodeError
        expect(e).toBeInstanceOf(DecodeError)
        expect(e.code).toBe('HEP_CHUNK_WIDTH')
        expect(e.offset).toBe(6 + 7)
        expect(e.field).toBe(`chunk 0x${id} ${d.field}`)
      }
    },
  )

  it('other vendors and unknown generic ids are not width-checked', () => {
    for (const [vendor, type] of [
      [2, 0x07],
      [0xffff, 0x01],
      [0, 0x19],
      [0, 0x2a],
      [0, 0xffff],
    ]) {
      const p = decode(H(hep3Hex(chunk(vendor, type, 'aabbcc'))))
      expect(p.chunks).toEqual([{ vendor, type, value: H('aabbcc') }])
    }
  })
})

describe('error positions', () => {
  // a malformed packet decoded at offset 10 of a bigger buffer: every error names a position with the same
  // origin, whatever part of the packet is wrong (header, chunk, v1/v2 field)
  const packets: [string, Buffer][] = [
    ['HEP3 total length 5', H('484550330005')],
    ['HEP3 total length past the buffer', H('484550330010aabbccdd')],
    ['v1 family 7', H(v1Header(1, V4)).fill(7, 2, 3)],
    ['chunk length 5', H('48455033000c000000070005aaaa')],
    ['chunk header cut', H('48455033000a00000007')],
    ['srcPort chunk of 3 bytes', H(hep3Hex(chunk(0, 7, 'aabbcc')))],
  ]

  it.each(packets)('%s: the offset at buffer offset 10 is the offset at 0, shifted by 10', (_name, bytes) => {
    const at0 = thrown(() => decode(bytes)) as DecodeError
    const at10 = thrown(() => decode(Buffer.concat([Buffer.alloc(10, 0xee), bytes]), 10)) as DecodeError
    expect(at0).toBeInstanceOf(DecodeError)
    expect(at10).toBeInstanceOf(DecodeError)
    expect(at10.code).toBe(at0.code)
    expect(at10.field).toBe(at0.field)
    expect(at10.offset).toBe(at0.offset + 10)
  })
})

describe('decode() of a buffer holding more than one packet', () => {
  it('a HEP3 packet ends at its total length; the rest is left for the next call', () => {
    const two = Buffer.concat([GOOD_V3, GOOD_V3.subarray(0, 10)])
    const p = decode(two)
    expect(decode.bytes).toBe(GOOD_V3.length)
    expect(p.srcPort).toBe(decode(GOOD_V3).srcPort)
    const e = thrown(() => decode(two, decode.bytes)) as DecodeError
    expect(e.code).toBe('HEP_TRUNCATED')
  })
})
