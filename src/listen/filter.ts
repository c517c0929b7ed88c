/** Packet filters shared by listen (and replay): capture id, payload type, Call-ID, payload regex. */
import type { HepPacket } from '../hep/packet.js'
import { scanSip } from '../sip/scan.js'

export interface PacketFilter {
  captureIds?: number[]
  payloadTypes?: number[]
  callIds?: string[]
  grep?: RegExp
}

export function filterIsEmpty(f: PacketFilter): boolean {
  return !f.captureIds?.length && !f.payloadTypes?.length && !f.callIds?.length && f.grep === undefined
}

/** Does the packet pass every filter that is set? */
export function matches(p: HepPacket, f: PacketFilter): boolean {
  if (f.captureIds?.length && (p.captureId === undefined || !f.captureIds.includes(p.captureId))) return false
  if (f.payloadTypes?.length && !f.payloadTypes.includes(p.payloadType ?? 1)) return false
  if (f.callIds?.length) {
    const ids = [p.correlationId, p.payload ? scanSip(p.payload)?.callId : undefined]
    if (!ids.some((id) => id !== undefined && f.callIds!.includes(id))) return false
  }
  if (f.grep !== undefined && !(p.payload !== undefined && f.grep.test(p.payload.toString('utf8'))))
    return false
  return true
}
