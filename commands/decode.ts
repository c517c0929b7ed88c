import { Args, Flags } from '@oclif/core'
import { HEP_FORMATS, type HepFormat } from '../src/input/input.js'
import type { CaptureItems } from '../src/capture/items.js'
import { readHepBatches } from '../src/read/read-hep.js'
import { BaseCommand, EXIT, outputBufferFlag } from './_base.js'
import { timeByteOrderFlag } from './_hep-flags.js'
import { pathsUsable } from './_paths.js'

export default class Decode extends BaseCommand<typeof Decode> {
  static override summary = 'Decode HEP from files, captures or stdin and show it'
  static override description = `Input formats are detected from the first bytes unless --from says:
raw (back-to-back HEP packets, the bytes of a HEP-over-TCP stream; a v1/v2 file holds one packet),
hex (one packet per line, as tshark -T fields -e udp.payload prints), jsonl (the JSON form),
pcap/pcapng (HEP carried in captured UDP/TCP, any port, found by content; --port to restrict).
A malformed packet is reported with its position and reason; decoding goes on and the exit code is 1.`

  static override examples = [
    '<%= config.bin %> decode fixtures/hep/hep-v3.hex',
    '<%= config.bin %> decode fixtures/hep/hep-v2-sngrep.hex --chunks',
    'tshark -r capture.pcap -T fields -e udp.payload | <%= config.bin %> decode --from hex --json',
    '<%= config.bin %> decode fixtures/captures/hep-v3.pcap --json | jq -r .payload | head',
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
    port: Flags.integer({
      description: 'pcap input: only traffic to or from this port (repeatable)',
      multiple: true,
    }),
    'output-buffer': outputBufferFlag,
    'time-byte-order': timeByteOrderFlag(),
  }

  public async run(): Promise<void> {
    const { argv } = await this.parse(Decode)
    const files = (argv as string[]).length > 0 ? (argv as string[]) : ['-']
    const f = this.flags
    if (!pathsUsable('decode', files)) return
    let ok = 0
    let bad = 0
    for (const file of files) {
      let capture: CaptureItems | undefined
      const batches = readHepBatches(file, {
        from: f.from as HepFormat | undefined,
        ports: f.port,
        timeByteOrder: f['time-byte-order'],
        onCapture: (c) => (capture = c),
        stdin: this.stdin,
      })
      for await (const items of batches) {
        if (this.stopped) break
        for (const item of items) {
          if (item.error || !item.packet) {
            bad++
            this.problem(`${item.where}: ${item.error?.message ?? 'no packet'}`)
            continue
          }
          ok++
          this.packetOut(item.packet, f.json ? '' : this.c.dim('#' + item.index))
        }
        await this.out.drained()
      }
      const cap = capture as CaptureItems | undefined
      if (cap && !this.stopped) {
        const skipped = Object.entries(cap.stats.skipped).map(([r, n]) => `${n} ${r}`)
        if (skipped.length > 0)
          this.note(`${file}: ${cap.stats.records} records; skipped: ${skipped.join(', ')}`)
      }
      if (this.stopped) break
    }
    await this.out.end()
    if (this.stopReason !== 'pipe')
      this.note(
        `${ok} packet${ok === 1 ? '' : 's'} decoded${bad ? `, ${bad} malformed` : ''}` +
          (this.out.error
            ? `; stdout took ${this.out.confirmedItems} lines, then ${this.out.error.reason}`
            : ''),
      )
    if (this.out.error) process.exitCode = EXIT.OUTPUT
    else if (bad > 0) process.exitCode = EXIT.INPUT
  }
}
