import { Args, Flags } from '@oclif/core'
import { isFailed, type CallSummary } from '../src/calls/call.js'
import type { CallCollector } from '../src/calls/collect.js'
import { callJson } from '../src/calls/json.js'
import { readCalls } from '../src/calls/read.js'
import { HEP_FORMATS, type HepFormat } from '../src/input/input.js'
import { BaseCommand, EXIT, outputBufferFlag } from './_base.js'
import { CallRows } from './_calls-pretty.js'
import { flowLines } from './_calls-flow.js'
import { captureIdFilterFlag, filterFlags, filterFrom } from './_filter-flags.js'
import { timeByteOrderFlag } from './_hep-flags.js'
import { pathsUsable } from './_paths.js'

export default class Calls extends BaseCommand<typeof Calls> {
  static override summary =
    'One row per call (Call-ID) of captures, HEP files or stdin; a call as a ladder diagram'
  static override description = `Reads captures (their SIP, or the HEP they carry), HEP files in any format (raw, hex, jsonl, HEP pcap) and stdin, several inputs merged by capture time, and prints one row per SIP Call-ID, sorted by start: start time (UTC), duration, initial method, From and To (user@host), the final status of the initial request ("no final" when none), the number of messages, and the capture ids and nodes that reported it. The initial request is the first out-of-dialog request of the call's method; sent again with credentials after a 401 or 407, the new one counts. --json prints one object per call. A call is listed when one of its messages passes the filters; all its messages are counted. --flow CALL-ID draws that call as a ladder diagram instead: one column per endpoint IP:port, one arrow per message, with the RTCP reports that name the call (HEP type 5) listed under it; --full adds every message. Memory stays bounded on large inputs: a call is printed and forgotten once it has been finished and quiet for 32 s of capture time.`

  static override examples = [
    '<%= config.bin %> calls fixtures/calls/calls-all.pcap',
    '<%= config.bin %> calls fixtures/calls/calls-all.pcap --failed',
    "<%= config.bin %> calls fixtures/captures/hep-v3.pcap --json | jq -c 'select(.callId) | {callId, finalStatus}'",
    '<%= config.bin %> calls fixtures/calls/calls-proxy.pcap --flow 1-10678@127.0.0.1',
    '<%= config.bin %> calls fixtures/calls/calls-register.pcap --flow 1-11028@127.0.0.1 --full',
  ]

  static override args = {
    files: Args.string({ description: 'inputs ("-" or none: stdin)', required: false, ignoreStdin: true }),
  }

  static override strict = false

  static override flags = {
    from: Flags.option({ options: HEP_FORMATS, description: 'input format (default: detected)' })(),
    failed: Flags.boolean({
      description: 'only failed calls: final status 400 or more, or none',
      default: false,
    }),
    flow: Flags.string({
      description: 'draw this call (its Call-ID) as a ladder diagram',
      helpValue: 'CALL-ID',
    }),
    full: Flags.boolean({
      description: 'with --flow: every message of the call after the ladder',
      default: false,
    }),
    width: Flags.integer({
      description: 'fit the output into this many columns (default: the terminal width; unlimited in a pipe)',
      min: 40,
    }),
    ...filterFlags,
    ...captureIdFilterFlag,
    'output-buffer': outputBufferFlag,
    'time-byte-order': timeByteOrderFlag(),
  }

