/** Human rendering of packets: one summary line, and a chunk table for --chunks. Rendering only. */
import { isUtf8 } from 'node:buffer'
import type { ChalkInstance } from 'chalk'
import { CHUNK_BY_ID, CHUNK_DEFS, chunkIdHex } from '../src/hep/chunks.js'
import { inflate } from '../src/hep/compress.js'
import { IP_PROTOCOL_NAMES, VENDORS, payloadTypeName } from '../src/hep/constants.js'
import { isoTime } from '../src/hep/json.js'
import type { ChunkRef, HepPacket } from '../src/hep/packet.js'
import { visibleWidth } from './_width.js'
import { plain, Table } from './_lazy.js'

export { plain }

export function endpoint(ip: string | undefined, port: number | undefined): string {
  if (ip === undefined) return '?'
  const host = ip.includes(':') ? `[${ip}]` : ip
  return port === undefined ? host : `${host}:${port}`
}

/** First line of a textual payload, or a size summary for binary ones. */
export function payloadSummary(payload: Buffer | undefined, max = 100): string {
  if (payload === undefined || payload.length === 0) return '(no payload)'
  const nl = payload.indexOf(0x0d) >= 0 ? payload.indexOf(0x0d) : payload.indexOf(0x0a)
  const end = Math.min(nl >= 0 ? nl : payload.length, max * 4)
  const head = payload.subarray(0, end)
  if (!isUtf8(head)) return `(${payload.length} bytes binary)`
  // eslint-disable-next-line no-control-regex
  let s = head.toString('utf8').replace(/[\x00-\x1f\x7f]/g, '.')
  if (s.length > max) s = s.slice(0, max - 1) + '…'
  return s
}

/** "2026-11-23T12:39:59.584087Z v3 id 2001 node  127.0.0.1:5070 → 127.0.0.1:5060 UDP SIP  INVITE sip:…" */
export function summaryLine(p: HepPacket, c: ChalkInstance = plain): string {
  const time = p.timeSeconds !== undefined ? isoTime(p.timeSeconds, p.timeUseconds ?? 0) : '-'.padEnd(27)
  const parts: string[] = [c.dim(time), c.cyan(`v${p.version}`)]
  if (p.captureId !== undefined) parts.push(`id ${p.captureId}`)
  if (p.nodeName !== undefined) parts.push(`node ${p.nodeName}`)
  parts.push(`${c.yellow(endpoint(p.srcIp, p.srcPort))} → ${c.yellow(endpoint(p.dstIp, p.dstPort))}`)
  parts.push(IP_PROTOCOL_NAMES[p.protocol ?? -1] ?? `proto ${p.protocol ?? '?'}`)
  parts.push(c.magenta(payloadTypeName(p.payloadType)))
  if (p.correlationId !== undefined) parts.push(`corr ${p.correlationId}`)
  let summary = rtcpLine(p) ?? payloadSummary(p.payload)
  if (p.payload === undefined && p.compressedPayload !== undefined) {
    const z = inflate(p.compressedPayload)
    summary = z
      ? `[${z.method}] ${payloadSummary(z.payload)}`
      : `(${p.compressedPayload.length} bytes compressed, not gzip, zlib or deflate)`
  }
  parts.push(c.bold(summary))
  if (p.hdrLen !== undefined) parts.push(c.red(`[header length byte ${p.hdrLen}]`))
  return parts.join(' ')
}

function valueText(
  p: HepPacket,
  ref: ChunkRef,
): { vendor: number; id: number; name: string; length: number; value: string } {
  if (typeof ref !== 'number') {
    const d = ref.vendor === 0 ? CHUNK_BY_ID[ref.type] : undefined
    const name = d
      ? `${d.field} (repeated/raw)`
      : ref.vendor === 0
        ? 'unknown'
        : `${VENDORS[ref.vendor] ?? 'vendor ' + ref.vendor}`
    return {
      vendor: ref.vendor,
      id: ref.type,
      name,
      length: ref.value.length + 6,
      value: hexPreview(ref.value),
    }
  }
  const d = CHUNK_BY_ID[ref]
  const f = p as unknown as Record<string, unknown>
  if (d === undefined) return { vendor: 0, id: ref, name: 'unknown', length: 0, value: '' }
  const v = f[d.field]
  let text: string
  let len = d.width
  if (v instanceof Uint8Array && d.field === 'compressedPayload') {
    len = v.length
    const z = inflate(Buffer.from(v.buffer, v.byteOffset, v.length))
    text = z
      ? `${z.method}, ${z.payload.length} bytes inflated: ${payloadSummary(z.payload, 60)}`
      : `(${v.length} bytes, not gzip, zlib or deflate)`
  } else if (v instanceof Uint8Array) {
    len = v.length
    text =
      payloadSummary(Buffer.from(v.buffer, v.byteOffset, v.length), 60) +
      (v.length > 60 ? ` (${v.length} bytes)` : '')
  } else if (typeof v === 'string') {
    if (d.width === 0) len = Buffer.byteLength(v)
    text = v
  } else text = String(v)
  if (d.field === 'payloadType') text += ` (${payloadTypeName(v as number)})`
  if (d.field === 'protocolFamily') text += v === 2 ? ' (IPv4)' : v === 10 ? ' (IPv6)' : ''
  if (d.field === 'protocol') text += ` (${IP_PROTOCOL_NAMES[v as number] ?? '?'})`
  return { vendor: 0, id: ref, name: d.field, length: len + 6, value: text }
}

