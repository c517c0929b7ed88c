import { Args, Flags } from '@oclif/core'
import { statSync } from 'node:fs'
import type { CaptureItems } from '../src/capture/items.js'
import { convertItems, type ConvertStats } from '../src/convert/convert.js'
import { matchedNothing } from '../src/filter/filter.js'
import { OUTPUT_FORMATS, type OutputFormat } from '../src/convert/sinks.js'
import { HEP_FORMATS, formatFromExtension, type HepFormat } from '../src/input/input.js'
import { countSkip, skippedFor, tallyAll } from '../src/item/skip.js'
import type { HepPacket } from '../src/hep/packet.js'
import type { HepItem } from '../src/item/item.js'
import { readHepBatches } from '../src/read/read-hep.js'
import type { SipInfo } from '../src/sip/scan.js'
import { callIdOf } from '../src/sip/call-id.js'
import { BaseCommand, EXIT, outputBufferFlag } from './_base.js'
import { filterFlags, filterFrom } from './_filter-flags.js'
import { pathsUsable } from './_paths.js'
import {
  convertVersionFlag,
  encodingOptionsFrom,
  hepEncodingFlags,
  rtcpFlag,
  timeByteOrderFlag,
} from './_hep-flags.js'
import { captureHints, plural } from './_hints.js'
import { kvTable } from './_pretty.js'

export default class Convert extends BaseCommand<typeof Convert> {
  static override summary = 'Convert between pcap, HEP (raw, hex, hep-pcap) and JSON lines'
  static override description = `Formats (--from / --into): pcap (captured traffic; pcapng input), hep-pcap (HEP packets carried over UDP in a pcap), raw (back-to-back HEP packets), hex (one packet per line), jsonl (the JSON form). Without --into the output format follows the extension: .hep.pcap -> hep-pcap, .pcap -> pcap, .hep -> raw, .hex -> hex, .jsonl/.ndjson -> jsonl. "-" means stdin/stdout.

HEP -> pcap writes the decapsulated messages with their original addresses, ports and timestamps (compressed payloads inflated): the way to look at a HEP capture in a stock Wireshark. The filters keep only the packets that pass all of them. A capture's RTCP becomes HEP type 5 (a JSON report, the call's Call-ID as correlation id): --rtcp. A progress line shows on a terminal.`

  static override examples = [
    '<%= config.bin %> convert fixtures/hep/hep-v3.hex out.jsonl',
    '<%= config.bin %> convert fixtures/hep/hep-v3.hex out.hex --version 2 --capture-id 7',
    '<%= config.bin %> convert fixtures/hep/hep-v2.hex sip.pcap',
    '<%= config.bin %> convert fixtures/captures/sip-udp.pcap calls.hep.pcap --capture-id 2002 --correlation-id auto',
    '<%= config.bin %> convert fixtures/hep/hep-v3.hex - --into jsonl | jq -r .srcIp',
    '<%= config.bin %> convert fixtures/captures/hep-v3.pcap sip.pcap --not-method OPTIONS',
    "<%= config.bin %> convert fixtures/captures/sip-rtcp.pcap - --into jsonl | jq -c 'select(.payloadType == 5) | .payload | fromjson | .report_blocks'",
  ]

  static override args = {
    input: Args.string({ description: 'input file ("-": stdin)', required: true, ignoreStdin: true }),
    output: Args.string({ description: 'output file ("-": stdout)', required: true, ignoreStdin: true }),
  }

  static override flags = {
    from: Flags.option({
      options: HEP_FORMATS,
      description: 'input format (default: detected from the content)',
    })(),
    into: Flags.option({
      options: OUTPUT_FORMATS,
      description: 'output format (default: from the extension)',
    })(),
    ...hepEncodingFlags,
    version: convertVersionFlag,
    'output-buffer': outputBufferFlag,
    'time-byte-order': timeByteOrderFlag('of the input'),
    precision: Flags.option({
      options: ['us', 'ns'] as const,
      default: 'us' as const,
      description: 'pcap output timestamp precision',
    })(),
    ...filterFlags,
    rtcp: rtcpFlag,
  }

