/** HEP v3: "HEP3" | total length u16 | chunks (vendor u16, type u16, length u16, value), big-endian. */
import { isUtf8 } from 'node:buffer'
import { DecodeError, HepError } from '../errors.js'
import { CANONICAL_ORDER, CHUNK_BY_ID, CHUNK_DEFS, chunkIdHex, type ChunkDef } from './chunks.js'
import { CHUNK_HEADER_LENGTH, HEP3_HEADER_LENGTH, HEP3_MAX_LENGTH } from './constants.js'
import { ipv4ToString, ipv6ToString, parseIPv6Text as parseIPv6, writeIPv4 } from './ip.js'
import type { ChunkRef, HepField, HepPacket, RawChunk } from './packet.js'

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

const IPV4_CACHE = new Map<number, string>()
/** Dotted IPv4 text; a sender's few addresses are formatted once (the cache is bounded). */
function ipv4Cached(buf: Buffer, off: number): string {
  const key = ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0
  let s = IPV4_CACHE.get(key)
  if (s === undefined) {
    if (IPV4_CACHE.size >= 4096) IPV4_CACHE.clear()
    s = ipv4ToString(buf, off)
    IPV4_CACHE.set(key, s)
  }
  return s
}

function badWidth(pos: number, type: number, len: number): never {
  const d = CHUNK_BY_ID[type] as ChunkDef
  throw new DecodeError(
    'HEP_CHUNK_WIDTH',
    pos,
    `chunk ${chunkIdHex(type)} ${d.field}`,
    `length ${len}, expected ${d.width + 6}`,
  )
}

type StoreGeneric = (
  p: HepPacket,
  order: ChunkRef[],
  buf: Buffer,
  type: number,
  v: number,
  vlen: number,
  pos: number,
) => void

/**
 * Stores one generic (vendor 0) chunk's value in its field and notes its id in `order`; a chunk kept
 * as bytes (unknown id, a field already set, text that is not UTF-8) goes into `order` whole.
 * Generated from the chunk table: one case per id with a static property store, so decoding stays
 * monomorphic (a keyed store `p[field]` is a megamorphic lookup on every chunk).
 */
const storeGeneric: StoreGeneric = (() => {
  const value: Record<ChunkDef['kind'], string> = {
    u8: 'buf[v]',
    u16: '(buf[v]<<8)|buf[v+1]',
    u32: '((buf[v]<<24)>>>0)+((buf[v+1]<<16)|(buf[v+2]<<8)|buf[v+3])',
    u64: 'h.mac(buf,v)',
    inet4: 'h.ipv4(buf,v)',
    inet6: 'h.ipv6(buf,v)',
    text: '',
    bytes: 'buf.subarray(v,v+vlen)',
  }
  const raw = 'order.push({vendor:0,type,value:buf.subarray(v,v+vlen)});'
  const cases = CHUNK_DEFS.map((d) => {
    const check = d.width !== 0 ? `if(vlen!==${d.width})h.badWidth(pos,type,vlen+6);` : ''
    const store =
      d.kind === 'text'
        ? `{const sub=buf.subarray(v,v+vlen);if(h.isUtf8(sub)){p.${d.field}=sub.toString('utf8');order.push(type)}else order.push({vendor:0,type,value:sub})}`
        : `{p.${d.field}=${value[d.kind]};order.push(type)}`
    return `case ${d.id}:${check}if(p.${d.field}===undefined)${store}else ${raw}return;`
  }).join('')
  const body = `switch(type){${cases}default:${raw}}`
  const fn = new Function('h', `return function(p,order,buf,type,v,vlen,pos){${body}}`) as (
    h: unknown,
  ) => StoreGeneric
  return fn({ mac: macToString, ipv4: ipv4Cached, ipv6: ipv6ToString, isUtf8, badWidth })
})()

/** Decodes the HEP3 packet at buf[offset..]; `end` bounds what may be read. Returns the packet. */
export function decodeV3(buf: Buffer, offset: number, end: number): HepPacket {
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
    if (vendor === 0) storeGeneric(p, order, buf, type, v, len - CHUNK_HEADER_LENGTH, pos)
    else order.push({ vendor, type, value: buf.subarray(v, pos + len) })
    pos += len
  }
  p.chunks = order
  return p
}

// ---------------------------------------------------------------- encode
//
// The encoder is generated from the chunk table: one small function per field with a static property
// access (a loop over `p[field]` would make every read a megamorphic keyed load), so the table still
// drives everything and the hot path stays monomorphic.

interface FieldCodec {
  field: string
  slot: number
  sizeSrc: string
  writeSrc: string
  /** value length in bytes, or -1 when the packet does not carry the field */
  size: (p: HepPacket) => number
  /** writes the whole chunk (header + value) at pos; returns the value length */
  write: (p: HepPacket, buf: Buffer, pos: number) => number
}

function fail(field: string, v: unknown, what: string): never {
  throw new HepError('HEP_ENCODE', `${field}: ${JSON.stringify(v)} is not ${what}`)
}

