/**
 * `hep replay` as a library call: the SIP messages of captures, merged by time, re-encoded as HEP
 * with the chosen options and sent on the scheduler's clock. Returns statistics; prints nothing.
 */
import { performance } from 'node:perf_hooks'
import { CaptureItems } from '../capture/items.js'
import { warmUp } from '../capture/warm.js'
import type { HepError } from '../errors.js'
import type { HepEncodingOptions } from '../hep/encoding-options.js'
import type { HepPacket } from '../hep/packet.js'
import { msToMicros } from '../hep/time.js'
import type { PacketFilter } from '../filter/filter.js'
import { inputName, type StdinSource } from '../input/input.js'
import { cutByStop } from '../item/item.js'
import { captureTime, timeline } from '../item/timeline.js'
import { ItemEncoder } from '../item/encode.js'
import { countSkip, tallyAll } from '../item/skip.js'
import type { HepSender } from '../net/sender-types.js'
import type { RtcpMode } from '../rtcp/correlate.js'
import { closeOrStop } from '../send/send.js'
import { Schedule, TimingStats, waitUntil, type ScheduleOptions } from './scheduler.js'
import { untilAborted } from '../wait.js'

export interface ReplayOptions extends HepEncodingOptions {
  files: string[]
  /** stdin, for a file of '-' (default: one of its own) */
  stdin?: StdinSource
  timing: ScheduleOptions
  /** times to play the captures (default 1; 0 = until stopped) */
  loop?: number
  /** stop after this many packets */
  limit?: number
  /** HEP timestamps: the capture's (default) or shifted so the first packet is now */
  timestamps?: 'original' | 'now'
  /** only the messages that pass (filter/filter.ts); those that do not are counted as 'filtered out' */
  filter?: PacketFilter
  /** the captures' RTCP as HEP type 5: of their calls (default 'correlated'), 'all', or 'off' */
  rtcp?: RtcpMode
  signal?: AbortSignal
  /** the sender balances by call: give it each message's Call-ID */
  needCallId?: boolean
  /**
   * called for each packet as it is sent (or, in a dry run, instead of sending); `bytes` is a view
   * of a shared 1 MiB slab (HEP3): copy it to keep it, or the whole slab stays alive with it
   */
  onPacket?: (p: HepPacket, bytes: Buffer) => void
  /** called for every item that cannot be replayed */
  onSkip?: (where: string, reason: string, error?: HepError) => void
  /** called after every packet (one object, updated in place: read it then, do not keep it) */
  onProgress?: (s: ReplayProgress) => void
  /** ms the sender may still flush after `signal` stopped the replay (default 400) */
  stopFlushMs?: number
  /**
   * encode into this buffer: the bytes handed to the sender are then a view of it, good until the
   * next packet (only for a sender that copies them at once: the replay thread's, worker.ts)
   */
  scratch?: Buffer
}

export interface ReplayProgress {
  packets: number
  elapsedMs: number
  /** capture time covered so far, ms from the first packet */
  captureMs: number
}

export interface ReplayStats {
  /** packets handed to the sender (or printed, in a dry run) */
  packets: number
  sent: number
  failed: number
  dropped: number
  skipped: Record<string, number>
  loops: number
  elapsedMs: number
  /** achieved rate, packets/s */
  rate: number
  /** lateness of each send against its schedule, ms */
  timing: { median: number; p99: number; max: number; count: number }
  /**
   * records read from the captures, over all loops (after a stop, those read so far: the captures
   * are read a batch ahead, and what was read and not replayed is skipped as 'left by the stop')
   */
  records: number
  /**
   * RTCP, over all loops (absent with rtcp 'off'): packets found; sent (handed to the sender, or
   * printed in a dry run); skipped as of no call in the captures, and as malformed; made into HEP
   * and left out by the filters, the encoder or a stop. found = sent + uncorrelated + malformed +
   * leftOut.
   */
  rtcp?: { found: number; sent: number; uncorrelated: number; malformed: number; leftOut: number }
}

export { mergeByTime } from '../item/timeline.js'

export async function replay(opts: ReplayOptions, sender?: HepSender): Promise<ReplayStats> {
  try {
    return await play(opts, sender)
  } catch (e) {
    // an input that cannot be read (or our bug): the sender's socket and reconnect timers must not
    // outlive the replay; they kept the process alive, deaf to Ctrl-C, after the error was printed
    await sender?.close({ timeout: 0 }).catch(() => {})
    throw e
  }
}

