/**
 * One entry point for "HEP packets from this input, whatever its format": files or stdin in raw,
 * hex, jsonl, or pcap/pcapng carrying HEP (found by content).
 */
import { CaptureItems } from '../capture/items.js'
import { hepSource, type HepItem, type HepSourceOptions } from './hep-source.js'
import { inputName, openInput, sniffStream, unknownFormat, type HepFormat } from './input.js'

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
  /** handed the capture reader when the input is a capture (for statistics and progress) */
  onCapture?: (c: CaptureItems) => void
}

export async function* readHep(path: string, opts: ReadHepOptions = {}): AsyncGenerator<HepItem> {
  const name = inputName(path)
  const sniffed = await sniffStream(openInput(path), name)
  if (sniffed.empty) return
  const format = opts.from ?? sniffed.format
  if (format === undefined) throw unknownFormat(name)
  if (format === 'pcap' || format === 'pcapng' || format === 'hep-pcap') {
    const portRanges = opts.portRanges ?? opts.ports?.map((p): [number, number] => [p, p])
    const mode = format === 'hep-pcap' ? 'hep' : (opts.captureMode ?? 'hep')
    const items = new CaptureItems(sniffed.stream, name, { ...opts, mode, portRanges })
    opts.onCapture?.(items)
    yield* items
    return
  }
  yield* hepSource(format, sniffed.stream, name, opts)
}