  public async run(): Promise<void> {
    const { args } = await this.parse(Convert)
    const f = this.flags
    if (!pathsUsable('convert', [args.input], [args.output])) return
    const into = (f.into as OutputFormat | undefined) ?? outputFormatOf(args.output)
    if (into === undefined) {
      this.error(
        `${args.output}: cannot tell the output format from the name; say it with --into ${OUTPUT_FORMATS.join('|')}`,
        { exit: EXIT.USAGE },
      )
    }
    const enc = encodingOptionsFrom(f, (m) => this.note(`warning: ${m}`))
    const filter = this.usage(() => filterFrom(f))
    let capture: CaptureItems | undefined
    const from = f.from as HepFormat | undefined
    // a pcap written from a capture holds its messages as they were: RTCP reports are HEP only
    let rtcp = f.rtcp
    if (into === 'pcap' && rtcp !== 'off') {
      if (this.argv.some((a) => a === '--rtcp' || a.startsWith('--rtcp=')))
        this.note('warning: --rtcp: a pcap output holds SIP only; RTCP reports go into HEP outputs')
      rtcp = 'off'
    } else if (enc.version !== undefined && enc.version !== 3 && rtcp !== 'off') {
      // HEPv1/v2 carry SIP only: a type-5 report would arrive as a SIP message
      if (this.argv.some((a) => a === '--rtcp' || a.startsWith('--rtcp=')))
        this.note(`warning: --rtcp: HEPv${enc.version} carries SIP only; RTCP reports need --version 3`)
      rtcp = 'off'
    }
    const sipMode = from === 'pcap' || from === 'pcapng'
    const read = readHepBatches(args.input, {
      from,
      timeByteOrder: f['time-byte-order'],
      // a capture read for its SIP: the port filter where it is read (other ports' TCP never reassembled)
      portRanges: sipMode ? filter.opts.ports : undefined,
      captureMode: sipMode ? 'sip' : 'auto',
      captureId: enc.captureId,
      sipDetails: enc.correlationId === 'auto' || filter.needsSip,
      rtcp,
      onCapture: (c) => (capture = c),
      stdin: this.stdin,
    })
    const filtered: Record<string, number> = {}
    const items = filter.empty ? read : filterBatches(read, (p, sip) => filter.matches(p, sip), filtered)
    let size = 0
    try {
      if (args.input !== '-') size = statSync(args.input).size
    } catch {
      // a FIFO or the like: no percentage
    }
    let progress: ConvertStats | undefined
    await this.startProgress(() => {
      const read = capture?.extractor.bytesRead
      const pct =
        size > 0 && read !== undefined ? ` (${Math.min(100, Math.floor((read / size) * 100))} %)` : ''
      return `convert: ${plural(progress?.in ?? 0, 'packet')} in, ${progress?.out ?? 0} out${read !== undefined ? `, ${(read / 1048576).toFixed(1)} MB read${pct}` : ''}`
    })
    const problems = new Map<string, number>()
    const stats = await convertItems(items, args.output === '-' ? process.stdout : args.output, {
      ...enc,
      into,
      precision: f.precision,
      callIdOf,
      signal: this.stop.signal,
      onProgress: (st) => (progress = st),
      warn: (m) => this.note(`warning: ${m}`),
      onCut: (text) => this.note(text),
      output: {
        name: args.output === '-' ? 'stdout' : undefined,
        maxBuffer: this.maxBuffer,
        onError: (e) => this.problem(`cannot write ${e.path}: ${e.reason}; converting stopped there`),
      },
      onSkip: (where, reason, error) => {
        const n = (problems.get(reason) ?? 0) + 1
        problems.set(reason, n)
        if (n <= 20) this.problem(`${where}: ${reason}${error ? ': ' + error.message : ''}`)
        else if (n === 21) this.problem(`more ${reason} items: not shown one by one`)
      },
    })
    this.endProgress()
    const cap = capture as CaptureItems | undefined
    // the packets the filters left out were read, and are counted as skipped: in = out + skipped
    stats.in += filtered.n ?? 0
    countSkip(stats.skipped, 'filtered', filtered.n ?? 0)
    if (cap) {
      // what the capture held besides the messages converted
      tallyAll(stats.skipped, cap.stats.skipped)
    }
    const nothing = matchedNothing(filter, stats.in + (cap?.stats.skipped['filtered out'] ?? 0))
    if (nothing) this.note(nothing)
    if (cap) for (const h of captureHints('convert', args.input, cap.stats.skipped, stats.out)) this.note(h)
    this.summary(stats, args.output, into, cap)
    if (stats.outputError) process.exitCode = EXIT.OUTPUT
    else if (
      skippedFor(stats.skipped, 'malformed') ||
      skippedFor(stats.skipped, 'unreadable') ||
      // a record cut off where a stop (Ctrl-C) ended the reading of stdin or a FIFO is no bad input
      (cap?.stats.error && !(this.stopped && cap.stats.error.code === 'CAPTURE_TRUNCATED'))
    )
      process.exitCode = EXIT.INPUT
    else if (skippedFor(stats.skipped, 'notEncodable')) process.exitCode = EXIT.PARTIAL
  }