  public async run(): Promise<void> {
    const { argv } = await this.parse(Calls)
    const files = (argv as string[]).length > 0 ? (argv as string[]) : ['-']
    const f = this.flags
    if (f.full && f.flow === undefined) this.error('--full goes with --flow CALL-ID', { exit: EXIT.USAGE })
    const shared = this.usage(() => filterFrom(f, true))
    const filter = shared.empty ? undefined : shared
    if (!pathsUsable('calls', files)) return
    if (f.flow !== undefined && filter !== undefined)
      this.note('warning: --flow draws the call it names; the filters are not applied')
    const width = f.width ?? (process.stdout.isTTY ? process.stdout.columns : undefined)
    const rows = new CallRows(this.c, width)
    let shown = 0
    let failed = 0
    /** of the calls shown, those printed before their end (100,000 calls held) */
    let early = 0
    /** calls left out by --failed (those left out by the filters the table counts) */
    let notFailed = 0
    let headerDone = false
    const onCall = (c: CallSummary, wasEarly: boolean) => {
      if (f.flow !== undefined) return
      if (f.failed && !isFailed(c)) {
        notFailed++
        return
      }
      shown++
      if (isFailed(c)) failed++
      if (wasEarly) early++
      if (f.json) {
        this.out.line(JSON.stringify(callJson(c)))
        return
      }
      if (!headerDone) {
        headerDone = true
        this.out.line(rows.header())
      }
      for (const l of rows.row(c)) this.out.line(l)
    }
    let flowCall: CallSummary | undefined
    const result = await readCalls({
      files,
      from: f.from as HepFormat | undefined,
      timeByteOrder: f['time-byte-order'],
      signal: this.stop.signal,
      stdin: this.stdin,
      // --flow names its call: the filters that choose calls do not apply
      filter: f.flow === undefined ? filter : undefined,
      flow: f.flow,
      onCall: (c, wasEarly) => {
        if (f.flow !== undefined && c.callId === f.flow) flowCall = c
        onCall(c, wasEarly)
      },
      onBad: (where, e) => this.problem(`${where}: ${e?.message ?? 'no packet'}`),
      onCut: (text) => this.note(text),
      // rows not taken by stdout hold the reading (bounded by --output-buffer), as decode does
      drained: () => (this.out.full ? this.out.drained() : Promise.resolve()),
    })
    const col = result.collector
    if (f.flow !== undefined) {
      if (!flowCall) {
        this.problem(
          `no call with Call-ID ${f.flow} in ${files.join(', ')} (hep calls ${files.join(' ')} lists them)`,
        )
        process.exitCode = EXIT.INPUT
        return
      }
      this.flowOut(flowCall, col, width ?? 100)
    }
    await this.out.drained()
    const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`
    // packets = SIP messages + skipped (+ the followed call's RTCP reports); malformed apart
    const skippedText = () => {
      const skipped = Object.entries(col.skipped).map(([r, n]) => `${n} ${r}`)
      return (
        (skipped.length > 0 ? `, skipped: ${skipped.join(', ')}` : '') +
        (result.malformed > 0 ? `; ${result.malformed} malformed` : '')
      )
    }
    const messages = col.stats.messages
    const packetsText = `read ${plural(result.packets, 'packet')}: ${plural(messages, 'SIP message')}`
    if (f.flow !== undefined) {
      const c = flowCall as CallSummary
      const reports = col.flowReports.length
      this.summaryOut(
        {
          call: callJson(c),
          reports,
          // beyond the 10,000 kept: counted in the call (messages) or not shown (reports)
          messagesNotKept: col.flowMessagesDropped,
          reportsNotKept: col.flowReportsDropped,
          messages,
          packets: result.packets,
          malformed: result.malformed,
          skipped: col.skipped,
        },
        () => {
          const all = reports + col.flowReportsDropped
          const notKept = [
            [col.flowMessagesDropped, 'message'],
            [col.flowReportsDropped, 'report'],
          ].filter(([n]) => (n as number) > 0)
          this.note(
            `call ${c.callId}: ${plural(c.messages, 'message')}, ${plural(all, 'RTCP report')}` +
              (notKept.length > 0
                ? ` (${notKept.map(([n, w]) => plural(n as number, w as string)).join(' and ')} beyond 10,000 not shown)`
                : '') +
              `; ${packetsText}${all > 0 ? `, ${plural(all, 'RTCP report')} of the call` : ''}${skippedText()}`,
          )
        },
      )
    } else {
      if (shown === 0 && !f.json) this.note(result.packets === 0 ? 'no packets read' : 'no call matched')
      // calls read = listed + filtered out (no message passed the filters) + not failed (--failed)
      const filteredOut = col.stats.unmatched
      this.summaryOut(
        {
          calls: shown,
          failed,
          filteredOut,
          notFailed,
          early,
          messages,
          packets: result.packets,
          malformed: result.malformed,
          skipped: col.skipped,
        },
        () =>
          this.note(
            `${plural(shown, 'call')} listed (${failed} failed)` +
              (filteredOut > 0 ? `, ${filteredOut} filtered out` : '') +
              (notFailed > 0 ? `, ${notFailed} not failed` : '') +
              (early > 0 ? `; ${early} listed before their end (100,000 calls held)` : '') +
              `; ${packetsText}${skippedText()}`,
          ),
      )
    }
    if (this.out.error) process.exitCode = EXIT.OUTPUT
    else if (result.malformed > 0) process.exitCode = EXIT.INPUT
  }

  private flowOut(call: CallSummary, col: CallCollector, width: number): void {
    if (this.flags.json) {
      for (const m of col.flowMessages) this.packetOut(m.packet, '')
      for (const r of col.flowReports) this.packetOut(r.packet, '')
      return
    }
    for (const l of flowLines(call, col, width, this.flags.full, this.c)) this.out.line(l)
  }
}
