/**
 * The JSON form of a packet: one schema everywhere (decode --json, listen --json, send, convert).
 * Well-known values are flat, named as hep-js/Homer name them; `time` is an ISO timestamp with µs;
 * `payload` is text when it is valid UTF-8, else base64 with `payloadEncoding: "base64"`;
 * `chunks` lists the v3 wire order (numbers: generic chunk ids whose value is the named field;
 * objects {vendor, type, hex}: chunks carried as bytes) so that JSON -> HEP gives back the same bytes.
 */
import { isUtf8 } from 'node:buffer'
import { HepError } from '../errors.js'
import { CHUNK_DEFS } from './chunks.js'
import { isoTime, SCALAR_ORDER } from './json-fields.js'
import { msToMicros } from './time.js'
import type { ChunkRef, HepPacket } from './packet.js'

export interface HepJsonChunk {
  vendor: number
  type: number
  hex: string
}

/** The JSON object (keys in this order). */
export interface HepJson {
  version: 1 | 2 | 3
  time?: string
  protocolFamily?: number
  protocol?: number
  srcIp?: string
  srcPort?: number
  dstIp?: string
  dstPort?: number
  timeSeconds?: number
  timeUseconds?: number
  payloadType?: number
  captureId?: number
  [field: string]: unknown
  payload?: string
  payloadEncoding?: 'base64'
  compressedPayload?: string
  chunks?: (number | HepJsonChunk)[]
  hdrLen?: number
  v2Padding?: number
}

export { isoTime } from './json-fields.js'

/** Parses an ISO 8601 time (with up to 9 fraction digits) into seconds + microseconds. */
export function parseIsoTime(s: string): { seconds: number; useconds: number } | undefined {
  const m = /^(.*?T\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/.exec(s.trim())
  if (!m) {
    const ms = Date.parse(s)
    return Number.isNaN(ms) ? undefined : msToMicros(ms)
  }
  const ms = Date.parse(m[1] + (m[3] ?? 'Z'))
  if (Number.isNaN(ms)) return undefined
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6)
  return { seconds: Math.floor(ms / 1000), useconds: Number(frac) }
}

/** The JSON form of a packet (a plain object, ready for JSON.stringify). */
export function toJson(p: HepPacket): HepJson {
  const o: HepJson = { version: p.version }
  if (p.timeSeconds !== undefined) o.time = isoTime(p.timeSeconds, p.timeUseconds ?? 0)
  const f = p as unknown as Record<string, unknown>
  for (let i = 0; i < SCALAR_ORDER.length; i++) {
    const k = SCALAR_ORDER[i]
    const v = f[k]
    if (v !== undefined) o[k] = v
  }
  if (p.payload !== undefined) {
    if (isUtf8(p.payload)) o.payload = p.payload.toString('utf8')
    else {
      o.payload = p.payload.toString('base64')
      o.payloadEncoding = 'base64'
    }
  }
  if (p.compressedPayload !== undefined) o.compressedPayload = p.compressedPayload.toString('base64')
  if (p.chunks !== undefined) {
    o.chunks = p.chunks.map((c) =>
      typeof c === 'number' ? c : { vendor: c.vendor, type: c.type, hex: c.value.toString('hex') },
    )
  }
  if (p.hdrLen !== undefined) o.hdrLen = p.hdrLen
  if (p.v2Padding !== undefined) o.v2Padding = p.v2Padding
  return o
}

export { toJsonLine } from './json-bytes.js'

// ---------------------------------------------------------------- from JSON

const NUMBER_FIELDS = new Set<string>(
  CHUNK_DEFS.filter((d) => d.kind === 'u8' || d.kind === 'u16' || d.kind === 'u32').map((d) => d.field),
)
const TEXT_FIELDS = new Set<string>(
  CHUNK_DEFS.filter((d) => d.kind === 'text' || d.kind === 'u64' || d.kind.startsWith('inet')).map(
    (d) => d.field,
  ),
)

/** Names other tools use (hep-js rcinfo, Homer) for our fields. */
const ALIASES: Record<string, string> = {
  capturePass: 'authKey',
  correlation_id: 'correlationId',
  hepNodeName: 'nodeName',
  transaction_type: 'transactionType',
  proto_type: 'payloadType',
  ipFamily: 'protocolFamily',
  ipProtocol: 'protocol',
  captureNodeName: 'nodeName',
}

function bad(field: string, why: string): never {
  throw new HepError('HEP_JSON', `${field}: ${why}`)
}

function num(field: string, v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v)
  return bad(field, `expected a number, got ${JSON.stringify(v)}`)
}

