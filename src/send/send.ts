/**
 * Sending packets: each item completed (hand-written JSON), given the encoding options, encoded and
 * handed to a sender with backpressure. Returns statistics whose sent + failed + dropped add up to
 * the total; prints nothing.
 */
import type { HepError } from '../errors.js'
import { payloadOf } from '../hep/compress.js'
import type { HepEncodingOptions } from '../hep/encoding-options.js'
import type { HepPacket } from '../hep/packet.js'
import { ItemEncoder } from '../item/encode.js'
import { cutByStop, type HepItem } from '../item/item.js'
import { countSkip } from '../item/skip.js'
import type { HepSender, SenderStats } from '../net/sender-types.js'
import { callIdOf } from '../sip/call-id.js'

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
  /** ms the sender may still flush once `signal` has stopped the sending (default 400) */
  stopFlushMs?: number
  onSkip?: (where: string, reason: string, error?: HepError) => void
}

/** The SIP Call-ID of a packet's payload (inflated when compressed). */
function callIdOfPacket(p: HepPacket): string | undefined {
  const b = payloadOf(p)
  return b ? callIdOf(b) : undefined
}

export async function sendItems(
  batches: AsyncIterable<HepItem[]>,
  sender: HepSender,
  opts: SendOptions,
  closeTimeoutMs = 5000,
): Promise<SendStats> {
  const stats: SendStats = { in: 0, skipped: {}, sender: sender.stats() }
  const encoder = new ItemEncoder(
    {
      ...opts,
      callIdOf,
      // a decoded v3 packet (it has a chunk list) goes out as it came; hand-written ones are completed
      complete: true,
      // with no option that changes a packet, bytes read as HEP go out as they came (decode -> encode
      // gives back the same bytes; the packet was decoded only to check it)
      reuseRaw: opts.reencode !== true,
    },
    stats.skipped,
  )
  outer: for await (const items of batches) {
    for (let i = 0; i < items.length; i++) {
      const item = items[i]
      if (opts.signal?.aborted) {
        // read and not sent: left by the stop (as replay counts them), but for the record the stop cut
        let left = 0
        for (let j = i; j < items.length; j++) if (!cutByStop(items[j], opts.signal)) left++
        stats.in += left
        countSkip(stats.skipped, 'stopped', left)
        break outer
      }
      stats.in++
      if (!encoder.next(item)) continue
      const p = encoder.packet
      const key = opts.needCallId === true ? (p.correlationId ?? callIdOfPacket(p)) : undefined
      if (!sender.send(encoder.bytes, key)) await Promise.race([sender.ready(), aborted(opts.signal)])
    }
  }
  const stopFlushMs = opts.stopFlushMs ?? 400
  const closing = sender.close({ timeout: opts.signal?.aborted ? stopFlushMs : closeTimeoutMs })
  stats.sender = await closeOrStop(closing, sender, opts.signal, stopFlushMs)
  return stats
}

/**
 * The sender's final statistics; should `signal` stop us while the sender still flushes, at most
 * `graceMs` more, then what it has not written counts as failed.
 */
export async function closeOrStop(
  closing: Promise<SenderStats>,
  sender: HepSender,
  signal: AbortSignal | undefined,
  graceMs: number,
): Promise<SenderStats> {
  if (!signal) return closing
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<undefined>((resolve) => {
    const onAbort = () => (timer = setTimeout(() => resolve(undefined), graceMs))
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
    const off = () => signal.removeEventListener('abort', onAbort)
    closing.then(off, off)
  })
  const done = await Promise.race([closing, late])
  if (timer) clearTimeout(timer)
  if (done) return done
  const s = sender.stats()
  return { ...s, failed: s.failed + s.queued + s.inFlight, queued: 0, inFlight: 0 }
}

function aborted(signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (!signal) return
    if (signal.aborted) resolve()
    else signal.addEventListener('abort', () => resolve(), { once: true })
  })
}
