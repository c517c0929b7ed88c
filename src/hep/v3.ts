/** HEP v3: "HEP3" | total length u16 | chunks (vendor u16, type u16, length u16, value), big-endian. */
import { isUtf8 } from 'node:buffer'
import { DecodeError, HepError } from '../errors.js'
import { CANONICAL_ORDER, CHUNK_BY_ID, CHUNK_DEFS, chunkIdHex, type ChunkDef } from './chunks.js'
import { CHUNK, CHUNK_HEADER_LENGTH, HEP3_HEADER_LENGTH, HEP3_MAX_LENGTH } from './constants.js'
import { ipv4ToString, ipv6ToString, parseIPv6, writeIPv4 } from './ip.js'
import type { ChunkRef, HepField, HepPacket, RawChunk } from './packet.js'

type Fields = Record<string, unknown>

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

function macToString(buf: Buffer, off: number): string {
  let s = HEX[buf[off]]
  for (let i = 1; i < 8; i++) s += ':' + HEX[buf[off + i]]
  return s
}

/** "aa:bb:cc:dd:ee:ff" (6 bytes, zero-padded in front) or 8 bytes, separators ':' '-' or none. */
function writeMac(s: string, buf: Buffer, off: number): boolean {
  const hex = s.replace(/[:-]/g, '')
  if (!/^[0-9a-fA-F]+$/.test(hex) || (hex.length !== 16 && hex.length !== 12)) return false
  const full = hex.length === 12 ? '0000' + hex : hex
  for (let i = 0; i < 8; i++) buf[off + i] = parseInt(full.slice(2 * i, 2 * i + 2), 16)
  return true
}

/** Decodes the HEP3 packet at buf[offset..]; `end` bounds what may be read. Returns the packet. */
export function decodeV3(buf: Buffer, offset: number, end: number): HepPacket {
  if (end - offset < HEP3_HEADER_LENGTH) {
    throw new DecodeError('HEP_TRUNCATED', offset, 'HEP3 header', `${end - offset} bytes, a HEP3 header needs 6`)
  }
  if (buf[offset] !== 0x48 || buf[offset + 1] !== 0x45 || buf[offset + 2] !== 0x50 || buf[offset + 3] !== 0x33) {
    throw new DecodeError('HEP_BAD_MAGIC', offset, 'magic', `expected "HEP3" (48455033), got ${buf.toString('hex', offset, offset + 4)}`)
  }
  const total = (buf[offset + 4] << 8) | buf[offset + 5]
  if (total < HEP3_HEADER_LENGTH) {
    throw new DecodeError('HEP_BAD_LENGTH', offset + 4, 'total length', `${total} is less than the 6-byte header`)
  }
  if (total > end - offset) {
    throw new DecodeError('HEP_TRUNCATED', offset + 4, 'total length', `packet says ${total} bytes, only ${end - offset} present`)
  }
  const p: HepPacket = { version: 3 }
  const f = p as unknown as Fields
  const order: ChunkRef[] = []
  const stop = offset + total
  let pos = offset + HEP3_HEADER_LENGTH
  while (pos < stop) {
    if (stop - pos < CHUNK_HEADER_LENGTH) {
      throw new DecodeError('HEP_CHUNK_LENGTH', pos - offset, 'chunk header', `${stop - pos} bytes left before the total length, a chunk header needs 6`)
    }
    const vendor = (buf[pos] << 8) | buf[pos + 1]
    const type = (buf[pos + 2] << 8) | buf[pos + 3]
    const len = (buf[pos + 4] << 8) | buf[pos + 5]
    if (len < CHUNK_HEADER_LENGTH) {
      throw new DecodeError('HEP_CHUNK_LENGTH', pos + 4 - offset, `chunk ${chunkIdHex(type)} length`, `${len} is less than the 6-byte chunk header`)
    }
    if (pos + len > stop) {
      throw new DecodeError('HEP_CHUNK_LENGTH', pos + 4 - offset, `chunk ${chunkIdHex(type)} length`, `${len} runs past the total length ${total}`)
    }
    const v = pos + CHUNK_HEADER_LENGTH
    const vlen = len - CHUNK_HEADER_LENGTH
    const d = vendor === 0 ? CHUNK_BY_ID[type] : undefined
    if (d !== undefined && d.width !== 0 && vlen !== d.width) {
      throw new DecodeError('HEP_CHUNK_WIDTH', pos - offset, `chunk ${chunkIdHex(type)} ${d.field}`, `length ${len}, expected ${d.width + 6}`)
    }
    if (d !== undefined && f[d.field] === undefined) {
      let kept = true
      switch (d.kind) {
        case 'u8':
          f[d.field] = buf[v]
          break
        case 'u16':
          f[d.field] = (buf[v] << 8) | buf[v + 1]
          break
        case 'u32':
          f[d.field] = buf.readUInt32BE(v)
          break
        case 'u64':
          f[d.field] = macToString(buf, v)
          break
        case 'inet4':
          f[d.field] = ipv4ToString(buf, v)
          break
        case 'inet6':
          f[d.field] = ipv6ToString(buf, v)
          break
        case 'text': {
          const sub = buf.subarray(v, v + vlen)
          if (isUtf8(sub)) f[d.field] = sub.toString('utf8')
          else kept = false
          break
        }
        case 'bytes':
          f[d.field] = buf.subarray(v, v + vlen)
          break
      }
      order.push(kept ? type : { vendor, type, value: buf.subarray(v, v + vlen) })
    } else {
      order.push({ vendor, type, value: buf.subarray(v, v + vlen) })
    }
    pos += len
  }
  p.chunks = order
  return p
}

