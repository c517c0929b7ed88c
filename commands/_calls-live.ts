/**
 * `hep listen --calls`: the calls of what listen receives. In a pipe (or with --json) each call is
 * printed once it is over (finished and quiet for 32 s of capture time; at most 100,000 held, the
 * oldest printed early) and the rest at stop. On a terminal the table is redrawn every few seconds
 * (the latest calls that fit the screen) and printed whole at stop: the last 10,000 calls.
 */
import type { ChalkInstance } from 'chalk'
import type { CallSummary } from '../src/calls/call.js'
import { CallCollector } from '../src/calls/collect.js'
import { callJson } from '../src/calls/json.js'
import type { HepPacket } from '../src/hep/packet.js'
import { CallRows } from './_calls-pretty.js'

export interface LiveCallsOptions {
  json: boolean
  /** stdout is a terminal: redraw every `refreshMs` */
  tty: boolean
  width: number | undefined
  height: number
  c: ChalkInstance
  line: (s: string) => void
  refreshMs?: number
}

/** calls kept for the terminal's table */
const KEEP = 10_000

export class LiveCalls {
  private readonly collector: CallCollector
  private readonly done: CallSummary[] = []
  private forgotten = 0
  private timer: NodeJS.Timeout | undefined
  private drawn = false
  private headerDone = false
  private readonly rows: CallRows

  constructor(private readonly o: LiveCallsOptions) {
    this.rows = new CallRows(o.c, o.width)
    this.collector = new CallCollector({ onCall: (c) => this.over(c) })
    if (o.tty && !o.json) {
      this.timer = setInterval(() => this.redraw(), o.refreshMs ?? 2000)
      this.timer.unref()
    }
  }

  packet(p: HepPacket): void {
    this.collector.packet(p)
  }

  get calls(): number {
    return this.collector.stats.calls
  }

  private over(c: CallSummary): void {
    if (this.timer === undefined) {
      this.print(c)
      return
    }
    this.done.push(c)
    if (this.done.length > KEEP) {
      this.done.shift()
      this.forgotten++
    }
  }

  private print(c: CallSummary): void {
    if (this.o.json) {
      this.o.line(JSON.stringify(callJson(c)))
      return
    }
    if (!this.headerDone) {
      this.headerDone = true
      this.o.line(this.rows.header())
    }
    for (const l of this.rows.row(c)) this.o.line(l)
  }

  private redraw(): void {
    const all = [...this.done, ...this.collector.table.held()]
    const room = Math.max(1, this.o.height - 3)
    const view = new CallRows(this.o.c, this.o.width)
    const lines = [view.header()]
    for (const c of all.slice(-room)) lines.push(...view.row(c).filter((l) => !l.endsWith('(UTC)')))
    // home, clear the screen, the table
    this.o.line('\x1b[H\x1b[2J' + lines.slice(0, room + 1).join('\n'))
    this.drawn = true
  }

  /** At stop: every call still held is over; on a terminal the whole table replaces the live one. */
  end(): void {
    const tty = this.timer !== undefined
    if (this.timer !== undefined) clearInterval(this.timer)
    this.collector.end() // on a terminal into `done`, else printed
    this.timer = undefined
    if (!tty) return
    if (this.drawn) this.o.line('\x1b[H\x1b[2J')
    if (this.forgotten > 0) this.o.line(this.o.c.dim(`(${this.forgotten} earlier calls not kept)`))
    for (const c of this.done) this.print(c)
  }
}