  private summary(s: ConvertStats, output: string, into: OutputFormat, capture?: CaptureItems): void {
    const json = {
      in: s.in,
      out: s.out,
      into,
      skipped: s.skipped,
      ...(capture ? { records: capture.stats.records, found: capture.mode === 'hep' ? 'hep' : 'sip' } : {}),
    }
    // under --json one {"summary":true,…} line: on stdout, or on stderr when stdout is the output
    if (this.flags.json && output === '-') {
      if (!this.flags.quiet) process.stderr.write(JSON.stringify({ summary: true, ...json }) + '\n')
      return
    }
    this.summaryOut(json, () => {
      const rows: [string, string][] = []
      if (capture) {
        rows.push(['capture records', String(capture.stats.records)])
        const rtcp = capture.mode === 'hep' ? undefined : capture.rtcpCounts
        rows.push([
          capture.mode === 'hep' ? 'HEP packets found' : 'SIP messages found',
          String(s.in - (rtcp?.items ?? 0)),
        ])
        if (rtcp) rows.push(['RTCP packets found', String(rtcp.found)])
        if (capture.stats.fragmentsReassembled)
          rows.push(['IP datagrams reassembled', String(capture.stats.fragmentsReassembled)])
      } else rows.push(['in', String(s.in)])
      rows.push([`out (${into})`, String(s.out)])
      if (capture?.rtcpCounts && capture.mode !== 'hep') rows.push(['of which RTCP', String(s.outRtcp ?? 0)])
      for (const [reason, n] of Object.entries(s.skipped)) rows.push([`skipped: ${reason}`, String(n)])
      process.stderr.write(`${output === '-' ? 'stdout' : output}\n${kvTable(rows, this.stderrColumns)}\n`)
    })
  }
}

/** The batches with the packets that do not pass `keep` left out (counted in `filtered.n`). */
async function* filterBatches(
  batches: AsyncIterable<HepItem[]>,
  keep: (p: HepPacket, sip?: SipInfo) => boolean,
  filtered: Record<string, number>,
): AsyncGenerator<HepItem[]> {
  for await (const items of batches) {
    const out: HepItem[] = []
    for (const it of items) {
      if (it.packet && !it.error && !keep(it.packet, it.sip)) filtered.n = (filtered.n ?? 0) + 1
      else out.push(it)
    }
    if (out.length > 0) yield out
  }
}

function outputFormatOf(path: string): OutputFormat | undefined {
  const f = formatFromExtension(path)
  if (f === 'pcapng') return 'pcap'
  return f as OutputFormat | undefined
}
