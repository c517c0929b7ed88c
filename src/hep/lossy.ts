/**
 * What re-encoding a packet as HEP v1 or v2 loses. v1 carries the header fields (address family, IP
 * protocol, ports, addresses) and the payload; v2 adds the capture time and a 16-bit capture id.
 * Neither has a payload type (a v1/v2 packet reads back as SIP), nor any other chunk.
 */
import { CHUNK_DEFS } from './chunks.js'
import { PAYLOAD_TYPES, VENDORS } from './constants.js'
import type { HepField, HepPacket } from './packet.js'

export interface EncodingLoss {
  /** the same for every packet that loses the same thing (warn once per kind) */
  kind: string
  /** in words: "HEPv2 cannot carry authKey (chunk 0x000e): left out" */
  message: string
}

/** Fields each version has room for (payloadType is checked on its own: v1/v2 imply SIP). */
const CARRIED: Record<1 | 2, ReadonlySet<HepField>> = {
  1: new Set<HepField>(['protocolFamily', 'protocol', 'srcIp', 'dstIp', 'srcPort', 'dstPort', 'payload']),
  2: new Set<HepField>([
    'protocolFamily',
    'protocol',
    'srcIp',
    'dstIp',
    'srcPort',
    'dstPort',
    'payload',
    'timeSeconds',
    'timeUseconds',
    'captureId',
  ]),
}

/** Every field that has a chunk, once, with its chunk id(s) for messages. */
const FIELDS: { field: HepField; ids: string }[] = (() => {
  const ids = new Map<HepField, number[]>()
  for (const d of CHUNK_DEFS) ids.set(d.field, [...(ids.get(d.field) ?? []), d.id])
  return [...ids].map(([field, list]) => ({
    field,
    ids: list.map((id) => '0x' + id.toString(16).padStart(4, '0')).join('/'),
  }))
})()

const SIP = 1

/**
 * What `p` loses when encoded as `version` (default: its own version): fields that version cannot
 * carry, a payload type it cannot say, chunks kept as bytes (vendor, unknown, repeated ids).
 * Empty for v3, and for a packet that holds only what the version carries.
 */
export function encodingLosses(p: HepPacket, version: 1 | 2 | 3 = p.version): EncodingLoss[] {
  if (version === 3) return []
  const v = `HEPv${version}`
  const carried = CARRIED[version]
  const out: EncodingLoss[] = []
  let time = false
  for (const { field, ids } of FIELDS) {
    if (p[field] === undefined || carried.has(field) || field === 'payloadType') continue
    if (field === 'captureId' && p.captureId === 0) continue // 0 is what a receiver assumes without one
    if (field === 'timeSeconds' || field === 'timeUseconds') {
      if (time) continue
      time = true
      out.push({
        kind: 'time',
        message: `${v} cannot carry the capture time (chunks 0x0009/0x000a): left out`,
      })
      continue
    }
    out.push({ kind: field, message: `${v} cannot carry ${field} (chunk ${ids}): left out` })
  }
  const t = p.payloadType
  if (t !== undefined && t !== SIP) {
    const name = PAYLOAD_TYPES[t]
    out.push({
      kind: `payloadType ${t}`,
      message: `${v} has no payload type: ${name ? `${name} (${t})` : `type ${t}`} packets read back as SIP`,
    })
  }
  if (p.chunks) {
    const vendors = new Set<number>()
    for (const c of p.chunks) if (typeof c !== 'number') vendors.add(c.vendor)
    for (const vendor of vendors) {
      out.push({
        kind: `chunks of vendor ${vendor}`,
        message:
          vendor === 0
            ? `${v} cannot carry unknown or repeated generic chunks: left out`
            : `${v} cannot carry chunks of vendor ${vendor}${VENDORS[vendor] ? ` (${VENDORS[vendor]})` : ''}: left out`,
      })
    }
  }
  return out
}

/** Tells `onLoss` what `p` loses as `version`. */
export function reportLosses(p: HepPacket, version: 1 | 2 | 3, onLoss: (loss: EncodingLoss) => void): void {
  if (version === 3) return
  for (const loss of encodingLosses(p, version)) onLoss(loss)
}

/** An onLoss that hands `warn` each kind of loss once. */
export function oncePerKind(warn: (message: string) => void): (loss: EncodingLoss) => void {
  const seen = new Set<string>()
  return (loss) => {
    if (seen.has(loss.kind)) return
    seen.add(loss.kind)
    warn(loss.message)
  }
}
