/**
 * Fills what a hand-written packet leaves out with what receivers need: Kamailio's sipcapture drops a
 * HEP3 packet with fewer than 9 of the counted chunks (family, protocol, addresses, ports, time,
 * payload type, capture id, payload), so `send` completes packets before encoding them.
 */
import type { HepPacket } from './packet.js'
import { msToMicros } from './time.js'

export function completePacket(p: HepPacket, nowMs = Date.now()): HepPacket {
  const q: HepPacket = { ...p }
  if (q.protocolFamily === undefined) {
    q.protocolFamily = (q.srcIp ?? q.dstIp ?? '').includes(':') ? 10 : 2
  }
  q.protocol ??= 17
  const any = q.protocolFamily === 10 ? '::' : '0.0.0.0'
  q.srcIp ??= any
  q.dstIp ??= any
  q.srcPort ??= 0
  q.dstPort ??= 0
  if (q.timeSeconds === undefined) {
    const t = msToMicros(nowMs)
    q.timeSeconds = t.seconds
    q.timeUseconds = t.useconds
  }
  q.timeUseconds ??= 0
  q.payloadType ??= 1
  q.captureId ??= 0
  return q
}
