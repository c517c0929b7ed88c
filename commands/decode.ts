import { Args, Flags } from '@oclif/core'
import { HEP_FORMATS, type HepFormat } from '../src/input/input.js'
import type { CaptureItems } from '../src/capture/items.js'
import { readHepBatches } from '../src/read/read-hep.js'
import { matchedNothing } from '../src/filter/filter.js'
import { tallyAll, type Counts } from '../src/item/skip.js'
import { cutByStop, cutText } from '../src/item/item.js'
import { BaseCommand, EXIT, outputBufferFlag } from './_base.js'
import { captureIdFilterFlag, filterFlags, filterFrom } from './_filter-flags.js'
import { timeByteOrderFlag } from './_hep-flags.js'
import { captureHints, plural } from './_hints.js'
import { pathsUsable } from './_paths.js'

export default class Decode extends BaseCommand<typeof Decode> {
  static override summary = 'Decode HEP from files, captures or stdin and show it'
  static override description = `Input formats are detected from the first bytes unless --from says: raw (back-to-back HEP packets, the bytes of a HEP-over-TCP stream; a v1/v2 file holds one packet), hex (one packet per line, as tshark -T fields -e udp.payload prints), jsonl (the JSON form), pcap/pcapng (HEP carried in captured UDP/TCP, any port, found by content).

One line per packet; --chunks adds a table of every chunk, --full the whole payload (SIP with its headers and body, JSON pretty-printed). Compressed payloads (chunk 0x0010: gzip, zlib or raw deflate) are shown inflated. The filters keep only the packets that pass all of them.

A malformed packet is reported with its position and reason; decoding goes on and the exit code is 1.`

  static override examples = [
    '<%= config.bin %> decode fixtures/hep/hep-v3.hex',
    '<%= config.bin %> decode fixtures/hep/hep-v2-sngrep.hex --chunks',
    '<%= config.bin %> decode fixtures/captures/hep-v3.pcap --method INVITE --full',
    '$ tshark -r fixtures/captures/hep-v3.pcap -T fields -e udp.payload | <%= config.bin %> decode --from hex --json',
    "<%= config.bin %> decode fixtures/captures/hep-v3.pcap --json | jq -r 'select(.summary | not) | .srcIp' | head -3",
  ]

  static override args = {
    files: Args.string({
      description: 'input files ("-" or none: stdin)',
      required: false,
      ignoreStdin: true,
    }),
  }

  static override strict = false

  static override flags = {
    from: Flags.option({ options: HEP_FORMATS, description: 'input format (default: detected)' })(),
    chunks: Flags.boolean({
      description: 'add a table of every chunk (vendor, id, name, length, value)',
      default: false,
    }),
    full: Flags.boolean({
      description: 'add the whole payload: SIP with its headers and body, JSON pretty-printed',
      default: false,
    }),
    ...filterFlags,
    ...captureIdFilterFlag,
    'output-buffer': outputBufferFlag,
    'time-byte-order': timeByteOrderFlag(),
  }

  public async run(): Promise<void> {
    const { argv } = await this.parse(Decode)
    const files = (argv as string[]).length > 0 ? (argv as string[]) : ['-']
    const f = this.flags
    const filter = this.usage(() => filterFrom(f, true))
    if (!pathsUsable('decode', files)) return
    let ok = 0
    let bad = 0
    /** what the captures among the inputs held and decode skipped, by reason (as the notes say) */
    const skipped: Counts = {}
    const hints: string[] = []
    for (const file of files) {
      let capture: CaptureItems | undefined
      const okBefore = ok
      const batches = readHepBatches(file, {
        from: f.from as HepFormat | undefined,
        timeByteOrder: f['time-byte-order'],
        onCapture: (c) => (capture = c),
        stdin: this.stdin,
      })
      for await (const items of batches) {
        // a batch is what was read: after a stop it is still shown, then reading ends
        for (const item of items) {
          if (cutByStop(item, this.stop.signal)) {
            this.note(cutText(item))
            continue
          }
          if (item.error || !item.packet) {
            bad++
            this.problem(`${item.where}: ${item.error?.message ?? 'no packet'}`)
            continue
          }
          if (!filter.empty && !filter.matches(item.packet, item.sip)) continue
          ok++
          this.packetOut(item.packet, f.json ? '' : this.c.dim('#' + item.index))
        }
        if (this.stopped) break
        await this.out.drained()
      }
      const cap = capture as CaptureItems | undefined
      if (cap && !this.stopped) {
        tallyAll(skipped, cap.stats.skipped)
        const what = Object.entries(cap.stats.skipped).map(([r, n]) => `${n} ${r}`)
        if (what.length > 0)
          this.note(`${file}: ${plural(cap.stats.records, 'record')}; skipped: ${what.join(', ')}`)
        hints.push(...captureHints('decode', file, cap.stats.skipped, ok - okBefore))
      }
      if (this.stopped) break
    }
    const speak = this.stopReason !== 'pipe'
    if (speak) {
      const nothing = matchedNothing(filter)
      if (nothing) this.note(nothing)
      for (const h of hints) this.note(h)
    }
    const json = {
      packets: ok,
      malformed: bad,
      ...(filter.empty ? {} : { filtered: filter.filtered }),
      // as `filtered`: there when the inputs (captures) had something to skip
      ...(Object.keys(skipped).length > 0 ? { skipped } : {}),
    }
    // under --json the summary is the last stdout line; when stdout failed, it is said on stderr
    const onStdout = f.json && !this.out.error
    if (speak && onStdout) this.summaryOut(json, () => {}, true)
    await this.out.end()
    const outErr = this.out.error
    if (speak && (!onStdout || outErr))
      this.summaryOut(
        json,
        () =>
          this.note(
            `${plural(ok, 'packet')} decoded${bad ? `, ${bad} malformed` : ''}` +
              (filter.empty ? '' : `, ${filter.filtered} filtered out`) +
              (outErr ? `; stdout took ${this.out.confirmedItems} lines, then ${outErr.reason}` : ''),
          ),
        false,
      )
    if (this.out.error) process.exitCode = EXIT.OUTPUT
    else if (bad > 0) process.exitCode = EXIT.INPUT
  }
}
