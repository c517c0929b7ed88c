import { Args, Flags } from '@oclif/core'
import { statSync } from 'node:fs'
import type { CaptureItems } from '../src/capture/items.js'
import { parsePortRanges } from '../src/capture/extract.js'
import { convertItems, type ConvertStats } from '../src/convert/convert.js'
import { OUTPUT_FORMATS, type OutputFormat } from '../src/convert/sinks.js'
import { HEP_FORMATS, formatFromExtension, type HepFormat } from '../src/input/input.js'
import { skippedFor, tallyAll } from '../src/item/skip.js'
import { readHepBatches } from '../src/read/read-hep.js'
import { callIdOf } from '../src/sip/call-id.js'
import { BaseCommand, EXIT, outputBufferFlag } from './_base.js'
import { pathsUsable } from './_paths.js'
import { encodingOptionsFrom, hepEncodingFlags, rtcpFlag, timeByteOrderFlag } from './_hep-flags.js'
import { SingleBar, Table } from './_lazy.js'

export default class Convert extends BaseCommand<typeof Convert> {
  static override summary = 'Convert between pcap, HEP (raw, hex, hep-pcap) and JSON lines'
  static override description = `Formats (--from / --into): pcap (captured traffic; pcapng input), hep-pcap (HEP packets
carried over UDP in a pcap), raw (back-to-back HEP packets), hex (one packet per line), jsonl (the JSON form).
Without --into the output format follows the extension: .hep.pcap -> hep-pcap, .pcap -> pcap,
.hep -> raw, .hex -> hex, .jsonl/.ndjson -> jsonl. "-" means stdin/stdout.
HEP -> pcap writes the decapsulated messages with their original addresses, ports and timestamps.
A capture's RTCP becomes HEP type 5 (a JSON report, the call's Call-ID as correlation id): --rtcp.`

  static override examples = [
    '<%= config.bin %> convert fixtures/hep/hep-v3.hex out.jsonl',
    '<%= config.bin %> convert fixtures/hep/hep-v3.hex out.hex --version 2 --capture-id 7',
    '<%= config.bin %> convert fixtures/hep/hep-v2.hex sip.pcap',
    '<%= config.bin %> convert fixtures/captures/sip-udp.pcap calls.hep.pcap --capture-id 2002 --correlation-id auto',
    '<%= config.bin %> convert fixtures/hep/hep-v3.hex - --into jsonl | jq -r .srcIp',
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
    'output-buffer': outputBufferFlag,
    'time-byte-order': timeByteOrderFlag('of the input'),
    precision: Flags.option({
      options: ['us', 'ns'] as const,
      default: 'us' as const,
      description: 'pcap output timestamp precision',
    })(),
    'port-range': Flags.string({
      description: 'capture input: only traffic to or from these ports, e.g. 5060 or 5060-5080,5090',
    }),
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
    let portRanges: [number, number][] | undefined
    if (f['port-range'] !== undefined) {
      portRanges = parsePortRanges(f['port-range'])
      if (portRanges === undefined) {
        this.error(`--port-range ${f['port-range']}: expected PORT, LO-HI or a comma-separated list`, {
          exit: EXIT.USAGE,
        })
      }
    }
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
    const items = readHepBatches(args.input, {
      from,
      timeByteOrder: f['time-byte-order'],
      portRanges,
      captureMode: from === 'pcap' || from === 'pcapng' ? 'sip' : 'auto',
      captureId: enc.captureId,
      sipDetails: enc.correlationId === 'auto',
      rtcp,
      onCapture: (c) => (capture = c),
      stdin: this.stdin,
    })
    const bar = this.progressBar(args.input)
    const problems = new Map<string, number>()
    const stats = await convertItems(items, args.output === '-' ? process.stdout : args.output, {
      ...enc,
      into,
      precision: f.precision,
      callIdOf,
      signal: this.stop.signal,
      onProgress: () => bar?.update(capture?.extractor.bytesRead ?? 0),
      warn: (m) => this.note(`warning: ${m}`),
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
    bar?.stop()
    const cap = capture as CaptureItems | undefined
    if (cap) {
      // what the capture held besides the messages converted
      tallyAll(stats.skipped, cap.stats.skipped)
    }
    this.summary(stats, args.output, into, cap)
    if (stats.outputError) process.exitCode = EXIT.OUTPUT
    else if (
      skippedFor(stats.skipped, 'malformed') ||
      skippedFor(stats.skipped, 'unreadable') ||
      cap?.stats.error
    )
      process.exitCode = EXIT.INPUT
    else if (skippedFor(stats.skipped, 'notEncodable')) process.exitCode = EXIT.PARTIAL
  }

  private progressBar(input: string): SingleBar | undefined {
    if (this.flags.quiet || !process.stderr.isTTY || input === '-') return undefined
    let size = 0
    try {
      size = statSync(input).size
    } catch {
      return undefined
    }
    if (size < 16 * 1024 * 1024) return undefined
    const bar = new SingleBar({
      format: 'converting [{bar}] {percentage}% {value}/{total} bytes',
      stream: process.stderr,
      hideCursor: true,
    })
    bar.start(size, 0)
    return bar
  }

  private summary(s: ConvertStats, output: string, into: OutputFormat, capture?: CaptureItems): void {
    if (this.flags.quiet) return
    const t = new Table({ style: { head: [], border: [], compact: true } })
    if (capture) {
      t.push({ 'capture records': String(capture.stats.records) })
      const rtcp = capture.mode === 'hep' ? undefined : capture.rtcpCounts
      t.push({
        [capture.mode === 'hep' ? 'HEP packets found' : 'SIP messages found']: String(
          s.in - (rtcp?.items ?? 0),
        ),
      })
      if (rtcp) t.push({ 'RTCP packets found': String(rtcp.found) })
      if (capture.stats.fragmentsReassembled)
        t.push({ 'IP datagrams reassembled': String(capture.stats.fragmentsReassembled) })
    } else t.push({ in: String(s.in) })
    t.push({ [`out (${into})`]: String(s.out) })
    if (capture?.rtcpCounts && capture.mode !== 'hep') t.push({ 'of which RTCP': String(s.outRtcp ?? 0) })
    for (const [reason, n] of Object.entries(s.skipped)) t.push({ [`skipped: ${reason}`]: String(n) })
    process.stderr.write(`${output === '-' ? 'stdout' : output}\n${t.toString()}\n`)
  }
}

function outputFormatOf(path: string): OutputFormat | undefined {
  const f = formatFromExtension(path)
  if (f === 'pcapng') return 'pcap'
  return f as OutputFormat | undefined
}
