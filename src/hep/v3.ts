/** HEP v3: "HEP3" | total length u16 | chunks (vendor u16, type u16, length u16, value), big-endian. */
import { isUtf8 } from 'node:buffer'
import { DecodeError, HepError } from '../errors.js'
import { CANONICAL_ORDER } from './canonical-order.js'
import { CHUNK_BY_ID, chunkIdHex, type ChunkDef, type ChunkKind, type KindValue } from './chunks.js'
import { CHUNK_HEADER_LENGTH, HEP3_HEADER_LENGTH, HEP3_MAX_LENGTH } from './constants.js'
import {
  ipv4ToString,
  ipv6ToString,
  parseIPv6Text as parseIPv6,
  writeIPv4,
  type Ipv4Bits,
  type Ipv4Texts,
} from './ip.js'
import { encodeCanonicalGenerated } from './codegen.js'
import { macToString, writeMac } from './mac.js'
import { storeField } from './store.js'
import type { ChunkRef, HepField, HepPacket, RawChunk } from './packet.js'

function badWidth(pos: number, type: number, len: number): never {
  const d = CHUNK_BY_ID[type] as ChunkDef
  throw new DecodeError(
    'HEP_CHUNK_WIDTH',
    pos,
    `chunk ${chunkIdHex(type)} ${d.field}`,
    `length ${len}, expected ${d.width + 6}`,
  )
}

/** The value of a generic chunk at buf[v..v+len); undefined keeps the chunk as bytes. */
function readValue(
  d: ChunkDef,
  buf: Buffer,
  v: number,
  len: number,
  texts: Ipv4Texts | undefined,
): KindValue[ChunkKind] | undefined {
  // literal cases (KIND_CODE): a dense switch of literals is one jump table
  switch (d.code) {
    case 0: // u8
      return buf[v]
    case 1: // u16
      return (buf[v] << 8) | buf[v + 1]
    case 2: // u32
      return ((buf[v] << 24) >>> 0) + ((buf[v + 1] << 16) | (buf[v + 2] << 8) | buf[v + 3])
    case 3: // u64
      return macToString(buf, v)
    case 4: // inet4
      return texts === undefined ? ipv4ToString(buf, v) : texts.text(buf, v)
    case 5: // inet6
      return ipv6ToString(buf, v)
    case 6: {
      // text
      const sub = buf.subarray(v, v + len)
      return isUtf8(sub) ? sub.toString('utf8') : undefined
    }
    case 7: // bytes
      return buf.subarray(v, v + len)
  }
}

/**
 * Decodes the HEP3 packet at buf[offset..]; `end` bounds what may be read. Returns the packet.
 * `texts`: the session's IPv4 texts (formatted once per address), if it keeps them.
 */
export function decodeV3(buf: Buffer, offset: number, end: number, texts?: Ipv4Texts): HepPacket {
  if (end - offset < HEP3_HEADER_LENGTH) {
    throw new DecodeError(
      'HEP_TRUNCATED',
      offset,
      'HEP3 header',
      `${end - offset} bytes, a HEP3 header needs 6`,
    )
  }
  if (
    buf[offset] !== 0x48 ||
    buf[offset + 1] !== 0x45 ||
    buf[offset + 2] !== 0x50 ||
    buf[offset + 3] !== 0x33
  ) {
    throw new DecodeError(
      'HEP_BAD_MAGIC',
      offset,
      'magic',
      `expected "HEP3" (48455033), got ${buf.toString('hex', offset, offset + 4)}`,
    )
  }
  const total = (buf[offset + 4] << 8) | buf[offset + 5]
  if (total < HEP3_HEADER_LENGTH) {
    throw new DecodeError(
      'HEP_BAD_LENGTH',
      offset + 4,
      'total length',
      `${total} is less than the 6-byte header`,
    )
  }
  if (total > end - offset) {
    throw new DecodeError(
      'HEP_TRUNCATED',
      offset + 4,
      'total length',
      `packet says ${total} bytes, only ${end - offset} present`,
    )
  }
  const p: HepPacket = { version: 3 }
  const order: ChunkRef[] = []
  let seen = 0
  const stop = offset + total
  let pos = offset + HEP3_HEADER_LENGTH
  while (pos < stop) {
    if (stop - pos < CHUNK_HEADER_LENGTH) {
      throw new DecodeError(
        'HEP_CHUNK_LENGTH',
        pos,
        'chunk header',
        `${stop - pos} bytes left before the total length, a chunk header needs 6`,
      )
    }
    const vendor = (buf[pos] << 8) | buf[pos + 1]
    const type = (buf[pos + 2] << 8) | buf[pos + 3]
    const len = (buf[pos + 4] << 8) | buf[pos + 5]
    if (len < CHUNK_HEADER_LENGTH) {
      throw new DecodeError(
        'HEP_CHUNK_LENGTH',
        pos + 4,
        `chunk ${chunkIdHex(type)} length`,
        `${len} is less than the 6-byte chunk header`,
      )
    }
    if (pos + len > stop) {
      throw new DecodeError(
        'HEP_CHUNK_LENGTH',
        pos + 4,
        `chunk ${chunkIdHex(type)} length`,
        `${len} runs past the total length ${total}`,
      )
    }
    const v = pos + CHUNK_HEADER_LENGTH
    const vlen = len - CHUNK_HEADER_LENGTH
    const d = vendor === 0 ? CHUNK_BY_ID[type] : undefined
    if (d !== undefined) {
      if (d.width !== 0 && vlen !== d.width) badWidth(pos, type, len)
      // a field is set at most once: a repeated chunk is kept as bytes (`seen`: fields set so far)
      const bit = 1 << d.slot
      if ((seen & bit) === 0) {
        const x = readValue(d, buf, v, vlen, texts)
        if (x !== undefined) {
          storeField(p, type, x)
          seen |= bit
          order.push(type)
          pos += len
          continue
        }
      }
    }
    order.push({ vendor, type, value: buf.subarray(v, pos + len) })
    pos += len
  }
  p.chunks = order
  return p
}

