/**
 * Properties (fast-check): arbitrary packets of every version round-trip; any datagram that decodes
 * re-encodes to the same bytes (and so does its JSON form); random and mutated bytes given to decode,
 * decodeDatagram and the framer raise DecodeError only; the framer accounts for every byte.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CHUNK_DEFS,
  DecodeError,
  decode,
  decodeDatagram,
  encode,
  encodingLength,
  fromJson,
  Hep3Framer,
  hep1,
  hep2,
  hep3,
  HepError,
  parseIPv6,
  toJson,
  toJsonLine,
  type ChunkDef,
  type ChunkRef,
  type HepPacket,
  type RawChunk,
} from '../../src/index.js'
import { Writable } from 'node:stream'
import { OutputWriter } from '../../src/output/writer.js'
import { encodeCanonicalGenerated, scalarWriterGenerated } from '../../src/hep/codegen.js'
import { jsonNum, jsonStr, jsonStrRoom, writeScalarsTyped } from '../../src/hep/json-bytes.js'
import { Ipv4Bits } from '../../src/hep/ip.js'
import { encodeCanonicalTyped } from '../../src/hep/v3.js'
import { checkCodec, normalise } from '../helpers/check-codec.js'
import { HEP_UDP_CAPTURES, loadHexVectors } from '../helpers/fixtures.js'

// ------------------------------------------------------------------ arbitraries

const u8 = fc.integer({ min: 0, max: 0xff })
const u16 = fc.integer({ min: 0, max: 0xffff })
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a))
const mac = fc
  .uint8Array({ minLength: 8, maxLength: 8 })
  .map((a) => [...a].map((b) => b.toString(16).padStart(2, '0')).join(':'))
const textValue = fc.string({ unit: 'grapheme', maxLength: 24 })

function valueOf(d: ChunkDef): fc.Arbitrary<unknown> {
  switch (d.kind) {
    case 'u8':
      return u8
    case 'u16':
      return u16
    case 'u32':
      return u32
    case 'u64':
      return mac
    case 'inet4':
      return fc.ipV4()
    case 'inet6':
      return fc.ipV6()
    case 'text':
      return textValue
    case 'bytes':
      return bytes(d.id === 0x0f ? 1500 : 64)
  }
}

const KNOWN = new Set(CHUNK_DEFS.map((d) => d.id))
/** a chunk the decoder must keep raw: another vendor's, or a generic id without a definition */
const rawChunk: fc.Arbitrary<RawChunk> = fc
  .oneof(
    fc.record({ vendor: fc.integer({ min: 1, max: 0xffff }), type: u16 }),
    fc.record({ vendor: fc.constant(0), type: u16.filter((t) => !KNOWN.has(t)) }),
  )
  .chain(({ vendor, type }) => bytes(24).map((value) => ({ vendor, type, value })))

/** a HEP3 packet: some generic fields (addresses of one family), raw chunks, an explicit wire order or none */
const v3Packet: fc.Arbitrary<HepPacket> = fc
  .record({
    family: fc.constantFrom(2, 10),
    picked: fc.shuffledSubarray(
      CHUNK_DEFS.filter((d) => d.kind !== 'inet4' && d.kind !== 'inet6'),
      { minLength: 0 },
    ),
    addresses: fc.subarray(['src', 'dst']),
    raws: fc.array(rawChunk, { maxLength: 4 }),
    listed: fc.boolean(),
    seed: fc.integer(),
  })
  .chain(({ family, picked, addresses, raws, listed, seed }) => {
    const defs = [
      ...picked,
      ...addresses.map((a) =>
        CHUNK_DEFS.find((d) => d.id === (a === 'src' ? 1 : 2) + (family === 2 ? 2 : 4))!,
      ),
    ]
    return fc.tuple(...defs.map((d) => valueOf(d))).map((values) => {
      const p: Record<string, unknown> = { version: 3 }
      defs.forEach((d, i) => (p[d.field] = values[i]))
      if (listed || raws.length > 0) {
        // the generic ids in a shuffled order, raw chunks spread among them
        const list: ChunkRef[] = defs.map((d) => d.id)
        raws.forEach((r, i) => list.splice(Math.abs(seed + i * 7) % (list.length + 1), 0, r))
        p.chunks = list
      }
      return p as unknown as HepPacket
    })
  })

