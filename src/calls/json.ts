/** The JSON form of a call (`hep calls --json`, one object per line) and a one-line RTCP report. */
import { isoTime } from '../hep/json.js'
import type { HepPacket } from '../hep/packet.js'
import { isFailed, type CallSummary } from './call.js'

export interface CallJson {
  callId: string
  method: string | null
  from: string | null
  to: string | null
  /** ISO 8601 UTC with microseconds, as the packets' `time` */
  start: string
  end: string
  /** seconds, end - start */
  duration: number
  messages: number
  /** the final status of the initial request; null: none seen */
  finalStatus: number | null
  reason: string | null
  /** finalStatus >= 400 or none */
  failed: boolean
  captureIds: number[]
  nodes: string[]
}

export const isoUs = (us: number): string => isoTime(Math.floor(us / 1e6), Math.round(us % 1e6))

export function callJson(c: CallSummary): CallJson {
  return {
    callId: c.callId,
    method: c.method ?? null,
    from: c.from ?? null,
    to: c.to ?? null,
    start: isoUs(c.startUs),
    end: isoUs(c.endUs),
    duration: Math.round(c.endUs - c.startUs) / 1e6,
    messages: c.messages,
    finalStatus: c.finalStatus ?? null,
    reason: c.reason ?? null,
    failed: isFailed(c),
    captureIds: c.captureIds,
    nodes: c.nodes,
  }
}

const RTCP_TYPES: Record<number, string> = {
  200: 'SR',
  201: 'RR',
  202: 'SDES',
  203: 'BYE',
  204: 'APP',
  207: 'XR',
}

interface ReportBlock {
  source_ssrc?: number
  fraction_lost?: number
  packets_lost?: number
  ia_jitter?: number
}

const hex = (n: unknown) => (typeof n === 'number' ? '0x' + n.toString(16).padStart(8, '0') : '?')

/**
 * An RTCP report in a line: the JSON report capture agents send as HEP type 5 (heplify's layout:
 * type, ssrc, report_blocks with fraction_lost, packets_lost, ia_jitter), or for raw RTCP its packet
 * types and sender SSRC.
 */
export function reportLine(p: HepPacket): string {
  const b = p.payload
  if (b === undefined || b.length === 0) return '(no payload)'
  if (b[0] === 0x7b) {
    try {
      const r = JSON.parse(b.toString('utf8')) as {
        type?: number
        ssrc?: number
        report_blocks?: ReportBlock[]
      }
      const parts = [`${RTCP_TYPES[r.type ?? 0] ?? `type ${r.type ?? '?'}`} ssrc ${hex(r.ssrc)}`]
      for (const rb of r.report_blocks ?? [])
        parts.push(
          `about ${hex(rb.source_ssrc)}: lost ${(((rb.fraction_lost ?? 0) / 256) * 100).toFixed(1)} % (${rb.packets_lost ?? 0} in all), jitter ${rb.ia_jitter ?? 0}`,
        )
      return parts.join('; ')
    } catch {
      return b.toString('utf8', 0, Math.min(b.length, 200))
    }
  }
  // raw RTCP (RFC 3550): version 2, then the compound's packets
  const types: string[] = []
  let ssrc: number | undefined
  for (let o = 0; o + 8 <= b.length && types.length < 8;) {
    if (b[o] >> 6 !== 2) break
    const pt = b[o + 1]
    types.push(RTCP_TYPES[pt] ?? String(pt))
    ssrc ??= b.readUInt32BE(o + 4)
    o += (b.readUInt16BE(o + 2) + 1) * 4
  }
  if (types.length === 0) return `(${b.length} bytes)`
  return `${types.join('+')} ssrc ${hex(ssrc)} (${b.length} bytes)`
}
