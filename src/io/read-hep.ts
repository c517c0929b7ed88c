/**
 * One entry point for "HEP packets from this input, whatever its format": files or stdin in raw,
 * hex, jsonl, or pcap/pcapng carrying HEP (found by content).
 */
import { HepError } from '../errors.js'
import { hepSource, type HepItem, type HepSourceOptions } from './hep-source.js'
import { inputName, openInput, sniffStream, unknownFormat, type HepFormat } from './input.js'

export interface ReadHepOptions extends HepSourceOptions {
  /** the format, when not to be sniffed */
  from?: HepFormat
  /** pcap input: only UDP/TCP traffic to or from these ports */
  ports?: number[]
}

/** Pcap input is plugged in by the capture module (kept apart so HEP-only use loads no pcap code). */
export type PcapHepSource = (
  stream: NodeJS.ReadableStream,
  name: string,
  opts: ReadHepOptions,
) => AsyncGenerator<HepItem>
let pcapSource: PcapHepSource | undefined
export function registerPcapHepSource(fn: PcapHepSource): void {
  pcapSource = fn
}

export async function* readHep(path: string, opts: ReadHepOptions = {}): AsyncGenerator<HepItem> {
  const name = inputName(path)
  const sniffed = await sniffStream(openInput(path), name)
  if (sniffed.empty) return
  const format = opts.from ?? sniffed.format
  if (format === undefined) throw unknownFormat(name)
  if (format === 'pcap' || format === 'pcapng' || format === 'hep-pcap') {
    if (pcapSource === undefined) throw new HepError('INPUT_FORMAT', `${name}: pcap input is not available`)
    yield* pcapSource(sniffed.stream, name, opts)
    return
  }
  yield* hepSource(format, sniffed.stream, name, opts)
}