function hexPreview(b: Buffer): string {
  const h = b.subarray(0, 24).toString('hex')
  return b.length > 24 ? `${h}… (${b.length} bytes)` : h
}

/**
 * A table of rows (the first row the head, when `head`), no wider than `width` columns: the widest
 * column (the last, the values) is shortened with "…" to fit.
 */
export function fittedTable(rows: string[][], width?: number, head?: string[]): string {
  const n = head?.length ?? rows[0]?.length ?? 0
  const need = Array.from(
    { length: n },
    (_, i) => Math.max(visibleWidth(head?.[i] ?? ''), ...rows.map((r) => visibleWidth(r[i] ?? ''))) + 2,
  )
  const total = need.reduce((a, b) => a + b, 0) + n + 1
  let colWidths: number[] | undefined
  if (width !== undefined && total > width && n > 0) {
    // the last column gives way first, then the widest of the others
    colWidths = [...need]
    let over = total - width
    for (let k = 0; over > 0 && k < n * 4; k++) {
      const i = k === 0 ? n - 1 : colWidths.indexOf(Math.max(...colWidths))
      const give = Math.min(over, colWidths[i] - 5)
      if (give <= 0) break
      colWidths[i] -= give
      over -= give
    }
  }
  const table = new Table({
    ...(head ? { head } : {}),
    style: { head: [], border: [], compact: true },
    wordWrap: false,
    ...(colWidths ? { colWidths } : {}),
  })
  for (const r of rows) table.push(r)
  return table.toString()
}

const RTCP_TYPES: Record<number, string> = {
  200: 'SR',
  201: 'RR',
  202: 'SDES',
  203: 'BYE',
  204: 'APP',
  205: 'RTPFB',
  206: 'PSFB',
  207: 'XR',
}

interface RtcpJson {
  type?: number
  ssrc?: number
  report_blocks?: Record<string, number>[]
  voip_metrics?: Record<string, number>
}

/** The JSON report of a type-5 (RTCP) packet, if its payload is one. */
function rtcpReport(p: HepPacket): RtcpJson | undefined {
  if (p.payloadType !== 5 || p.payload === undefined || p.payload[0] !== 0x7b) return undefined
  try {
    const r = JSON.parse(p.payload.toString('utf8')) as unknown
    return typeof r === 'object' && r !== null && !Array.isArray(r) ? (r as RtcpJson) : undefined
  } catch {
    return undefined
  }
}

const hex32 = (n: unknown) => (typeof n === 'number' ? '0x' + n.toString(16).padStart(8, '0') : '?')

/**
 * A type-5 packet's report in one line: "SR ssrc 0x1234abcd fraction lost 3/256 cumulative lost
 * 12 jitter 40 MOS 4.50" (the first report block; MOS from chunk 0x0020 or the XR metrics).
 */
export function rtcpLine(p: HepPacket): string | undefined {
  const r = rtcpReport(p)
  if (r === undefined) return undefined
  const parts = [RTCP_TYPES[r.type ?? -1] ?? `type ${r.type}`, `ssrc ${hex32(r.ssrc)}`]
  const blocks = Array.isArray(r.report_blocks) ? r.report_blocks : []
  const b = blocks[0]
  if (b !== undefined) {
    parts.push(
      `fraction lost ${b.fraction_lost}/256`,
      `cumulative lost ${b.packets_lost}`,
      `jitter ${b.ia_jitter}`,
    )
    if (blocks.length > 1) parts.push(`(+${blocks.length - 1} report blocks)`)
  } else parts.push('no report blocks')
  const mos = p.mos !== undefined ? p.mos / 100 : r.voip_metrics?.mos_cq
  if (typeof mos === 'number' && mos > 0) parts.push(`MOS ${mos.toFixed(2)}`)
  return parts.join(' ')
}