async function play(opts: ReplayOptions, sender?: HepSender): Promise<ReplayStats> {
  const encoder = new ItemEncoder(opts)
  const skipped = encoder.skipped
  const schedule = new Schedule(opts.timing)
  const timing = new TimingStats()
  const filter = opts.filter?.empty === false ? opts.filter : undefined
  const needSip = filter?.needsSip === true || opts.correlationId === 'auto' || opts.needCallId === true
  const loops = opts.loop ?? 1
  const dry = sender === undefined
  const topspeed = opts.timing.mode.kind === 'topspeed'
  let packets = 0
  let records = 0
  const rtcpMode = opts.rtcp ?? 'correlated'
  const rtcp =
    rtcpMode === 'off' ? undefined : { found: 0, sent: 0, uncorrelated: 0, malformed: 0, leftOut: 0 }
  let rtcpItems = 0
  let loop = 0
  let firstCapture: number | undefined
  let wallStartMs = 0
  let start = 0
  // elapsedMs read when the reader asks (no clock read per packet: the CLI never asks)
  const progress: ReplayProgress = {
    packets: 0,
    get elapsedMs() {
      return packets > 0 ? performance.now() - start : 0
    },
    captureMs: 0,
  }
  // timestamps 'now': each packet stamped with the wall time of its place in the schedule
  let wallTime = 0
  const stampNow =
    opts.timestamps === 'now'
      ? (p: HepPacket) => {
          const t = msToMicros(wallTime)
          p.timeSeconds = t.seconds
          p.timeUseconds = t.useconds
        }
      : undefined
  if (sender !== undefined) {
    // connect (and resolve) before the clock starts, so the first packets are not late for it
    await untilAborted(
      sender.connect().catch(() => {}),
      opts.signal,
    )
  }
  // a live pipe (tcpdump ... -w - | hep replay -): its first packets must not meet cold code
  if (opts.files.includes('-')) {
    // tcpdump writes pcap, dumpcap pcapng
    await warmUp({ ...opts, sipDetails: needSip, rtcp: rtcpMode, format: 'pcap' })
    await warmUp({ ...opts, sipDetails: needSip, rtcp: rtcpMode, format: 'pcapng', messages: 100 })
  }
  for (; loops === 0 || loop < loops; loop++) {
    if (loop > 0) schedule.nextLoop()
    const captures = opts.files.map(
      (f) =>
        new CaptureItems(f, inputName(f), {
          mode: 'sip',
          // the port filter already where the capture is read: other ports' TCP is never reassembled
          portRanges: filter?.opts.ports,
          captureId: opts.captureId ?? 1,
          rtcp: rtcpMode,
          stdin: opts.stdin,
          // the SIP scan (Call-ID, method) only when something uses it
          extract: { sipDetails: needSip },
        }),
    )
    // a stop (Ctrl-C, --limit) leaves the loop below, then the captures' counts are still taken;
    // the items they handed out that were neither sent nor skipped were left by the stop
    let stop = false
    let handled = 0
    read: for await (const batch of timeline(captures.map((c) => c.batches())))
      for (const it of batch) {
        if (opts.signal?.aborted) {
          // the error of an input the stop ended before its first byte or inside a record is no
          // item that was left: it is counted nowhere (the other readers name it; replay's summary
          // is of packets)
          if (cutByStop(it, opts.signal)) {
            handled++
            continue
          }
          stop = true
          break read
        }
        handled++
        if (!encoder.readable(it)) continue
        if (filter && !filter.matches(it.packet as HepPacket, it.sip)) {
          countSkip(skipped, 'filtered')
          continue
        }
        const t = captureTime(it)
        const offset = schedule.at(t)
        if (packets === 0) {
          wallStartMs = Date.now()
          firstCapture = t
        }
        if (opts.timestamps === 'now') wallTime = wallStartMs + offset
        if (!encoder.encode(it, stampNow)) continue
        const p = encoder.packet
        const bytes = encoder.bytes
        if (dry) {
          if (packets === 0) start = performance.now()
        } else if (packets === 0) {
          // the first packet defines time zero: the clock starts once it is handed to the socket, so
          // its one-off costs (first send on a socket) shift nothing after it
          start = performance.now()
          if (!sender.send(bytes, it.sip?.callId ?? p.correlationId))
            await untilAborted(sender.ready(), opts.signal)
          // a UDP send leaves on the next tick (after the address lookup Node queues): let it go
          // before the (cold) preparation of the next packet can delay it
          await new Promise<void>((r) => process.nextTick(r))
          if (!topspeed) timing.add(0)
        } else {
          if (!topspeed) {
            const w = waitUntil(start, offset, opts.signal, opts.timing.spinMs)
            const late = typeof w === 'number' ? w : await w
            if (opts.signal?.aborted) {
              handled-- // not sent
              stop = true
              break read
            }
            timing.add(late)
          }
          if (!sender.send(bytes, it.sip?.callId ?? p.correlationId))
            await untilAborted(sender.ready(), opts.signal)
        }
        packets++
        if (rtcp !== undefined && p.payloadType === 5) rtcp.sent++
        opts.onPacket?.(p, bytes)
        if (opts.onProgress) {
          progress.packets = packets
          progress.captureMs = (t - (firstCapture ?? t)) * 1000
          opts.onProgress(progress)
        }
        if (opts.limit !== undefined && packets >= opts.limit) {
          stop = true
          break read
        }
      }
    let items = 0
    for (const c of captures) {
      items += c.items
      records += c.stats.records
      // what the captures held besides SIP (RTP, ...): in every loop, as the records are counted
      tallyAll(skipped, c.stats.skipped)
      const k = c.rtcpCounts
      if (rtcp === undefined || k === undefined) continue
      rtcp.found += k.found
      rtcp.uncorrelated += k.uncorrelated
      rtcp.malformed += k.malformed
      rtcpItems += k.items
    }
    countSkip(skipped, 'stopped', items - handled)
    if (stop) break
  }
  if (rtcp !== undefined) rtcp.leftOut = rtcpItems - rtcp.sent
  const elapsedMs = packets > 0 ? performance.now() - start : 0
  // stopped (Ctrl-C), before or while closing: what is queued gets a short while, then the summary
  const stopFlushMs = opts.stopFlushMs ?? 400
  const s = sender
    ? await closeOrStop(
        sender.close(opts.signal?.aborted ? { timeout: stopFlushMs } : {}),
        sender,
        opts.signal,
        stopFlushMs,
      )
    : undefined
  return {
    packets,
    sent: s ? s.sent : 0,
    failed: s ? s.failed : 0,
    dropped: s ? s.dropped : 0,
    skipped,
    loops: Math.min(loop + 1, loops === 0 ? loop + 1 : loops),
    elapsedMs,
    rate: elapsedMs > 0 ? (packets / elapsedMs) * 1000 : 0,
    timing: timing.summary(),
    records,
    rtcp,
  }
}
