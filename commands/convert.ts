import { Args, Flags } from '@oclif/core'
import Table from 'cli-table3'
import { convertItems, type ConvertStats } from '../src/convert/convert.js'
import { OUTPUT_FORMATS, type OutputFormat } from '../src/convert/sinks.js'
import { HepError } from '../src/errors.js'
import { HEP_FORMATS, formatFromExtension, type HepFormat } from '../src/io/input.js'
import { readHep } from '../src/io/read-hep.js'
import { callIdOf } from '../src/sip/call-id.js'
import { BaseCommand, EXIT } from './_base.js'
import { encodingOptionsFrom, hepEncodingFlags } from './_hep-flags.js'

export default class Convert extends BaseCommand<typeof Convert> {
  static override summary = 'Convert between pcap, HEP (raw, hex, hep-pcap) and JSON lines'
  static override description = `Formats (--from / --into): pcap (captured traffic; pcapng input), hep-pcap (HEP packets
carried over UDP in a pcap), raw (back-to-back HEP packets), hex (one packet per line), jsonl (the JSON form).
Without --into the output format follows the extension: .hep.pcap -> hep-pcap, .pcap -> pcap,
.hep -> raw, .hex -> hex, .jsonl/.ndjson -> jsonl. "-" means stdin/stdout.
HEP -> pcap writes the decapsulated messages with their original addresses, ports and timestamps.`

  static override examples = [
    '<%= config.bin %> convert fixtures/hep/hep-v3.hex out.jsonl',
    '<%= config.bin %> convert fixtures/hep/hep-v3.hex out.hex --version 2 --capture-id 7',
    '<%= config.bin %> convert fixtures/hep/hep-v2.hex sip.pcap',
    '<%= config.bin %> convert fixtures/captures/sip-udp.pcap calls.hep.pcap --capture-id 2002 --correlation-id auto',
    '<%= config.bin %> convert fixtures/hep/hep-v3.hex - --into jsonl | jq -r .srcIp',
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
    'time-byte-order': Flags.option({
      options: ['le', 'be'] as const,
      default: 'le' as const,
      description: 'HEPv2 time header byte order of the input',
    })(),
    precision: Flags.option({
      options: ['us', 'ns'] as const,
      default: 'us' as const,
      description: 'pcap output timestamp precision',
    })(),
    port: Flags.integer({
      description: 'pcap input: only traffic to or from this port (repeatable)',
      multiple: true,
    }),
  }

  public async run(): Promise<void> {
    const { args } = await this.parse(Convert)
    const f = this.flags
    const into = (f.into as OutputFormat | undefined) ?? outputFormatOf(args.output)
    if (into === undefined) {
      throw new HepError(
        'INPUT_FORMAT',
        `${args.output}: cannot tell the output format from the name; say it with --into ${OUTPUT_FORMATS.join('|')}`,
      )
    }
    const enc = encodingOptionsFrom(f)
    const items = readHep(args.input, {
      from: f.from as HepFormat | undefined,
      timeByteOrder: f['time-byte-order'],
      ports: f.port,
    })
    const problems = new Map<string, number>()
    const stats = await convertItems(items, args.output, {
      ...enc,
      into,
      precision: f.precision,
      callIdOf,
      signal: this.stop.signal,
      warn: (m) => this.note(`warning: ${m}`),
      onSkip: (where, reason, error) => {
        const n = (problems.get(reason) ?? 0) + 1
        problems.set(reason, n)
        if (n <= 20) this.problem(`${where}: ${reason}${error ? ': ' + error.message : ''}`)
        else if (n === 21) this.problem(`more ${reason} items: not shown one by one`)
      },
    })
    this.summary(stats, args.output, into)
    if (stats.skipped.malformed || stats.skipped.unreadable) process.exitCode = EXIT.INPUT
    else if (stats.skipped['not encodable']) process.exitCode = EXIT.PARTIAL
  }

  private summary(s: ConvertStats, output: string, into: OutputFormat): void {
    if (this.flags.quiet) return
    const t = new Table({ style: { head: [], border: [], compact: true } })
    t.push({ in: String(s.in) }, { [`out (${into})`]: String(s.out) })
    for (const [reason, n] of Object.entries(s.skipped)) t.push({ [`skipped: ${reason}`]: String(n) })
    process.stderr.write(`${output === '-' ? 'stdout' : output}\n${t.toString()}\n`)
  }
}

function outputFormatOf(path: string): OutputFormat | undefined {
  const f = formatFromExtension(path)
  if (f === 'pcapng') return 'pcap'
  return f as OutputFormat | undefined
}
