/**
 * `hep convert` as a library call: packets from any HEP input (or messages from a capture) to any
 * output, with the HEP encoding options applied. Returns statistics; prints nothing.
 */
import type { Writable } from 'node:stream'
import { HepError } from '../errors.js'
import type { HepEncodingOptions } from '../hep/encoding-options.js'
import type { OutputError } from '../output/writer.js'
import { ItemEncoder } from '../item/encode.js'
import { cutByStop, cutText, type HepItem } from '../item/item.js'
import { countSkip } from '../item/skip.js'
import { openSink, packetTime, type OutputFormat, type SinkOptions } from './sinks.js'

export interface ConvertStats {
  /** packets or messages read */
  in: number
  /** written */
  out: number
  /** of those, RTCP reports (HEP payload type 5) */
  outRtcp?: number
  /** not written, by reason */
  skipped: Record<string, number>
  /** the output failed (disk full…): converting stopped there; reported once through output.onError */
  outputError?: OutputError
}

export interface ConvertOptions extends HepEncodingOptions, SinkOptions {
  into: OutputFormat
  /** the Call-ID finder for correlationId 'auto' */
  callIdOf?: (payload: Buffer) => string | undefined
  /** told about every item that is skipped, with its position */
  onSkip?: (where: string, reason: string, error?: HepError) => void
  /** stop early (Ctrl-C) */
  signal?: AbortSignal
  /** the record a stop cut short (not counted): what to say of it */
  onCut?: (text: string) => void
  /** progress callback, every few hundred items */
  onProgress?: (stats: ConvertStats) => void
}

/** Converts items (from readHep or the capture pipeline) into `output`. */
export async function convertItems(
  batches: AsyncIterable<HepItem[]>,
  output: string | Writable,
  opts: ConvertOptions,
): Promise<ConvertStats> {
  const stats: ConvertStats = { in: 0, out: 0, skipped: {} }
  // packets are encoded into one scratch buffer; sinks copy what they keep
  const encoder = new ItemEncoder(
    { ...opts, scratch: Buffer.allocUnsafe(65536), malformed: true },
    stats.skipped,
  )
  const sink = openSink(opts.into, output, opts)
  try {
    for await (const items of batches) {
      // a batch is what was read: after a stop it is still written (the messages a capture held while
      // its kind was undecided come as one, at the stop), then reading ends
      for (let i = 0; i < items.length; i++) {
        const item = items[i]
        if (cutByStop(item, opts.signal)) {
          opts.onCut?.(cutText(item))
          continue
        }
        stats.in++
        if (!encoder.next(item)) continue
        const p = encoder.packet
        try {
          const t = item.capture ? { seconds: item.capture.seconds, nanos: item.capture.nanos } : undefined
          sink.write(p, encoder.bytes, opts.into === 'hep-pcap' && t ? t : packetTime(p, t))
        } catch (e) {
          if (!(e instanceof HepError)) throw e
          encoder.skip(item, 'notEncodable', e)
          continue
        }
        stats.out++
        if (p.payloadType === 5) stats.outRtcp = (stats.outRtcp ?? 0) + 1
      }
      if (opts.signal?.aborted) break
      // waits while the output is over its bound: reading goes on only as fast as writing
      await sink.maybeFlush()
      opts.onProgress?.(stats)
      if (sink.error) break
    }
  } finally {
    await sink.close()
  }
  if (sink.error) {
    // what the output holds; the rest of what was written is lost with it
    stats.outputError = sink.error
    const kept = Math.min(stats.out, sink.out.confirmedItems)
    countSkip(stats.skipped, 'outputFailed', stats.out - kept)
    stats.out = kept
  }
  return stats
}