const v1v2Packet: fc.Arbitrary<HepPacket> = fc
  .record({
    version: fc.constantFrom(1 as const, 2 as const),
    family: fc.constantFrom(2, 10),
    protocol: u8,
    srcPort: u16,
    dstPort: u16,
    timeSeconds: u32,
    timeUseconds: u32,
    captureId: u16,
    v2Padding: fc.option(fc.integer({ min: 1, max: 0xffff }), { nil: undefined }),
    hdrLen: fc.option(u8, { nil: undefined }),
    payload: bytes(1500),
    v4: fc.tuple(fc.ipV4(), fc.ipV4()),
    v6: fc.tuple(fc.ipV6(), fc.ipV6()),
  })
  .map((r) => {
    const p: HepPacket = {
      version: r.version,
      protocolFamily: r.family,
      protocol: r.protocol,
      srcIp: r.family === 2 ? r.v4[0] : r.v6[0],
      dstIp: r.family === 2 ? r.v4[1] : r.v6[1],
      srcPort: r.srcPort,
      dstPort: r.dstPort,
      payloadType: 1,
      payload: r.payload,
    }
    if (r.hdrLen !== undefined && r.hdrLen !== (r.family === 2 ? 16 : 40)) p.hdrLen = r.hdrLen
    if (r.version === 2) {
      Object.assign(p, { timeSeconds: r.timeSeconds, timeUseconds: r.timeUseconds, captureId: r.captureId })
      if (r.v2Padding !== undefined) p.v2Padding = r.v2Padding
    }
    return p
  })

/** the value with IPv6 text compared as the 16 bytes it stands for */
function comparable(p: HepPacket): unknown {
  const o = normalise(p) as Record<string, unknown>
  for (const k of ['srcIp', 'dstIp']) {
    const v = o[k]
    if (typeof v === 'string' && v.includes(':')) o[k] = 'ip6:' + Buffer.from(parseIPv6(v)!).toString('hex')
  }
  return o
}

function expectRoundTrip(p: HepPacket): void {
  const b = encode(p)
  expect(b.length).toBe(encodingLength(p))
  const d = decode(b)
  expect(decode.bytes).toBe(b.length)
  const want = comparable(p) as Record<string, unknown>
  const got = comparable(d) as Record<string, unknown>
  if (p.version === 3 && p.chunks === undefined) delete got.chunks // the decoder lists the wire order
  expect(got).toEqual(want)
  expect(encode(d).equals(b)).toBe(true)
  // the JSON form too
  expect(encode(fromJson(JSON.parse(JSON.stringify(toJson(d))))).equals(b)).toBe(true)
}

// ------------------------------------------------------------------ packets round-trip