const helpers = {
  writeIPv4,
  parseIPv6,
  writeMac,
  fail,
  Buffer,
  last: 0,
  tooLong(field: string | null, n: number): never {
    if (field === null)
      throw new HepError('HEP_TOO_LONG', `HEP3 packet would be ${n} bytes; the format allows at most 65535`)
    throw new HepError('HEP_TOO_LONG', `${field}: ${n} bytes do not fit in a HEP3 chunk (at most 65529)`)
  },
  small(have: number, offset: number, need: number): never {
    throw new HepError(
      'HEP_ENCODE',
      `target buffer has ${have} bytes from offset ${offset}, packet needs ${need}`,
    )
  },
}

const header = (id: string | number, len: string) =>
  `buf[pos]=0;buf[pos+1]=0;buf[pos+2]=(${id})>>8;buf[pos+3]=(${id})&255;buf[pos+4]=(${len})>>8;buf[pos+5]=(${len})&255;`

function genCodec(field: string, defs: ChunkDef[], slot: number): FieldCodec {
  const d = defs[0]
  const F = JSON.stringify(field)
  let size: string
  let write: string
  const intWrite = (max: number, store: string) =>
    `const v=p.${field};if(typeof v!=='number'||!(v>=0&&v<=${max})||Math.floor(v)!==v)h.fail(${F},v,'an integer from 0 to ${max}');${store}${header(d.id, String(d.width + 6))}return ${d.width};`
  switch (d.kind) {
    case 'u8':
      size = `return p.${field}===undefined?-1:1;`
      write = intWrite(0xff, 'buf[pos+6]=v;')
      break
    case 'u16':
      size = `return p.${field}===undefined?-1:2;`
      write = intWrite(0xffff, 'buf[pos+6]=v>>8;buf[pos+7]=v&255;')
      break
    case 'u32':
      size = `return p.${field}===undefined?-1:4;`
      write = intWrite(0xffffffff, 'buf.writeUInt32BE(v,pos+6);')
      break
    case 'u64':
      size = `return p.${field}===undefined?-1:8;`
      write = `const v=p.${field};if(!h.writeMac(String(v),buf,pos+6))h.fail(${F},v,'a MAC (6 or 8 hex bytes)');${header(d.id, '14')}return 8;`
      break
    case 'inet4':
    case 'inet6': {
      // srcIp/dstIp: chunk 3/4 for IPv4 text, 5/6 for IPv6 text
      const id4 = defs.find((x) => x.kind === 'inet4')!.id
      const id6 = defs.find((x) => x.kind === 'inet6')!.id
      size = `const v=p.${field};if(v===undefined)return -1;if(typeof v!=='string')h.fail(${F},v,'an IP address');return v.includes(':')?16:4;`
      write =
        `const v=p.${field};if(v.includes(':')){const a=h.parseIPv6(v);if(a===undefined)h.fail(${F},v,'an IPv6 address');` +
        `buf.set(a,pos+6);${header(id6, '22')}return 16;}` +
        `if(!h.writeIPv4(v,buf,pos+6))h.fail(${F},v,'an IPv4 address');${header(id4, '10')}return 4;`
      break
    }
    default:
      size =
        `const v=p.${field};if(v===undefined)return -1;if(typeof v==='string')return h.Buffer.byteLength(v,'utf8');` +
        `if(v instanceof Uint8Array)return v.length;h.fail(${F},v,'${d.kind === 'text' ? 'text' : 'bytes'}');`
      write =
        `const v=p.${field};let n;if(typeof v==='string')n=buf.write(v,pos+6,'utf8');else{buf.set(v,pos+6);n=v.length;}` +
        `${header(d.id, 'n+6')}return n;`
  }
  return {
    field,
    slot,
    sizeSrc: size,
    writeSrc: write,
    size: new Function('h', `return function size_${field}(p){${size}}`)(helpers),
    write: new Function('h', `return function write_${field}(p,buf,pos){${write}}`)(helpers),
  }
}

/** One codec per field, and the lookup from chunk id to the codec of its field. */
const CODECS: FieldCodec[] = []
const CODEC_BY_ID: (FieldCodec | undefined)[] = []
{
  const byField = new Map<string, ChunkDef[]>()
  for (const d of CHUNK_DEFS) byField.set(d.field, [...(byField.get(d.field) ?? []), d])
  for (const [field, defs] of byField) {
    const c = genCodec(field, defs, CODECS.length)
    CODECS.push(c)
    for (const d of defs) CODEC_BY_ID[d.id] = c
  }
}
const CANONICAL_CODECS: FieldCodec[] = CANONICAL_ORDER.map((id) => CODEC_BY_ID[id]!).filter(
  (c, i, all) => all.indexOf(c) === i,
)

/**
 * The encoder for packets without a chunk list (every packet a sender builds): one generated function
 * with a direct call per field, so each call site is monomorphic and inlined.
 */
