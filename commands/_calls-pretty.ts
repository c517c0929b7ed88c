/**
 * Human rendering of `hep calls` (and `hep listen --calls`): the table of calls, one row per call,
 * in columns that fit the width when there is one (values shortened with "…"), and the call's
 * messages in full for --flow --full. Rendering only.
 */
import type { ChalkInstance } from 'chalk'
import { isFailed, type CallSummary } from '../src/calls/call.js'
import { isoUs } from '../src/calls/json.js'
import { fit } from '../src/calls/ladder.js'

interface Column {
  head: string
  /** width: fixed, or a share of the room left by the fixed ones */
  width?: number
  share?: number
  /** the longest a shared column grows */
  max?: number
  right?: boolean
}

const COLUMNS: Column[] = [
  { head: 'START', width: 12 },
  { head: 'DURATION', width: 8, right: true },
  { head: 'METHOD', width: 8 },
  { head: 'FROM', share: 0.25, max: 32 },
  { head: 'TO', share: 0.25, max: 32 },
  { head: 'STATUS', width: 14 },
  { head: 'MSGS', width: 4, right: true },
  { head: 'CALL-ID', share: 0.35, max: 48 },
  { head: 'SEEN BY', share: 0.15, max: 24 },
]

/** "4.012s", "12:03" (m:ss), "1:02:03" */
export function durationText(us: number): string {
  const s = us / 1e6
  if (s < 60) return `${s.toFixed(3)}s`
  const t = Math.round(s)
  const h = Math.floor(t / 3600)
  const m = Math.floor((t % 3600) / 60)
  const ss = String(t % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

export function statusText(c: CallSummary): string {
  if (c.finalStatus === undefined) return 'no final'
  return `${c.finalStatus} ${c.reason ?? ''}`.trim()
}

/** capture ids and nodes: "2001 kamailio-1" */
export function seenText(c: CallSummary): string {
  const parts = [...c.captureIds.map(String), ...c.nodes]
  return parts.length === 0 ? '-' : parts.join(' ')
}

export class CallRows {
  private readonly widths: number[]
  private day: string | undefined

  /** `width`: fit the columns into it; undefined: no limit (each value whole) */
  constructor(
    private readonly c: ChalkInstance,
    private readonly width: number | undefined,
  ) {
    const fixed = COLUMNS.reduce((n, col) => n + (col.width ?? 0), 0) + COLUMNS.length - 1
    const room = width === undefined ? Infinity : Math.max(0, width - fixed)
    this.widths = COLUMNS.map((col) =>
      col.width !== undefined
        ? col.width
        : room === Infinity
          ? (col.max ?? 20)
          : Math.max(4, Math.min(col.max ?? 20, Math.floor(room * (col.share ?? 0)))),
    )
  }

  header(): string {
    return this.c.bold(this.join(COLUMNS.map((col) => col.head)).trimEnd())
  }

  /** The row of a call, preceded by a date line when its day differs from the previous row's. */
  row(call: CallSummary): string[] {
    const iso = isoUs(call.startUs)
    const out: string[] = []
    const day = iso.slice(0, 10)
    if (day !== this.day) {
      this.day = day
      out.push(this.c.dim(`${day} (UTC)`))
    }
    const status = statusText(call)
    const cells = [
      iso.slice(11, 23),
      durationText(call.endUs - call.startUs),
      call.method ?? '-',
      call.from ?? '-',
      call.to ?? '-',
      status,
      String(call.messages),
      call.callId,
      seenText(call),
    ]
    const colour = isFailed(call) ? this.c.red : (call.finalStatus ?? 0) < 300 ? this.c.green : this.c.yellow
    out.push(this.join(cells, (s) => colour(s)).trimEnd())
    return out
  }

  private join(cells: string[], statusColour?: (s: string) => string): string {
    return cells
      .map((v, i) => {
        const w = this.widths[i]
        const last = i === cells.length - 1
        const t = this.width === undefined && (COLUMNS[i].share !== undefined || last) ? v : fit(v, w)
        const cell = COLUMNS[i].right ? t.padStart(w) : last ? t : t.padEnd(w)
        return i === 5 && statusColour ? statusColour(cell) : cell
      })
      .join(' ')
  }
}
