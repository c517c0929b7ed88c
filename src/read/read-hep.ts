/**
 * One entry point for "HEP packets from this input, whatever its format": files or stdin in raw,
 * hex, jsonl, or pcap/pcapng carrying HEP (found by content). Above both readers: input/hep-source.ts
 * reads the HEP formats, capture/items.ts the captures.
 */
import { statSync } from 'node:fs'
import type { Readable } from 'node:stream'
import { CaptureItems } from '../capture/items.js'
import { hepSourceBatches, type HepSourceOptions } from '../input/hep-source.js'
import { checkInput } from '../input/paths.js'
import type { HepItem } from '../item/item.js'
import type { RtcpMode } from '../rtcp/correlate.js'
import {
  inputName,
  openInput,
  sniffFile,
  sniffFormat,
  sniffStream,
  unknownFormat,
  type HepFormat,
  type StdinSource,
} from '../input/input.js'

export interface ReadHepOptions extends HepSourceOptions {
  /** the format, when not to be sniffed */
  from?: HepFormat
  /** pcap input: only traffic to or from these ports */
  ports?: number[]
  portRanges?: [number, number][]
  /** pcap input: HEP packets it carries ('hep', default), its SIP messages ('sip'), or whichever it has ('auto') */
  captureMode?: 'hep' | 'sip' | 'auto'
  /** capture id for SIP messages encapsulated from a capture */
  captureId?: number
  /** capture input: scan SIP messages for Call-ID etc. (default true; convert turns it off when unneeded) */
  sipDetails?: boolean
  /** a SIP capture's RTCP as HEP type 5: correlated (default), all, or off (CaptureItemsOptions.rtcp) */
  rtcp?: RtcpMode
  /** handed the capture reader when the input is a capture (for statistics and progress) */
  onCapture?: (c: CaptureItems) => void
  /** stdin, for a path of '-' (default: one of its own) */
  stdin?: StdinSource
}

/** Packets from one input, one array per read. */
export async function* readHepBatches(path: string, opts: ReadHepOptions = {}): AsyncGenerator<HepItem[]> {
  const name = inputName(path)
  let source: string | NodeJS.ReadableStream = path
  let format = opts.from
  let stream: Readable | undefined
  let head: Buffer | undefined
  checkInput(path) // a missing file or a directory is named, not an fs error
  if (path === '-' || !statSync(path).isFile()) {
    // stdin, a FIFO: sniff the stream and hand on every byte
    const sniffed = await sniffStream(openInput(path, opts.stdin), name)
    if (sniffed.empty) return
    format ??= sniffed.format
    source = stream = sniffed.stream
  } else {
    // a file: sniff its first bytes and let the reader open it itself (positional reads, no copies)
    head = sniffFile(path)
    if (head.length === 0) return
    format ??= sniffFormat(head)
  }
  if (format === undefined) throw unknownFormat(name, head)
  if (format === 'pcap' || format === 'pcapng' || format === 'hep-pcap') {
    const portRanges = opts.portRanges ?? opts.ports?.map((p): [number, number] => [p, p])
    const mode = format === 'hep-pcap' ? 'hep' : (opts.captureMode ?? 'hep')
    const items = new CaptureItems(source, name, {
      ...opts,
      mode,
      portRanges,
      extract: { sipDetails: opts.sipDetails },
    })
    opts.onCapture?.(items)
    yield* items.batches()
    return
  }
  yield* hepSourceBatches(format, stream ?? openInput(path, opts.stdin), name, opts)
}

/** Packets from one input, one at a time. */
export async function* readHep(path: string, opts: ReadHepOptions = {}): AsyncGenerator<HepItem> {
  for await (const batch of readHepBatches(path, opts)) yield* batch
}