describe('arbitrary packets', () => {
  it('HEP3: decode(encode(p)) equals p; re-encode and the JSON form give the same bytes', () => {
    fc.assert(
      fc.property(v3Packet, (p) => expectRoundTrip(p)),
      { numRuns: 1000 },
    )
  })

  it('HEP v1/v2, IPv4 and IPv6: decode(encode(p)) equals p; re-encode and JSON give the same bytes', () => {
    fc.assert(
      fc.property(v1v2Packet, (p) => expectRoundTrip(p)),
      { numRuns: 1000 },
    )
  })

  it('the byte writer (listen/decode --json) writes exactly toJsonLine, whatever the payload and chunk size', () => {
    // payloads of every kind the writer tells apart: ASCII with every escape, UTF-8 text, other bytes
    const ascii = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)) })
    const payloadArb = fc.oneof(
      ascii.map((t) => Buffer.from(t, 'latin1')),
      fc.string({ unit: 'grapheme', maxLength: 200 }).map((t) => Buffer.from(t, 'utf8')),
      bytes(300),
    )
    fc.assert(
      fc.property(
        fc.oneof(v3Packet, v1v2Packet),
        fc.option(payloadArb, { nil: undefined }),
        fc.constantFrom(1, 7, 64, 4096),
        (p, payload, chunkSize) => {
          const q: HepPacket = payload === undefined ? p : { ...p, payload }
          const suffix = ',"via":{"transport":"udp"}'
          const got = writeLines(chunkSize, (w) => {
            w.packet(q, Buffer.from(suffix))
            w.line('between')
            w.packet(q)
          })
          expect(got).toBe(`${toJsonLine(q, undefined, suffix)}\nbetween\n${toJsonLine(q)}\n`)
          // toJsonLine is the text of the byte writer: both must be the JSON model (toJson)
          const model = JSON.stringify(toJson(q))
          expect(got).toBe(`${model.slice(0, -1)}${suffix}}\nbetween\n${model}\n`)
        },
      ),
      { numRuns: 1000 },
    )
  })

  it('the generated JSON scalar writer (codegen.ts) writes exactly what the typed one writes', () => {
    const out = () => ({
      buf: Buffer.alloc(16),
      pos: 0,
      room(this: { buf: Buffer; pos: number }, n: number) {
        const b = Buffer.alloc(Math.max(2 * this.buf.length, this.pos + n))
        this.buf.copy(b, 0, 0, this.pos)
        this.buf = b
      },
    })
    const gen = scalarWriterGenerated({ num: jsonNum, str: jsonStr, strRoom: jsonStrRoom })
    fc.assert(
      fc.property(fc.oneof(v3Packet, v1v2Packet), (p) => {
        const a = out()
        const b = out()
        gen(p, a)
        writeScalarsTyped(p, b)
        expect(a.buf.subarray(0, a.pos).toString('utf8')).toBe(b.buf.subarray(0, b.pos).toString('utf8'))
      }),
      { numRuns: 2000 },
    )
  })

  it('the generated canonical encoder (codegen.ts) writes exactly what the typed encoder writes', () => {
    // arbitrary packets without a chunk list, and with a field of the wrong type or range: same bytes,
    // or the same error
    const wrong = fc.record({
      field: fc.constantFrom(...CHUNK_DEFS.map((d) => d.field)),
      value: fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(null), fc.constant(-1)),
    })
    const bits = new Ipv4Bits()
    fc.assert(
      fc.property(v3Packet, fc.option(wrong, { nil: undefined }), fc.nat(8), (p0, bad, at) => {
        const p = { ...p0, chunks: undefined } as HepPacket
        if (bad) (p as unknown as Record<string, unknown>)[bad.field] = bad.value
        const run = (f: () => { buffer: Buffer; length: number }) => {
          try {
            const r = f()
            return r.buffer.subarray(at, at + r.length).toString('hex')
          } catch (e) {
            return `${(e as HepError).code}: ${(e as Error).message}`
          }
        }
        const target = Buffer.alloc(70000)
        expect(run(() => encodeCanonicalGenerated(p, target, at))).toBe(
          run(() => encodeCanonicalTyped(p, target, at)),
        )
        expect(run(() => encodeCanonicalGenerated(p, undefined, 0))).toBe(run(() => encodeCanonicalTyped(p)))
        // with an encoding session's parsed addresses (one for all runs: its answers reused)
        expect(run(() => encodeCanonicalGenerated(p, undefined, 0, bits))).toBe(
          run(() => encodeCanonicalTyped(p)),
        )
      }),
      { numRuns: 2000 },
    )
  })

  it('checkCodec holds for arbitrary packets of each version', () => {
    fc.assert(
      fc.property(v3Packet, (p) => {
        const ids = decode(encode(p)).chunks
        checkCodec(hep3, p, undefined, { decoded: { ...(decode(encode(p)) as HepPacket), chunks: ids } })
      }),
      { numRuns: 150 },
    )
    fc.assert(
      fc.property(v1v2Packet, (p) => {
        checkCodec(p.version === 1 ? hep1 : hep2, p, undefined, { decoded: decode(encode(p)) })
      }),
      { numRuns: 150 },
    )
  })
})

/** What an OutputWriter with chunks of `chunkSize` bytes and a tiny flush threshold writes. */
function writeLines(chunkSize: number, fill: (w: OutputWriter) => void): string {
  const parts: Buffer[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      parts.push(Buffer.from(chunk))
      done()
    },
  })
  const w = new OutputWriter(sink, { flushAt: 16, chunkSize })
  fill(w)
  w.flush()
  return Buffer.concat(parts).toString('utf8')
}