const encodeCanonical: (p: HepPacket, target: Buffer | undefined, offset: number) => Buffer = (() => {
  const fns = CANONICAL_CODECS.map(
    (c, i) => `function s${i}(p){${c.sizeSrc}}\nfunction w${i}(p,buf,pos){${c.writeSrc}}`,
  ).join('\n')
  const body: string[] = ['let t=6;']
  CANONICAL_CODECS.forEach((c, i) => {
    body.push(
      `const n${i}=s${i}(p);if(n${i}>=0){t+=n${i}+6;if(n${i}>65529)h.tooLong(${JSON.stringify(c.field)},n${i});}`,
    )
  })
  body.push('if(t>65535)h.tooLong(null,t);')
  body.push(
    'let buf=target;if(buf===undefined){buf=h.Buffer.allocUnsafe(t);offset=0;}else if(buf.length-offset<t)h.small(buf.length-offset,offset,t);',
  )
  body.push(
    'buf[offset]=0x48;buf[offset+1]=0x45;buf[offset+2]=0x50;buf[offset+3]=0x33;buf[offset+4]=t>>8;buf[offset+5]=t&255;',
  )
  body.push('let pos=offset+6;')
  CANONICAL_CODECS.forEach((_c, i) => body.push(`if(n${i}>=0)pos+=w${i}(p,buf,pos)+6;`))
  body.push('h.last=t;return buf;')
  return new Function('h', `${fns}\nreturn function encodeCanonical(p,target,offset){${body.join('\n')}}`)(
    helpers,
  )
})()

type Item = FieldCodec | RawChunk
// scratch state of one encode (encoding is synchronous, so one set serves every call)
const items: Item[] = []
const sizes: number[] = []
const used = new Uint8Array(CODECS.length)

function isCodec(it: Item): it is FieldCodec {
  return (it as FieldCodec).write !== undefined
}

/** Fills `items`/`sizes` with what will be written, in order; returns the total length. */
function plan(p: HepPacket): number {
  items.length = 0
  sizes.length = 0
  let total = HEP3_HEADER_LENGTH
  const list = p.chunks
  if (list === undefined) {
    for (let i = 0; i < CANONICAL_CODECS.length; i++) {
      const c = CANONICAL_CODECS[i]
      const n = c.size(p)
      if (n >= 0) {
        items.push(c)
        sizes.push(n)
        total += n + CHUNK_HEADER_LENGTH
      }
    }
  } else {
    used.fill(0)
    for (let i = 0; i < list.length; i++) {
      const e = list[i]
      if (typeof e === 'number') {
        const c = CODEC_BY_ID[e]
        if (c === undefined)
          throw new HepError('HEP_ENCODE', `chunk list entry ${e}: not a known generic chunk id`)
        if (used[c.slot] !== 0) continue
        const n = c.size(p)
        if (n < 0) continue
        used[c.slot] = 1
        items.push(c)
        sizes.push(n)
        total += n + CHUNK_HEADER_LENGTH
      } else {
        items.push(e)
        sizes.push(e.value.length)
        total += e.value.length + CHUNK_HEADER_LENGTH
      }
    }
    // fields set but absent from the list (e.g. added by hand) go last, in canonical order
    for (let i = 0; i < CANONICAL_CODECS.length; i++) {
      const c = CANONICAL_CODECS[i]
      if (used[c.slot] !== 0) continue
      const n = c.size(p)
      if (n < 0) continue
      items.push(c)
      sizes.push(n)
      total += n + CHUNK_HEADER_LENGTH
    }
  }
  for (let i = 0; i < sizes.length; i++) {
    if (sizes[i] + CHUNK_HEADER_LENGTH > HEP3_MAX_LENGTH) {
      const it = items[i]
      const name = isCodec(it) ? it.field : `chunk ${chunkIdHex(it.type)}`
      throw new HepError(
        'HEP_TOO_LONG',
        `${name}: ${sizes[i]} bytes do not fit in a HEP3 chunk (at most 65529)`,
      )
    }
  }
  if (total > HEP3_MAX_LENGTH) {
    throw new HepError('HEP_TOO_LONG', `HEP3 packet would be ${total} bytes; the format allows at most 65535`)
  }
  return total
}

export function encodingLengthV3(p: HepPacket): number {
  return plan(p)
}

export function encodeV3(p: HepPacket, target?: Buffer, offset = 0): { buffer: Buffer; length: number } {
  if (p.chunks === undefined) {
    const buffer = encodeCanonical(p, target, offset)
    return { buffer, length: helpers.last }
  }
  const total = plan(p)
  let buf: Buffer
  if (target === undefined) {
    buf = Buffer.allocUnsafe(total)
    offset = 0
  } else {
    if (target.length - offset < total) {
      throw new HepError(
        'HEP_ENCODE',
        `target buffer has ${target.length - offset} bytes from offset ${offset}, packet needs ${total}`,
      )
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
    if (isCodec(it)) {
      pos += it.write(p, buf, pos) + CHUNK_HEADER_LENGTH
    } else {
      const len = CHUNK_HEADER_LENGTH + it.value.length
      buf.writeUInt16BE(it.vendor, pos)
      buf.writeUInt16BE(it.type, pos + 2)
      buf.writeUInt16BE(len, pos + 4)
      buf.set(it.value, pos + 6)
      pos += len
    }
  }
  return { buffer: buf, length: total }
}

export type { HepField }
