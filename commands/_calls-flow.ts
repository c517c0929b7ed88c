/** Human rendering of `hep calls --flow`: the call's line, its ladder, its RTCP reports, and with --full its messages. */
import type { ChalkInstance } from 'chalk'
import type { CallSummary } from '../src/calls/call.js'
import type { CallCollector } from '../src/calls/collect.js'
import { isoUs, reportLine } from '../src/calls/json.js'
import { endpointOf, fit, ladder, offsetText } from '../src/calls/ladder.js'
import { durationText, statusText } from './_calls-pretty.js'

export function flowLines(
  call: CallSummary,
  col: CallCollector,
  width: number,
  full: boolean,
  c: ChalkInstance,
): string[] {
  const out: string[] = []
  out.push(
    c.bold(
      fit(
        `${call.callId}  ${call.method ?? '-'} ${call.from ?? '-'} → ${call.to ?? '-'}  ${statusText(call)}  ` +
          `${call.messages} messages, ${durationText(call.endUs - call.startUs)} from ${isoUs(call.startUs)}`,
        width,
      ),
    ),
  )
  out.push('')
  out.push(...ladder(col.flowMessages, width))
  const t0 = col.flowMessages[0]?.timeUs ?? call.startUs
  if (col.flowReports.length > 0) {
    out.push('')
    out.push(c.bold(`RTCP reports (${col.flowReports.length})`))
    for (const r of col.flowReports) {
      const p = r.packet
      out.push(
        fit(
          `${offsetText(r.timeUs - t0)} ${endpointOf(p.srcIp, p.srcPort)} → ${endpointOf(p.dstIp, p.dstPort)}  ${reportLine(p)}`,
          width,
        ),
      )
    }
  }
  const notKept = [
    [col.flowMessagesDropped, 'message'],
    [col.flowReportsDropped, 'RTCP report'],
  ]
    .filter(([n]) => (n as number) > 0)
    .map(([n, what]) => `${n as number} more ${what as string}${n === 1 ? '' : 's'}`)
  if (notKept.length > 0) out.push(c.dim(`(${notKept.join(' and ')} not kept)`))
  if (full) {
    col.flowMessages.forEach((m, k) => {
      const p = m.packet
      out.push('')
      out.push(
        c.bold(
          `#${k + 1} ${offsetText(m.timeUs - t0)} ${isoUs(m.timeUs)} ${endpointOf(p.srcIp, p.srcPort)} → ${endpointOf(p.dstIp, p.dstPort)}`,
        ),
      )
      out.push((p.payload ?? Buffer.alloc(0)).toString('utf8').replace(/\r\n/g, '\n').trimEnd())
    })
  }
  return out
}
