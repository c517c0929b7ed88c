/**
 * `hep replay --topspeed` on two threads: a worker (worker.ts) runs the replay itself (reading the
 * captures, finding SIP, filters, --limit, --loop, RTCP, HEP encoding: the very function of the
 * one-thread path) and hands the encoded datagrams over in batches (batch.ts, transferred, not
 * copied); this thread only sends them, in order. Sending and everything before it then each have a
 * core: the one-thread path did both on one (bench/wait.js, the replay row).
 *
 * - Same packets, same order, same counts as the one-thread path; packets counted by this thread
 *   (what it handed to the sender), the rest of the statistics by the worker's replay.
 * - Bounded: at most BATCHES_AHEAD batches (1 MiB each) wait here, the worker waits for room.
 * - A stop (Ctrl-C) stops the sending at once and the worker at its next packet; its statistics
 *   come within STOP_MS, or it is ended and the summary says what this thread knows.
 * - The worker failing (our bug) stops the replay with its error; it never keeps the process alive.
 */
import { statSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { HepError } from '../errors.js'
import type { FilterOptions } from '../filter/filter.js'
import { checkEncodingOptions } from '../hep/encoding-options.js'
import type { HepSender } from '../net/sender-types.js'
import { countSkip } from '../item/skip.js'
import { closeOrStop } from '../send/send.js'
import { BatchReader, type Batch, type ToMain, type ToWorker } from './batch.js'
import type { ReplayOptions, ReplayProgress, ReplayStats } from './replay.js'
import { untilAborted } from '../wait.js'

/** what the worker is given: the replay's options that are data */
export interface WorkerSetup {
  opts: Omit<
    ReplayOptions,
    | 'filter'
    | 'signal'
    | 'stdin'
    | 'onPacket'
    | 'onSkip'
    | 'onProgress'
    | 'onLoss'
    | 'stopFlushMs'
    | 'scratch'
  >
  filter?: FilterOptions
  warnLoss: boolean
  tellSkips: boolean
}

/** below this much capture to read, a second thread costs more (its start, ~40 ms) than it saves */
const MIN_BYTES = 4 * 1024 * 1024
/** after a stop, the worker's statistics are waited for this long */
const STOP_MS = 300

/** cores the two threads want: theirs, and one for the rest (a receiver on the same machine...) */
const MIN_CORES = 3

/**
 * Whether a replay can run on two threads: at top speed, to a sender, from files (not stdin), with
 * no per-packet callback that needs the packet (a dry run, metrics). `threads` 'auto' asks also for
 * enough to read (MIN_BYTES, a loop counted as often as it plays; --loop 0 is enough) and for
 * MIN_CORES: on two cores shared with a receiver the second thread only competes for them
 * (bench/wait.js, the replay row: 0.5× one thread there); 'never' says no.
 */
export function twoThreadsFit(
  opts: ReplayOptions,
  sender: HepSender | undefined,
  threads: 'auto' | 'always' | 'never' = 'auto',
  cores = availableParallelism(),
): boolean {
  if (threads === 'never' || sender === undefined) return false
  if (opts.timing.mode.kind !== 'topspeed' || opts.onPacket !== undefined) return false
  if (opts.files.some((f) => f === '-')) return false
  if (threads === 'always') return true
  if (cores < MIN_CORES) return false
  if (opts.loop === 0) return true
  let bytes = 0
  for (const f of opts.files) {
    try {
      bytes += statSync(f).size
    } catch {
      return false // the one-thread path says what is wrong with it
    }
  }
  return bytes * (opts.loop ?? 1) >= MIN_BYTES
}

/** The replay on two threads; `workerUrl` is the built worker (dist/replay-worker.js). */
export async function replayThreaded(
  opts: ReplayOptions,
  sender: HepSender,
  workerUrl: URL,
): Promise<ReplayStats & { threads: 2 }> {
  // wrong options fail here as in the one-thread path, before any thread starts
  checkEncodingOptions(opts)
  const {
    filter,
    signal,
    stdin: _s,
    onPacket: _p,
    onSkip,
    onProgress,
    onLoss,
    stopFlushMs,
    scratch: _b,
    ...data
  } = opts
  const setup: WorkerSetup = {
    opts: data,
    filter: filter?.empty === false ? filter.opts : undefined,
    warnLoss: onLoss !== undefined,
    tellSkips: onSkip !== undefined,
  }
  const worker = new Worker(workerUrl, { workerData: setup })
  const queue: Batch[] = []
  let wake: (() => void) | undefined
  let final: { stats: ReplayStats; tested: number; passed: number } | undefined
  let failure: Error | undefined
  let ended = false
  const poke = (): void => {
    const w = wake
    wake = undefined
    w?.()
  }
  worker.on('message', (m: ToMain) => {
    if (m.t === 'batch') queue.push(m)
    else if (m.t === 'skip')
      onSkip?.(m.where, m.reason, m.error && new HepError(m.error.code as never, m.error.message))
    else if (m.t === 'loss') onLoss?.(m.loss)
    else if (m.t === 'done') final = m
    else if (m.t === 'error') {
      failure =
        m.code === undefined
          ? new Error(`the replay thread failed: ${m.message}`)
          : new HepError(m.code as never, m.message)
      if (m.stack !== undefined && m.code === undefined) failure.stack = m.stack
    }
    poke()
  })
  worker.on('error', (e) => {
    failure ??= new Error(`the replay thread failed: ${e.message}`)
    poke()
  })
  worker.on('exit', (code) => {
    ended = true
    if (final === undefined)
      failure ??= new Error(`the replay thread ended (exit code ${code}) before its end`)
    poke()
  })
  const tell = (m: ToWorker): void => {
    if (!ended) worker.postMessage(m)
  }
  const stopWorker = (): void => tell({ t: 'stop' })
  signal?.addEventListener('abort', stopWorker, { once: true })
  /** the next batch; undefined once the worker is done and every batch taken (or on a stop) */
  const nextBatch = async (): Promise<Batch | undefined> => {
    for (;;) {
      if (failure !== undefined) throw failure
      if (signal?.aborted) return undefined
      const b = queue.shift()
      if (b !== undefined) return b
      if (final !== undefined) return undefined
      await new Promise<void>((r) => {
        wake = r
        signal?.addEventListener('abort', poke, { once: true })
      })
      signal?.removeEventListener('abort', poke)
    }
  }

  let packets = 0
  let rtcpSent = 0
  let start = 0
  // elapsedMs read when the reader asks (no clock read per packet: the CLI never asks)
  const progress: ReplayProgress = {
    packets: 0,
    get elapsedMs() {
      return packets > 0 ? performance.now() - start : 0
    },
    captureMs: 0,
  }
  try {
    // connect (and resolve) before the clock starts, as the one-thread path does
    await untilAborted(
      sender.connect().catch(() => {}),
      signal,
    )
    for (;;) {
      const b = await nextBatch()
      if (b === undefined) break
      tell({ t: 'taken' })
      const r = new BatchReader(b)
      while (r.next()) {
        if (signal?.aborted) break
        if (packets === 0) start = performance.now()
        if (!sender.send(r.bytes, r.key)) await untilAborted(sender.ready(), signal)
        packets++
        if (r.rtcp) rtcpSent++
        if (onProgress) {
          progress.packets = packets
          progress.captureMs = r.captureMs
          onProgress(progress)
        }
      }
    }
  } catch (e) {
    signal?.removeEventListener('abort', stopWorker)
    await worker.terminate()
    await sender.close({ timeout: 0 }).catch(() => {})
    throw e
  }
  const elapsedMs = packets > 0 ? performance.now() - start : 0
  // stopped: the worker's own count of what it read and skipped, briefly waited for
  if (final === undefined && failure === undefined) {
    stopWorker()
    await waitFor(
      () => final !== undefined || failure !== undefined || ended,
      STOP_MS,
      (r) => (wake = r),
    )
  }
  signal?.removeEventListener('abort', stopWorker)
  void worker.terminate()
  const flushMs = stopFlushMs ?? 400
  const s = await closeOrStop(
    sender.close(signal?.aborted ? { timeout: flushMs } : {}),
    sender,
    signal,
    flushMs,
  )
  if (final === undefined && !signal?.aborted) throw failure ?? new Error('the replay thread ended early')
  if (filter && final !== undefined) {
    filter.tested = final.tested
    filter.passed = final.passed
  }
  const w = final?.stats
  // what the worker encoded and this thread did not send (after a stop) was left by the stop, as the
  // items the one-thread path read and did not replay: records = packets + every skip still holds
  const skipped = { ...(w?.skipped ?? {}) }
  const unsent = (w?.packets ?? packets) - packets
  if (unsent > 0) countSkip(skipped, 'stopped', unsent)
  const rtcp =
    w?.rtcp === undefined
      ? undefined
      : { ...w.rtcp, sent: rtcpSent, leftOut: w.rtcp.leftOut + (w.rtcp.sent - rtcpSent) }
  return {
    packets,
    sent: s.sent,
    failed: s.failed,
    dropped: s.dropped,
    skipped,
    loops: w?.loops ?? 1,
    elapsedMs,
    rate: elapsedMs > 0 ? (packets / elapsedMs) * 1000 : 0,
    timing: w?.timing ?? { median: 0, p99: 0, max: 0, count: 0 },
    records: w?.records ?? 0,
    rtcp,
    threads: 2,
  }
}

/** Resolves when `done()` holds (checked at each wake-up) or after `ms`. */
function waitFor(done: () => boolean, ms: number, onWake: (r: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    const check = (): void => {
      if (done()) {
        clearTimeout(timer)
        resolve()
      } else onWake(check)
    }
    check()
  })
}