/** A type-5 packet's report blocks (and XR VoIP metrics) as a table, for --chunks. */
function rtcpTable(r: RtcpJson, c: ChalkInstance): string {
  const cols = ['source_ssrc', 'fraction_lost', 'packets_lost', 'highest_seq_no', 'ia_jitter', 'lsr', 'dlsr']
  const table = new Table({
    head: ['report block', ...cols].map((h) => c.bold(h)),
    style: { head: [], border: [], compact: true },
    wordWrap: false,
  })
  const blocks = Array.isArray(r.report_blocks) ? r.report_blocks : []
  blocks.forEach((b, i) =>
    table.push([String(i + 1), ...cols.map((k) => (k === 'source_ssrc' ? hex32(b[k]) : String(b[k])))]),
  )
  let out = table.toString()
  const vm = r.voip_metrics
  if (vm !== undefined && typeof vm === 'object') {
    const t = new Table({
      head: [c.bold('XR VoIP metrics'), c.bold('value')],
      style: { head: [], border: [], compact: true },
    })
    for (const [k, v] of Object.entries(vm)) t.push([k, k === 'ssrc' ? hex32(v) : String(v)])
    out += '\n' + t.toString()
  }
  return out
}

/** The chunk table of --chunks (v3: every chunk in wire order; v1/v2: the header fields). */
export function chunkTable(p: HepPacket, c: ChalkInstance = plain, width?: number): string {
  const chunks = hepChunkTable(p, c, width)
  const r = rtcpReport(p)
  return r === undefined ? chunks : `${chunks}\n${rtcpTable(r, c)}`
}

/** Key-value rows (a summary) as a table fitted to `width`. */
export function kvTable(rows: [string, string][], width?: number): string {
  return fittedTable(rows, width)
}

/** The chunks of a packet (v3: every chunk in wire order; v1/v2: the header fields), fitted to `width`. */
function hepChunkTable(p: HepPacket, c: ChalkInstance, width?: number): string {
  const table: string[][] = []
  const head = ['vendor', 'id', 'name', 'length', 'value'].map((h) => c.bold(h))
  if (p.version === 3) {
    const refs = p.chunks ?? CHUNK_DEFS.map((d) => d.id)
    for (const ref of refs) {
      const r = valueText(p, ref)
      if (typeof ref === 'number' && r.length === 0) continue
      table.push([chunkIdHex(r.vendor), chunkIdHex(r.id), r.name, String(r.length), r.value])
    }
  } else {
    const f = p as unknown as Record<string, unknown>
    for (const k of [
      'protocolFamily',
      'protocol',
      'srcPort',
      'dstPort',
      'srcIp',
      'dstIp',
      'timeSeconds',
      'timeUseconds',
      'captureId',
      'hdrLen',
      'v2Padding',
    ]) {
      if (f[k] !== undefined) table.push(['-', '-', k, '-', String(f[k])])
    }
    table.push(['-', '-', 'payload', String(p.payload?.length ?? 0), payloadSummary(p.payload, 60)])
  }
  return fittedTable(table, width, head)
}

/**
 * --full: the whole payload under the packet's line, indented: text (SIP with its headers and body)
 * line by line, JSON (RTCP reports, logs) pretty-printed, anything else as a hex dump. A compressed
 * payload is shown inflated.
 */
export function fullPayload(p: HepPacket, c: ChalkInstance = plain): string {
  let body = p.payload
  let note = ''
  if (body === undefined && p.compressedPayload !== undefined) {
    const z = inflate(p.compressedPayload)
    if (z) {
      body = z.payload
      note =
        c.dim(
          `  (${z.method}-compressed: ${p.compressedPayload.length} bytes, ${z.payload.length} inflated)`,
        ) + '\n'
    } else body = p.compressedPayload
  }
  if (body === undefined || body.length === 0) return c.dim('  (no payload)') + '\n'
  const indent = (lines: string[]) => lines.map((l) => '  ' + l).join('\n') + '\n'
  if (isUtf8(body)) {
    const text = body.toString('utf8')
    const t = text.trim()
    if ((t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']'))) {
      try {
        return note + indent(JSON.stringify(JSON.parse(t), null, 2).split('\n'))
      } catch {
        // not JSON after all: shown as text
      }
    }
    const lines = text.split(/\r?\n/)
    if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop()
    // eslint-disable-next-line no-control-regex
    return note + indent(lines.map((l) => l.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '.')))
  }
  const rows: string[] = []
  for (let o = 0; o < body.length; o += 16) {
    const b = body.subarray(o, o + 16)
    const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ')
    const ascii = [...b].map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('')
    rows.push(`${o.toString(16).padStart(4, '0')}  ${hex.padEnd(47)}  ${ascii}`)
  }
  return note + indent(rows)
}
