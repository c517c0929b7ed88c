/**
 * What the JSON form's two writers share (toJson in json.ts, the byte writer in json-bytes.ts): the
 * order of the scalar fields, the ISO time text and number text.
 */
import { CHUNK_DEFS, type ChunkDef } from './chunks.js'

/** The date part of the last second formatted, for a run of packets within one second. */
export interface IsoCache {
  second: number
  prefix: string
}

/** "2026-11-23T12:39:48.160021Z" from seconds + microseconds; `cache` saves the date part per second. */
export function isoTime(seconds: number, useconds = 0, cache?: IsoCache): string {
  const carry = Math.floor(useconds / 1e6)
  const sec = seconds + carry
  let prefix: string
  if (cache !== undefined && cache.second === sec) prefix = cache.prefix
  else {
    const d = new Date(sec * 1000)
    if (Number.isNaN(d.getTime())) return ''
    prefix = d.toISOString().slice(0, 19) + '.'
    if (cache !== undefined) {
      cache.second = sec
      cache.prefix = prefix
    }
  }
  const us = useconds - carry * 1e6
  return prefix + String(us).padStart(6, '0') + 'Z'
}

export const numText = (v: number): string => (Number.isFinite(v) ? String(v) : 'null')

/** The fields the JSON form starts with (after version and time), as hep-js and Homer list them. */
const LEADING: readonly string[] = [
  'protocolFamily',
  'protocol',
  'srcIp',
  'srcPort',
  'dstIp',
  'dstPort',
  'timeSeconds',
  'timeUseconds',
  'payloadType',
  'captureId',
]
/** carried as bytes (base64 or text), after the scalars */
const OCTETS: readonly string[] = ['payload', 'compressedPayload']

/** The scalar fields of the JSON form in order: the leading ones, then the rest by chunk id. */
export const SCALAR_ORDER: readonly string[] = [
  ...LEADING,
  ...CHUNK_DEFS.map((d) => d.field).filter(
    (f, i, all) => all.indexOf(f) === i && !LEADING.includes(f) && !OCTETS.includes(f),
  ),
]

/** The chunk definition of each scalar field, in SCALAR_ORDER (its accessor reads the field). */
export const SCALAR_DEFS: readonly ChunkDef[] = SCALAR_ORDER.map((f) =>
  CHUNK_DEFS.find((d) => d.field === f)!,
)