function bytesOf(field: string, v: unknown, encoding: unknown): Buffer {
  if (typeof v !== 'string') {
    if (
      v &&
      typeof v === 'object' &&
      (v as { type?: unknown }).type === 'Buffer' &&
      Array.isArray((v as { data?: unknown }).data)
    ) {
      return Buffer.from((v as { data: number[] }).data) // a Buffer's own toJSON
    }
    return bad(field, `expected a string, got ${JSON.stringify(v)}`)
  }
  if (encoding === undefined || encoding === 'utf8' || encoding === 'text') return Buffer.from(v, 'utf8')
  if (encoding === 'base64') return Buffer.from(v, 'base64')
  if (encoding === 'hex') {
    if (!/^([0-9a-fA-F]{2})*$/.test(v)) bad(field, 'not hex')
    return Buffer.from(v, 'hex')
  }
  return bad(`${field}Encoding`, `${JSON.stringify(encoding)} is not utf8, base64 or hex`)
}

function chunkOf(i: number, c: unknown): ChunkRef {
  if (typeof c === 'number') {
    if (!Number.isInteger(c) || c < 0 || c > 0xffff) bad(`chunks[${i}]`, `${c} is not a chunk id`)
    return c
  }
  if (c && typeof c === 'object') {
    const o = c as Record<string, unknown>
    const vendor = num(`chunks[${i}].vendor`, o.vendor)
    const type = num(`chunks[${i}].type`, o.type)
    if (vendor > 0xffff || type > 0xffff) bad(`chunks[${i}]`, 'vendor and type are 16-bit')
    let value: Buffer
    if (typeof o.hex === 'string') value = bytesOf(`chunks[${i}].hex`, o.hex, 'hex')
    else if (typeof o.base64 === 'string') value = Buffer.from(o.base64, 'base64')
    else if (typeof o.text === 'string') value = Buffer.from(o.text, 'utf8')
    else return bad(`chunks[${i}]`, 'needs hex, base64 or text')
    return { vendor, type, value }
  }
  return bad(`chunks[${i}]`, `expected a chunk id or {vendor, type, hex}, got ${JSON.stringify(c)}`)
}

/**
 * A packet from its JSON form — ours, hand-written with only the common fields, or hep-js's
 * `{rcinfo, payload}`. Unknown keys are ignored. Throws HepError('HEP_JSON') naming the field.
 */
export function fromJson(input: unknown): HepPacket {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return bad(
      'packet',
      `expected a JSON object, got ${Array.isArray(input) ? 'an array' : JSON.stringify(input)}`,
    )
  }
  let src = input as Record<string, unknown>
  if (src.rcinfo && typeof src.rcinfo === 'object') {
    src = { ...(src.rcinfo as Record<string, unknown>), payload: src.payload, version: src.version }
  }
  const versionRaw = src.version ?? 3
  const version = num('version', versionRaw)
  if (version !== 1 && version !== 2 && version !== 3) bad('version', `${version} is not 1, 2 or 3`)
  const p: HepPacket = { version }
  const f = p as unknown as Record<string, unknown>
  for (const key of Object.keys(src)) {
    const v = src[key]
    if (v === undefined || v === null) continue
    const name = ALIASES[key] ?? key
    if (NUMBER_FIELDS.has(name)) f[name] = num(key, v)
    else if (TEXT_FIELDS.has(name)) {
      if (typeof v !== 'string') bad(key, `expected a string, got ${JSON.stringify(v)}`)
      f[name] = v
    }
  }
  if (src.payload !== undefined && src.payload !== null)
    p.payload = bytesOf('payload', src.payload, src.payloadEncoding)
  if (typeof src.compressedPayload === 'string')
    p.compressedPayload = bytesOf('compressedPayload', src.compressedPayload, 'base64')
  if (p.timeSeconds === undefined && typeof src.time === 'string') {
    const t = parseIsoTime(src.time)
    if (!t) bad('time', `${JSON.stringify(src.time)} is not an ISO 8601 time`)
    p.timeSeconds = t.seconds
    p.timeUseconds = t.useconds
  }
  if (src.chunks !== undefined) {
    if (!Array.isArray(src.chunks)) bad('chunks', 'expected an array')
    p.chunks = src.chunks.map((c, i) => chunkOf(i, c))
  }
  if (src.hdrLen !== undefined) p.hdrLen = num('hdrLen', src.hdrLen)
  if (src.v2Padding !== undefined) p.v2Padding = num('v2Padding', src.v2Padding)
  return p
}

/** Parses one JSON line into a packet; errors say what is wrong (position is the caller's). */
export function fromJsonLine(line: string): HepPacket {
  let obj: unknown
  try {
    obj = JSON.parse(line)
  } catch (e) {
    throw new HepError('HEP_JSON', `not JSON: ${(e as Error).message}`)
  }
  return fromJson(obj)
}
