/**
 * A call's ladder diagram as lines of text: one column (lifeline) per endpoint IP:port, in the order
 * they first appear; one arrow per message, from its source's lifeline to its destination's, labelled
 * with its start line (method and URI, or status and reason), and left of it the message's number and
 * its time from the first message. Everything fits in `width` columns: labels and endpoint names that
 * do not fit are shortened with "…".
 *
 *             127.0.0.1:5070     127.0.0.1:5060     127.0.0.1:5080
 *   1 0.000000       │─INVITE sip:bob@…─>│                  │
 *   2 0.001875       │<─100 Trying───────│                  │
 */
import type { HepPacket } from '../hep/packet.js'
import type { SipInfo } from '../sip/scan.js'

export interface LadderMessage {
  timeUs: number
  packet: HepPacket
  sip: SipInfo
}

export function endpointOf(ip: string | undefined, port: number | undefined): string {
  const host = ip === undefined ? '?' : ip.includes(':') ? `[${ip}]` : ip
  return port === undefined ? host : `${host}:${port}`
}

/** The arrow's label: "INVITE sip:bob@127.0.0.1:5060" or "180 Ringing". */
export function messageLabel(s: SipInfo): string {
  if (s.kind === 'response') return `${s.statusCode ?? ''} ${s.reason ?? ''}`.trim()
  return `${s.method ?? ''} ${s.requestUri ?? ''}`.trim()
}

/** "text" cut to `n` characters, the last one "…" when cut. */
export function fit(text: string, n: number): string {
  if (n <= 0) return ''
  if (text.length <= n) return text
  return n === 1 ? '…' : text.slice(0, n - 1) + '…'
}

/** Seconds from the first message, with microseconds: "0.001875". */
export function offsetText(us: number): string {
  const neg = us < 0
  const a = Math.abs(Math.round(us))
  const s = `${Math.floor(a / 1e6)}.${String(a % 1e6).padStart(6, '0')}`
  return neg ? `-${s}` : s
}

export function ladder(messages: readonly LadderMessage[], width: number): string[] {
  if (messages.length === 0) return []
  const endpoints: string[] = []
  const col = new Map<string, number>()
  const at = (e: string) => {
    let i = col.get(e)
    if (i === undefined) {
      i = endpoints.length
      endpoints.push(e)
      col.set(e, i)
    }
    return i
  }
  const rows = messages.map((m) => ({
    from: at(endpointOf(m.packet.srcIp, m.packet.srcPort)),
    to: at(endpointOf(m.packet.dstIp, m.packet.dstPort)),
    m,
  }))
  const t0 = messages[0].timeUs
  const idxW = String(messages.length).length
  const times = messages.map((m) => offsetText(m.timeUs - t0))
  const timeW = Math.max(...times.map((t) => t.length))
  const margin = idxW + 1 + timeW + 1
  const n = endpoints.length
  // lifelines evenly spaced, the first and last as far out as their names allow
  const colW = Math.max(5, Math.floor((width - margin) / n))
  const names = endpoints.map((e) => fit(e, colW - 1))
  const h0 = Math.ceil(names[0].length / 2)
  const hl = Math.ceil(names[n - 1].length / 2)
  const gap = n === 1 ? 0 : Math.max(5, Math.floor((width - margin - h0 - hl) / (n - 1)))
  const x = (i: number) => margin + h0 + i * gap
  const lineW = Math.max(x(n - 1) + hl + 1, margin + 1)
  const blank = (): string[] => {
    const a = new Array<string>(lineW).fill(' ')
    for (let i = 0; i < n; i++) a[x(i)] = '│'
    return a
  }
  const out: string[] = []
  // the endpoints, each centred over its lifeline
  const head = new Array<string>(lineW).fill(' ')
  for (let i = 0; i < n; i++) {
    const name = names[i]
    const start = Math.max(0, x(i) - Math.floor(name.length / 2))
    for (let k = 0; k < name.length && start + k < lineW; k++) head[start + k] = name[k]
  }
  out.push(head.join('').trimEnd())
  out.push(blank().join('').trimEnd())
  rows.forEach((r, k) => {
    const a = blank()
    const label = messageLabel(r.m.sip)
    if (r.from === r.to) {
      // to itself: a loop mark and the label beside the lifeline
      const s = `↺ ${label}`
      const room = Math.max(0, lineW - x(r.from) - 2)
      const t = fit(s, room)
      for (let j = 0; j < t.length; j++) a[x(r.from) + 1 + j] = t[j]
    } else {
      const right = r.to > r.from
      const lo = x(Math.min(r.from, r.to)) + 1
      const hi = x(Math.max(r.from, r.to)) - 1
      for (let j = lo; j <= hi; j++) a[j] = '─'
      if (right) a[hi] = '>'
      else a[lo] = '<'
      // the label inside the arrow, after one dash (and the head, going left)
      const span = hi - lo + 1
      const t = fit(label, span - 3)
      const start = lo + (right ? 1 : 2)
      for (let j = 0; j < t.length; j++) a[start + j] = t[j]
    }
    const left = `${String(k + 1).padStart(idxW)} ${times[k].padStart(timeW)} `
    for (let j = 0; j < left.length; j++) a[j] = left[j]
    out.push(a.join('').trimEnd())
  })
  return out
}