// ---------------------------------------------------------------- encode

const FIELD_SLOT: Readonly<Record<string, number>> = (() => {
  const m: Record<string, number> = {}
  let n = 0
  for (const d of CHUNK_DEFS) if (m[d.field] === undefined) m[d.field] = n++
  return m
})()
const used = new Uint8Array(64)

/** The def that carries `id` for this packet: the address chunks follow the address's family. */
function defFor(id: number, p: HepPacket): ChunkDef | undefined {
  if (id === CHUNK.SRC_IP4 || id === CHUNK.SRC_IP6) {
    return CHUNK_BY_ID[p.srcIp !== undefined && p.srcIp.includes(':') ? CHUNK.SRC_IP6 : CHUNK.SRC_IP4]
  }
  if (id === CHUNK.DST_IP4 || id === CHUNK.DST_IP6) {
    return CHUNK_BY_ID[p.dstIp !== undefined && p.dstIp.includes(':') ? CHUNK.DST_IP6 : CHUNK.DST_IP4]
  }
  return CHUNK_BY_ID[id]
}

/** What will be written, in order: defs (value from the field) and raw chunks. */
function plan(p: HepPacket): (ChunkDef | RawChunk)[] {
  const f = p as unknown as Fields
  const out: (ChunkDef | RawChunk)[] = []
  const list = p.chunks
  if (list === undefined) {
    for (let i = 0; i < CANONICAL_ORDER.length; i++) {
      const d = defFor(CANONICAL_ORDER[i], p)
      if (d !== undefined && f[d.field] !== undefined) out.push(d)
    }
    return out
  }
  used.fill(0)
  for (let i = 0; i < list.length; i++) {
    const e = list[i]
    if (typeof e === 'number') {
      const d = defFor(e, p)
      if (d === undefined) throw new HepError('HEP_ENCODE', `chunk list entry ${e}: not a known generic chunk id`)
      const slot = FIELD_SLOT[d.field]
      if (used[slot] === 0 && f[d.field] !== undefined) {
        used[slot] = 1
        out.push(d)
      }
    } else out.push(e)
  }
  // fields set but absent from the list (e.g. added by hand) go last, in canonical order
  for (let i = 0; i < CANONICAL_ORDER.length; i++) {
    const d = defFor(CANONICAL_ORDER[i], p)
    if (d !== undefined && used[FIELD_SLOT[d.field]] === 0 && f[d.field] !== undefined) {
      used[FIELD_SLOT[d.field]] = 1
      out.push(d)
    }
  }
  return out
}

function valueLength(d: ChunkDef | RawChunk, f: Fields): number {
  if (!('kind' in d)) return d.value.length
  if (d.width !== 0) return d.width
  const v = f[d.field]
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8')
  if (v instanceof Uint8Array) return v.length
  throw new HepError('HEP_ENCODE', `${d.field}: expected ${d.kind === 'text' ? 'text' : 'bytes'}, got ${typeof v}`)
}

