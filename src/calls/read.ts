/**
 * `hep calls` as a library call: the packets of captures (their SIP, or the HEP they carry), HEP
 * files in any format and stdin, several inputs merged by capture time, into a CallCollector.
 * Returns what was read; the calls go to `onCall` as they are emitted.
 */
import type { HepError } from '../errors.js'
import { cutByStop, cutText, type HepItem } from '../item/item.js'
import type { HepFormat, StdinSource } from '../input/input.js'
import { readHepBatches } from '../read/read-hep.js'
import type { DecodeOptions } from '../hep/codec.js'
import { timeline } from '../item/timeline.js'
import { CallCollector, timeUsOf, type CollectOptions } from './collect.js'

export interface ReadCallsOptions extends CollectOptions {
  files: string[]
  from?: HepFormat
  timeByteOrder?: DecodeOptions['timeByteOrder']
  signal?: AbortSignal
  /** stdin, for a file of '-' (default: one of its own); the CLI's, which a stop (Ctrl-C) ends */
  stdin?: StdinSource
  /** awaited after each batch: reading waits while the output (the rows) is not taken (--output-buffer) */
  drained?: () => Promise<void>
  /** an item that could not be read (malformed packet, a capture that cannot be read on) */
  onBad?: (where: string, error: HepError | undefined) => void
  /** the record a stop cut short (not counted): what to say of it */
  onCut?: (text: string) => void
}

export interface ReadCallsResult {
  collector: CallCollector
  /** packets read, and those that could not be */
  packets: number
  malformed: number
}

const itemTime = (it: HepItem) => (it.packet ? timeUsOf(it.packet) : 0)

export async function readCalls(opts: ReadCallsOptions): Promise<ReadCallsResult> {
  const collector = new CallCollector(opts)
  let packets = 0
  let malformed = 0
  const sources = opts.files.map((f) =>
    readHepBatches(f, {
      from: opts.from,
      captureMode: 'auto',
      timeByteOrder: opts.timeByteOrder,
      stdin: opts.stdin,
    }),
  )
  for await (const batch of timeline(sources, itemTime)) {
    // a batch is what was read: after a stop it is still counted (the messages a capture held while
    // its kind was undecided come as one, at the stop), then reading ends
    for (const it of batch) {
      if (cutByStop(it, opts.signal)) {
        opts.onCut?.(cutText(it))
        continue
      }
      if (it.error || !it.packet) {
        malformed++
        opts.onBad?.(it.where, it.error)
        continue
      }
      packets++
      // a SIP message of a capture carries no raw HEP bytes; a HEP packet of a capture does
      collector.packet(it.packet, it.sip, it.capture !== undefined && it.raw === undefined)
    }
    if (opts.signal?.aborted) break
    if (opts.drained) await opts.drained()
  }
  collector.end()
  return { collector, packets, malformed }
}
