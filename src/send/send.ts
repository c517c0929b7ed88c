/**
 * Sending packets: each item completed (hand-written JSON), given the encoding options, encoded and
 * handed to a sender with backpressure. Returns statistics whose sent + failed + dropped add up to
 * the total; prints nothing.
 */
import { HepError } from '../errors.js'
import { encode } from '../hep/codec.js'
import { completePacket } from '../hep/complete.js'
import {
  applyEncodingOptions,
  checkEncodingOptions,
  type HepEncodingOptions,
} from '../hep/encoding-options.js'
import type { HepItem } from '../io/hep-source.js'
import type { HepSender, SenderStats } from '../net/sender-types.js'
import { scanSip } from '../sip/scan.js'

export interface SendStats {
  /** items read */
  in: number
  /** not sent because they could not be read or encoded, by reason */
  skipped: Record<string, number>
  /** what the sender did with the rest */
  sender: SenderStats
}

export interface SendOptions extends HepEncodingOptions {
  /** the sender balances by call: give it each packet's correlation id or Call-ID */
  needCallId?: boolean
  /** encode every packet anew even when no option changes it (e.g. v2 read with big-endian times) */
  reencode?: boolean
  signal?: AbortSignal
  onSkip?: (where: string, reason: string, error?: HepError) => void
}

const callIdOf = (payload: Buffer) => scanSip(payload)?.callId

export async function sendItems(
  batches: AsyncIterable<HepItem[]>,
  sender: HepSender,
  opts: SendOptions,
  closeTimeoutMs = 5000,
): Promise<SendStats> {
  checkEncodingOptions(opts)
  // with no option that changes a packet, bytes read as HEP go out as they came (decode -> encode
  // gives back the same bytes; the packet was decoded only to check it)
  const asRead =
    opts.reencode !== true &&
    opts.version === undefined &&
    opts.captureId === undefined &&
    opts.nodeName === undefined &&
    opts.authKey === undefined &&
    opts.correlationId === undefined
  const stats: SendStats = { in: 0, skipped: {}, sender: sender.stats() }
  const skip = (where: string, reason: string, error?: HepError) => {
    stats.skipped[reason] = (stats.skipped[reason] ?? 0) + 1
    opts.onSkip?.(where, reason, error)
  }
  outer: for await (const items of batches) {
    for (const item of items) {
      if (opts.signal?.aborted) break outer
      stats.in++
      if (item.error || !item.packet) {
        skip(item.where, 'unreadable', item.error)
        continue
      }
      let bytes: Buffer
      let key: string | undefined
      try {
        let p = item.packet
        if (asRead && item.raw !== undefined) bytes = item.raw
        else {
          // a decoded v3 packet (it has a chunk list) goes out as it came; hand-written ones are completed
          const base = p.chunks === undefined ? completePacket(p) : p
          p = applyEncodingOptions(base, opts, callIdOf)
          bytes = encode(p)
        }
        if (opts.needCallId === true) key = p.correlationId ?? (p.payload ? callIdOf(p.payload) : undefined)
      } catch (e) {
        if (!(e instanceof HepError)) throw e
        skip(item.where, 'not encodable', e)
        continue
      }
      if (!sender.send(bytes, key)) await Promise.race([sender.ready(), aborted(opts.signal)])
    }
  }
  stats.sender = await sender.close({ timeout: closeTimeoutMs })
  return stats
}

function aborted(signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (!signal) return
    if (signal.aborted) resolve()
    else signal.addEventListener('abort', () => resolve(), { once: true })
  })
}