function lengthOf(items: (ChunkDef | RawChunk)[], f: Fields): number {
  let total = HEP3_HEADER_LENGTH
  for (let i = 0; i < items.length; i++) {
    const len = CHUNK_HEADER_LENGTH + valueLength(items[i], f)
    if (len > HEP3_MAX_LENGTH) {
      const it = items[i]
      const name = 'kind' in it ? it.field : `chunk ${chunkIdHex(it.type)}`
      throw new HepError('HEP_TOO_LONG', `${name}: ${len - 6} bytes do not fit in a HEP3 chunk (at most 65529)`)
    }
    total += len
  }
  if (total > HEP3_MAX_LENGTH) {
    throw new HepError('HEP_TOO_LONG', `HEP3 packet would be ${total} bytes; the format allows at most 65535`)
  }
  return total
}

export function encodingLengthV3(p: HepPacket): number {
  return lengthOf(plan(p), p as unknown as Fields)
}

function intOf(f: Fields, d: ChunkDef, max: number): number {
  const v = f[d.field]
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new HepError('HEP_ENCODE', `${d.field}: ${JSON.stringify(v)} is not an integer from 0 to ${max}`)
  }
  return v
}

export function encodeV3(p: HepPacket, target?: Buffer, offset = 0): { buffer: Buffer; length: number } {
  const f = p as unknown as Fields
  const items = plan(p)
  const total = lengthOf(items, f)
  let buf: Buffer
  if (target === undefined) {
    buf = Buffer.allocUnsafe(total)
    offset = 0
  } else {
    if (target.length - offset < total) {
      throw new HepError('HEP_ENCODE', `target buffer has ${target.length - offset} bytes from offset ${offset}, packet needs ${total}`)
    }
    buf = target
  }
  buf[offset] = 0x48
  buf[offset + 1] = 0x45
  buf[offset + 2] = 0x50
  buf[offset + 3] = 0x33
  buf[offset + 4] = total >> 8
  buf[offset + 5] = total & 0xff
  let pos = offset + HEP3_HEADER_LENGTH
  for (let i = 0; i < items.length; i++) {
    const it = items[i]
    if (!('kind' in it)) {
      const len = CHUNK_HEADER_LENGTH + it.value.length
      buf.writeUInt16BE(it.vendor, pos)
      buf.writeUInt16BE(it.type, pos + 2)
      buf.writeUInt16BE(len, pos + 4)
      buf.set(it.value, pos + 6)
      pos += len
      continue
    }
    const v = pos + CHUNK_HEADER_LENGTH
    let vlen = it.width
    switch (it.kind) {
      case 'u8':
        buf[v] = intOf(f, it, 0xff)
        break
      case 'u16':
        buf.writeUInt16BE(intOf(f, it, 0xffff), v)
        break
      case 'u32':
        buf.writeUInt32BE(intOf(f, it, 0xffffffff), v)
        break
      case 'u64':
        if (!writeMac(String(f[it.field]), buf, v)) {
          throw new HepError('HEP_ENCODE', `${it.field}: ${JSON.stringify(f[it.field])} is not a MAC (6 or 8 hex bytes)`)
        }
        break
      case 'inet4':
        if (!writeIPv4(String(f[it.field]), buf, v)) {
          throw new HepError('HEP_ENCODE', `${it.field}: ${JSON.stringify(f[it.field])} is not an IPv4 address`)
        }
        break
      case 'inet6': {
        const a = parseIPv6(String(f[it.field]))
        if (a === undefined) {
          throw new HepError('HEP_ENCODE', `${it.field}: ${JSON.stringify(f[it.field])} is not an IPv6 address`)
        }
        buf.set(a, v)
        break
      }
      case 'text':
      case 'bytes': {
        const val = f[it.field]
        if (typeof val === 'string') vlen = buf.write(val, v, 'utf8')
        else {
          buf.set(val as Uint8Array, v)
          vlen = (val as Uint8Array).length
        }
        break
      }
    }
    buf[pos] = 0
    buf[pos + 1] = 0
    buf[pos + 2] = it.id >> 8
    buf[pos + 3] = it.id & 0xff
    buf.writeUInt16BE(vlen + CHUNK_HEADER_LENGTH, pos + 4)
    pos += vlen + CHUNK_HEADER_LENGTH
  }
  return { buffer: buf, length: total }
}

export type { HepField }
