/**
 * ONE round-trip checker for every codec trio (dns-packet style): `checkCodec(codec, value, goldenHex?)`.
 *  - encodingLength(value) === the encoded length
 *  - decode(encode(value)) deep-equals value (Buffers compared by content) — or `options.decoded` when the
 *    decoder is expected to add something (a v3 chunk list, payloadType 1 for v1/v2...)
 *  - re-encoding the decoded packet gives the same bytes
 *  - encoding at offset 10 into a bigger buffer writes the same bytes there and nothing around them;
 *    decoding at offset 10 gives the same packet
 *  - the bytes equal `goldenHex` when given
 */
import { expect } from 'vitest'
import { decode as decodeAny, type HepCodec, type HepPacket } from '../../src/index.js'

/** A plain, comparable copy: Uint8Arrays become `hex:<hex>` strings, undefined keys are dropped. */
export function normalise(v: unknown): unknown {
  if (v instanceof Uint8Array)
    return 'hex:' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')
  if (Array.isArray(v)) return v.map(normalise)
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k]
      if (x !== undefined) out[k] = normalise(x)
    }
    return out
  }
  return v
}

export interface CheckCodecOptions {
  /** what decode(encode(value)) must equal, when it is not `value` itself */
  decoded?: HepPacket
}

const OFFSET = 10
const FILL = 0xa5

/** Runs every round-trip check; returns the encoded bytes and the decoded packet for further asserts. */
export function checkCodec(
  codec: HepCodec,
  value: HepPacket,
  goldenHex?: string,
  options: CheckCodecOptions = {},
): { bytes: Buffer; decoded: HepPacket } {
  const before = normalise(value)
  const length = codec.encodingLength(value)
  const bytes = codec.encode(value)
  expect(bytes.length, 'encodingLength === encoded length').toBe(length)
  if (goldenHex !== undefined) expect(bytes.toString('hex'), 'golden bytes').toBe(goldenHex.toLowerCase())

  const decoded = codec.decode(bytes)
  expect(decodeAny.bytes, 'decode.bytes').toBe(length)
  expect(normalise(decoded), 'decode(encode(v))').toEqual(normalise(options.decoded ?? value))

  const again = codec.encode(decoded)
  expect(again.toString('hex'), 're-encode of the decoded packet').toBe(bytes.toString('hex'))
  expect(codec.encodingLength(decoded)).toBe(length)

  // at offset 10 inside a bigger buffer: same bytes, nothing written around them
  const big = Buffer.alloc(OFFSET + length + 7, FILL)
  const returned = codec.encode(value, big, OFFSET)
  expect(returned, 'encode(v, buf, offset) returns buf').toBe(big)
  expect(big.subarray(OFFSET, OFFSET + length).toString('hex'), 'bytes at offset 10').toBe(
    bytes.toString('hex'),
  )
  expect(
    [...big.subarray(0, OFFSET)].every((b) => b === FILL),
    'bytes before offset untouched',
  ).toBe(true)
  expect(
    [...big.subarray(OFFSET + length)].every((b) => b === FILL),
    'bytes after packet untouched',
  ).toBe(true)

  const atOffset = codec.decode(big, OFFSET, OFFSET + length)
  expect(decodeAny.bytes).toBe(length)
  expect(normalise(atOffset), 'decode at offset 10').toEqual(normalise(decoded))
  if (codec.version === 3) {
    // a HEP3 packet ends at its own total length, whatever follows it in the buffer
    expect(normalise(codec.decode(big, OFFSET)), 'decode at offset 10, trailing bytes').toEqual(
      normalise(decoded),
    )
    expect(decodeAny.bytes).toBe(length)
  }

  expect(normalise(value), 'encode must not modify its input').toEqual(before)
  return { bytes, decoded }
}