// ------------------------------------------------------------------ any bytes

function onlyDecodeErrors(run: () => unknown): unknown {
  try {
    return run()
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e
    return e
  }
}

/**
 * decode, decodeDatagram and a framer on `buf` (with `thorough`, also the trios and the big-endian v2
 * reading): DecodeError, or a packet that re-encodes to the same bytes.
 */
function checkBytes(buf: Buffer, thorough = false): boolean {
  onlyDecodeErrors(() => decode(buf))
  onlyDecodeErrors(() => new Hep3Framer().push(buf))
  if (thorough) {
    for (const codec of [hep1, hep2, hep3]) onlyDecodeErrors(() => codec.decode(buf))
    onlyDecodeErrors(() => decode(buf, 0, buf.length, { timeByteOrder: 'be' }))
  }
  const r = onlyDecodeErrors(() => decodeDatagram(buf))
  if (r instanceof DecodeError) return false
  const p = r as HepPacket
  const again = encode(p)
  if (!again.equals(buf))
    throw new Error(`re-encode differs: ${buf.toString('hex')} -> ${again.toString('hex')}`)
  const viaJson = encode(fromJson(JSON.parse(JSON.stringify(toJson(p)))))
  if (!viaJson.equals(buf)) throw new Error(`JSON round trip differs: ${buf.toString('hex')}`)
  return true
}

/** the framer, given `buf` in pieces: only DecodeErrors; with onError never throws and accounts for every byte */
function checkFramer(buf: Buffer, cuts: number[]): void {
  const pieces: Buffer[] = []
  let at = 0
  for (const c of [...cuts].sort((a, b) => a - b)) {
    const to = Math.min(c, buf.length)
    pieces.push(buf.subarray(at, Math.max(at, to)))
    at = Math.max(at, to)
  }
  pieces.push(buf.subarray(at))

  const strict = new Hep3Framer({ maxLength: 4096 })
  try {
    for (const piece of pieces) for (const f of strict.push(piece)) decodeDatagram(f)
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e
  }

  const lenient = new Hep3Framer({ maxLength: 4096 })
  let framed = 0
  let reports = 0
  for (const piece of pieces) {
    for (const f of lenient.push(piece, () => reports++)) {
      if (f.toString('latin1', 0, 4) !== 'HEP3' || f.readUInt16BE(4) !== f.length)
        throw new Error('bad frame')
      framed += f.length
    }
  }
  if (framed + lenient.skipped + lenient.buffered !== buf.length) {
    throw new Error(
      `bytes unaccounted: ${framed} framed + ${lenient.skipped} skipped + ${lenient.buffered} buffered`,
    )
  }
  if (lenient.offset !== framed + lenient.skipped) throw new Error('offset')
  if (reports > lenient.skipped) throw new Error('more reports than skipped bytes')
}

const prefixed = (prefix: Buffer, maxLength: number) =>
  fc.uint8Array({ maxLength }).map((a) => Buffer.concat([prefix, Buffer.from(a)]))

/** a HEP3 header with a plausible total length, then bytes */
const hep3ish = fc
  .tuple(fc.integer({ min: 0, max: 80 }), fc.uint8Array({ maxLength: 80 }))
  .map(([len, a]) => {
    const b = Buffer.concat([Buffer.from('HEP3\0\0', 'latin1'), Buffer.from(a)])
    b.writeUInt16BE(len, 4)
    return b
  })

/** well-formed chunk structure with random vendors/types/widths: decodes often, or fails on a width */
const chunkSoup = fc
  .array(
    fc.record({
      vendor: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: u16 }),
      type: fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 0, max: 0x2b }) },
        { weight: 1, arbitrary: u16 },
      ),
      value: fc.oneof(
        fc.uint8Array({ maxLength: 20 }),
        fc.constantFrom(1, 2, 4, 8, 16).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
        // text-like values, sometimes not UTF-8
        fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => new Uint8Array(Buffer.from(s))),
      ),
    }),
    { maxLength: 12 },
  )
  .map((chunks) => {
    const parts = chunks.map(({ vendor, type, value }) => {
      const c = Buffer.alloc(6 + value.length)
      c.writeUInt16BE(vendor, 0)
      c.writeUInt16BE(type, 2)
      c.writeUInt16BE(c.length, 4)
      c.set(value, 6)
      return c
    })
    const b = Buffer.concat([Buffer.from('HEP3\0\0', 'latin1'), ...parts])
    b.writeUInt16BE(b.length, 4)
    return b
  })