// ---------------------------------------------------------------- encode
//
// Typed: each field's value is read through its row's accessor, sized and written by its kind. A packet
// without a chunk list is written in the canonical order by the generated encoder of codegen.ts (the
// typed one below, encodeCanonicalTyped, is its reference); one with a list (a decoded packet) in the
// list's order, byte for byte.

function fail(field: string, v: unknown, what: string): never {
  throw new HepError('HEP_ENCODE', `${field}: ${JSON.stringify(v)} is not ${what}`)
}

function chunkTooLong(name: string, n: number): never {
  throw new HepError('HEP_TOO_LONG', `${name}: ${n} bytes do not fit in a HEP3 chunk (at most 65529)`)
}

function packetTooLong(n: number): never {
  throw new HepError('HEP_TOO_LONG', `HEP3 packet would be ${n} bytes; the format allows at most 65535`)
}

function writeHeader(buf: Buffer, pos: number, vendor: number, type: number, len: number): void {
  buf[pos] = vendor >> 8
  buf[pos + 1] = vendor & 0xff
  buf[pos + 2] = type >> 8
  buf[pos + 3] = type & 0xff
  buf[pos + 4] = len >> 8
  buf[pos + 5] = len & 0xff
}

/** Bytes the value `v` of field `d` takes in its chunk; throws for a value of the wrong type. */
function valueSize(d: ChunkDef, v: unknown): number {
  let n: number
  switch (d.kind) {
    case 'u8':
    case 'u16':
    case 'u32':
    case 'u64':
      return d.width
    case 'inet4':
    case 'inet6':
      if (typeof v !== 'string') fail(d.field, v, 'an IP address')
      return v.includes(':') ? 16 : 4
    default:
      if (typeof v === 'string') n = Buffer.byteLength(v, 'utf8')
      else if (v instanceof Uint8Array) n = v.length
      else fail(d.field, v, d.kind === 'text' ? 'text' : 'bytes')
      if (n + CHUNK_HEADER_LENGTH > HEP3_MAX_LENGTH) chunkTooLong(d.field, n)
      return n
  }
}

/** Writes field `d`'s chunk (header and value `v`) at pos; returns the value length. */
function writeValue(d: ChunkDef, v: unknown, buf: Buffer, pos: number): number {
  let id = d.id
  let n: number
  switch (d.kind) {
    case 'u8':
    case 'u16':
    case 'u32': {
      n = d.width
      const max = n === 1 ? 0xff : n === 2 ? 0xffff : 0xffffffff
      if (typeof v !== 'number' || !(v >= 0 && v <= max) || Math.floor(v) !== v)
        fail(d.field, v, `an integer from 0 to ${max}`)
      if (n === 1) buf[pos + 6] = v
      else if (n === 2) {
        buf[pos + 6] = v >> 8
        buf[pos + 7] = v & 0xff
      } else buf.writeUInt32BE(v, pos + 6)
      break
    }
    case 'u64':
      if (!writeMac(String(v), buf, pos + 6)) fail(d.field, v, 'a MAC (6 or 8 hex bytes)')
      n = 8
      break
    case 'inet4':
    case 'inet6': {
      const s = v as string
      if (s.includes(':')) {
        const a = parseIPv6(s)
        if (a === undefined) fail(d.field, v, 'an IPv6 address')
        buf.set(a, pos + 6)
        n = 16
        id = d.id6
      } else {
        if (!writeIPv4(s, buf, pos + 6)) fail(d.field, v, 'an IPv4 address')
        n = 4
        id = d.id4
      }
      break
    }
    default:
      if (typeof v === 'string') n = buf.write(v, pos + 6, 'utf8')
      else {
        buf.set(v as Uint8Array, pos + 6)
        n = (v as Uint8Array).length
      }
  }
  writeHeader(buf, pos, 0, id, n + CHUNK_HEADER_LENGTH)
  return n
}

