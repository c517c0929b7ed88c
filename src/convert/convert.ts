/**
 * `hep convert` as a library call: packets from any HEP input (or messages from a capture) to any
 * output, with the HEP encoding options applied. Returns statistics; prints nothing.
 */
import type { Writable } from 'node:stream'
import { HepError } from '../errors.js'
import { encode } from '../hep/codec.js'
import {
  applyEncodingOptions,
  checkEncodingOptions,
  type HepEncodingOptions,
} from '../hep/encoding-options.js'
import { reportLosses } from '../hep/lossy.js'
import type { HepPacket } from '../hep/packet.js'
import type { HepItem } from '../io/hep-source.js'
import type { OutputError } from '../io/writer.js'
import { openSink, packetTime, type OutputFormat, type SinkOptions } from './sinks.js'

export interface ConvertStats {
  /** packets or messages read */
  in: number
  /** written */
  out: number
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
  /** progress callback, every few hundred items */
  onProgress?: (stats: ConvertStats) => void
}

export function skip(stats: ConvertStats, reason: string): void {
  stats.skipped[reason] = (stats.skipped[reason] ?? 0) + 1
}

/** Converts items (from readHep or the capture pipeline) into `output`. */
export async function convertItems(
  batches: AsyncIterable<HepItem[]>,
  output: string | Writable,
  opts: ConvertOptions,
): Promise<ConvertStats> {
  checkEncodingOptions(opts)
  const sink = openSink(opts.into, output, opts)
  const stats: ConvertStats = { in: 0, out: 0, skipped: {} }
  // packets are encoded into one scratch buffer; sinks copy what they keep
  const scratch = Buffer.allocUnsafe(65536)
  const plain =
    opts.version === undefined &&
    opts.captureId === undefined &&
    opts.nodeName === undefined &&
    opts.authKey === undefined &&
    opts.correlationId === undefined
  try {
    for await (const items of batches) {
      if (opts.signal?.aborted) break
      for (let i = 0; i < items.length; i++) {
        const item = items[i]
        stats.in++
        if (item.error || !item.packet) {
          const reason =
            item.error?.code === 'INPUT_FORMAT' || item.error?.code === 'HEP_JSON'
              ? 'unreadable'
              : 'malformed'
          skip(stats, reason)
          opts.onSkip?.(item.where, reason, item.error)
          continue
        }
        let p: HepPacket = item.packet
        let bytes: Buffer
        try {
          if (!plain) p = applyEncodingOptions(p, opts, item.sip ? () => item.sip?.callId : opts.callIdOf)
          else if (p.version !== 3 && opts.onLoss) reportLosses(p, p.version, opts.onLoss)
          encode(p, scratch, 0)
          bytes = scratch.subarray(0, encode.bytes)
          const t = item.capture ? { seconds: item.capture.seconds, nanos: item.capture.nanos } : undefined
          sink.write(p, bytes, opts.into === 'hep-pcap' && t ? t : packetTime(p, t))
        } catch (e) {
          if (!(e instanceof HepError)) throw e
          skip(stats, 'not encodable')
          opts.onSkip?.(item.where, 'not encodable', e)
          continue
        }
        stats.out++
      }
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
    if (stats.out > kept) stats.skipped['output failed'] = stats.out - kept
    stats.out = kept
  }
  return stats
}