const goldens = HEP_UDP_CAPTURES.flatMap((n) => loadHexVectors(n).slice(0, 4))
/** a real packet with a few bytes changed, cut or extended */
const mutated = fc
  .record({
    i: fc.integer({ min: 0, max: goldens.length - 1 }),
    edits: fc.array(fc.tuple(fc.nat(), u8), { minLength: 1, maxLength: 4 }),
    headerOnly: fc.boolean(),
    cut: fc.option(fc.nat(), { nil: undefined }),
  })
  .map(({ i, edits, headerOnly, cut }) => {
    const b = Buffer.from(goldens[i])
    // most edits in the first 80 bytes, where the header and chunk headers are
    for (const [at, v] of edits) b[headerOnly ? at % Math.min(80, b.length) : at % b.length] = v
    return cut === undefined ? b : b.subarray(0, cut % (b.length + 1))
  })

describe('any bytes', () => {
  const runs = { v: 0, decoded: 0 }
  const prop = (arb: fc.Arbitrary<Buffer>, numRuns: number, thorough = false): number => {
    runs.decoded = 0
    fc.assert(
      fc.property(arb, (b) => {
        runs.v++
        if (checkBytes(b, thorough)) runs.decoded++
      }),
      { numRuns },
    )
    return runs.decoded
  }

  it('100k random buffers (also starting "HEP3", 0x01, 0x02): decode raises only DecodeError', () => {
    prop(bytes(64), 25_000)
    prop(hep3ish, 25_000)
    prop(prefixed(Buffer.from([0x01]), 64), 25_000)
    prop(prefixed(Buffer.from([0x02]), 64), 25_000)
    expect(runs.v).toBe(100_000)
  })

  it('well-formed chunk structures with random ids and widths: DecodeError, or identical re-encode', () => {
    // not vacuous: a good share of them decode, and those must re-encode identically
    expect(prop(chunkSoup, 6000, true)).toBeGreaterThan(600)
  })

  it('mutated real packets: DecodeError, or identical re-encode', () => {
    expect(prop(mutated, 6000, true)).toBeGreaterThan(600)
  })

  it('the framer, given random streams in random pieces, raises only DecodeError and accounts for every byte', () => {
    const stream = fc.array(fc.oneof(hep3ish, chunkSoup, bytes(16), fc.constantFrom(...goldens.slice(-6))), {
      maxLength: 6,
    })
    fc.assert(
      fc.property(stream, fc.array(fc.nat({ max: 2000 }), { maxLength: 5 }), (parts, cuts) =>
        checkFramer(Buffer.concat(parts), cuts),
      ),
      { numRuns: 6000 },
    )
  })

  it('fromJson of any JSON value raises only HepError, and so does encoding what it returns', () => {
    const keys = fc.constantFrom(
      'version',
      'srcIp',
      'dstIp',
      'srcPort',
      'captureId',
      'payload',
      'payloadEncoding',
      'time',
      'chunks',
      'hdrLen',
      'v2Padding',
      'srcMac',
      'authKey',
      'rcinfo',
      'capturePass',
      'compressedPayload',
      '__proto__',
      'constructor',
    )
    const obj = fc.dictionary(keys, fc.jsonValue({ maxDepth: 2 }))
    fc.assert(
      fc.property(fc.oneof(obj, fc.jsonValue({ maxDepth: 3 })), (v) => {
        const round = JSON.parse(JSON.stringify(v ?? null)) as unknown
        try {
          encode(fromJson(round))
        } catch (e) {
          if (!(e instanceof HepError)) throw e
        }
      }),
      { numRuns: 5000 },
    )
  })
})