function writeRaw(r: RawChunk, buf: Buffer, pos: number): number {
  const len = CHUNK_HEADER_LENGTH + r.value.length
  writeHeader(buf, pos, r.vendor, r.type, len)
  buf.set(r.value, pos + CHUNK_HEADER_LENGTH)
  return len
}

/** The chunk of each field in canonical order (srcIp and dstIp once each). */
const CANONICAL_DEFS: readonly ChunkDef[] = CANONICAL_ORDER.map((id) => CHUNK_BY_ID[id]!).filter(
  (d, i, all) => all.findIndex((x) => x.slot === d.slot) === i,
)

function defOf(id: number): ChunkDef {
  const d = CHUNK_BY_ID[id]
  if (d === undefined)
    throw new HepError('HEP_ENCODE', `chunk list entry ${id}: not a known generic chunk id`)
  return d
}

/**
 * The chunks of a packet in wire order, each passed to `visit` (a field's def and value, or a raw
 * chunk): the chunk list first (a field once, at its first entry), then the fields set but absent from
 * the list (e.g. added by hand) in canonical order; without a list, the canonical order.
 */
function eachChunk(
  p: HepPacket,
  list: readonly ChunkRef[] | undefined,
  visit: (d: ChunkDef | RawChunk, v?: unknown) => void,
): void {
  let used = 0
  if (list !== undefined) {
    for (let i = 0; i < list.length; i++) {
      const e = list[i]
      if (typeof e !== 'number') {
        visit(e)
        continue
      }
      const d = defOf(e)
      const bit = 1 << d.slot
      const v = d.get(p)
      if ((used & bit) !== 0 || v === undefined) continue
      used |= bit
      visit(d, v)
    }
  }
  for (let i = 0; i < CANONICAL_DEFS.length; i++) {
    const d = CANONICAL_DEFS[i]
    if ((used & (1 << d.slot)) !== 0) continue
    const v = d.get(p)
    if (v !== undefined) visit(d, v)
  }
}

const isRaw = (x: ChunkDef | RawChunk): x is RawChunk => (x as RawChunk).value !== undefined

export function encodingLengthV3(p: HepPacket): number {
  return lengthOf(p, p.chunks)
}

function lengthOf(p: HepPacket, list: readonly ChunkRef[] | undefined): number {
  let total = HEP3_HEADER_LENGTH
  eachChunk(p, list, (x, v) => {
    if (isRaw(x)) {
      const n = x.value.length
      if (n + CHUNK_HEADER_LENGTH > HEP3_MAX_LENGTH) chunkTooLong(`chunk ${chunkIdHex(x.type)}`, n)
      total += n + CHUNK_HEADER_LENGTH
    } else total += valueSize(x, v) + CHUNK_HEADER_LENGTH
  })
  if (total > HEP3_MAX_LENGTH) packetTooLong(total)
  return total
}

function targetFor(target: Buffer | undefined, offset: number, total: number): Buffer {
  if (target === undefined) return Buffer.allocUnsafe(total)
  if (target.length - offset < total) {
    throw new HepError(
      'HEP_ENCODE',
      `target buffer has ${target.length - offset} bytes from offset ${offset}, packet needs ${total}`,
    )
  }
  return target
}

function writeMagic(buf: Buffer, offset: number, total: number): number {
  buf[offset] = 0x48
  buf[offset + 1] = 0x45
  buf[offset + 2] = 0x50
  buf[offset + 3] = 0x33
  buf[offset + 4] = total >> 8
  buf[offset + 5] = total & 0xff
  return offset + HEP3_HEADER_LENGTH
}

/** The typed encoder of every packet, in the order of `list` (the reference for the generated one). */
function encodeTyped(
  p: HepPacket,
  list: readonly ChunkRef[] | undefined,
  target: Buffer | undefined,
  offset: number,
): { buffer: Buffer; length: number } {
  const total = lengthOf(p, list)
  const buf = targetFor(target, offset, total)
  let pos = writeMagic(buf, target === undefined ? 0 : offset, total)
  eachChunk(p, list, (x, v) => {
    pos += isRaw(x) ? writeRaw(x, buf, pos) : writeValue(x, v, buf, pos) + CHUNK_HEADER_LENGTH
  })
  return { buffer: buf, length: total }
}

/** The typed canonical encoder: what encodeCanonicalGenerated must equal (test/hep/property.test.ts). */
export function encodeCanonicalTyped(
  p: HepPacket,
  target?: Buffer,
  offset = 0,
): { buffer: Buffer; length: number } {
  return encodeTyped(p, undefined, target, offset)
}

export function encodeV3(
  p: HepPacket,
  target?: Buffer,
  offset = 0,
  bits?: Ipv4Bits,
): { buffer: Buffer; length: number } {
  return p.chunks === undefined
    ? encodeCanonicalGenerated(p, target, offset, bits)
    : encodeTyped(p, p.chunks, target, offset)
}

export type { HepField }
