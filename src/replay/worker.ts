/**
 * The replay thread of `hep replay --topspeed` (see threaded.ts): runs the replay itself, the one
 * function the one-thread path runs (reading, filters, --limit, --loop, RTCP, encodings, counts),
 * with a sender that puts every encoded datagram into a batch for the main thread, which sends them.
 * At most BATCHES_AHEAD batches wait for the main thread; a stop from it aborts the replay as
 * Ctrl-C does; its statistics go back at the end.
 */
import { EventEmitter } from 'node:events'
import { parentPort, workerData } from 'node:worker_threads'
import { HepError } from '../errors.js'
import { PacketFilter } from '../filter/filter.js'
import { emptySenderStats, type HepSender, type SenderEvents, type SenderStats } from '../net/sender-types.js'
import { BATCHES_AHEAD, BatchBuilder, type ToMain, type ToWorker } from './batch.js'
import { replay } from './replay.js'
import type { WorkerSetup } from './threaded.js'

const port = parentPort
if (!port) throw new Error('replay/worker.ts runs as a worker thread')
const setup = workerData as WorkerSetup
const post = (m: ToMain, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer)

/** A sender into batches: `send` is never refused; it says "wait" while BATCHES_AHEAD are not taken. */
class BatchSender extends EventEmitter<SenderEvents> implements HepSender {
  readonly destination = 'the main thread'
  readonly connected = true
  readonly queued = 0
  readonly batch: BatchBuilder
  private ahead = 0
  /** the batch is full: it goes at the next packet (its last packet's flags are set after send()) */
  private full = false
  private st: SenderStats = emptySenderStats()
  private waiters: (() => void)[] = []
  /** the main thread stopped taking: nothing more is handed over */
  stopped = false

  constructor(withKeys: boolean) {
    super()
    this.batch = new BatchBuilder(withKeys)
  }

  get needDrain(): boolean {
    return !this.room()
  }

  private room(): boolean {
    return this.stopped || this.ahead + (this.full ? 1 : 0) < BATCHES_AHEAD
  }

  send(bytes: Buffer, key?: string): boolean {
    if (this.full) this.handOver()
    this.st.submitted++
    this.st.sent++
    this.st.bytesSent += bytes.length
    this.full = this.batch.add(bytes, key)
    return this.room()
  }

  async sendAsync(bytes: Buffer, key?: string): Promise<boolean> {
    await this.ready()
    return this.send(bytes, key)
  }

  private handOver(): void {
    this.full = false
    if (this.batch.empty || this.stopped) return
    const b = this.batch.take()
    this.ahead++
    post({ t: 'batch', ...b }, [b.buf])
  }

  /** The main thread took a batch. */
  taken(): void {
    this.ahead--
    if (this.room()) {
      const w = this.waiters
      this.waiters = []
      for (const r of w) r()
    }
  }

  ready(): Promise<void> {
    if (this.room()) return Promise.resolve()
    return new Promise((r) => this.waiters.push(r))
  }

  flush(): Promise<boolean> {
    this.handOver()
    return Promise.resolve(true)
  }

  connect(): Promise<void> {
    return Promise.resolve()
  }

  close(): Promise<SenderStats> {
    this.handOver()
    return Promise.resolve(this.stats())
  }

  stats(): SenderStats {
    return { ...this.st }
  }
}

/** larger than any packet the one-thread path can send (a UDP datagram, a HEP3 packet: 64 KiB) */
const SCRATCH_BYTES = 1024 * 1024
const stop = new AbortController()
const lossKinds = new Set<string>()
const sender = new BatchSender(setup.opts.needCallId === true)
port.on('message', (m: ToWorker) => {
  if (m.t === 'taken') sender.taken()
  else if (m.t === 'stop') {
    sender.stopped = true
    sender.taken() // wakes a wait for room
    stop.abort()
  }
})

try {
  const filter = setup.filter === undefined ? undefined : new PacketFilter(setup.filter)
  const stats = await replay(
    {
      ...setup.opts,
      // encoded in one buffer, copied into the batch at once (no buffer per packet)
      scratch: Buffer.allocUnsafeSlow(SCRATCH_BYTES),
      filter,
      signal: stop.signal,
      onLoss: setup.warnLoss
        ? (loss) => {
            // each kind once (the main thread's onLoss may say each one, or each kind once)
            if (lossKinds.has(loss.kind)) return
            lossKinds.add(loss.kind)
            post({ t: 'loss', loss })
          }
        : undefined,
      onSkip: setup.tellSkips
        ? (where, reason, e) =>
            post({
              t: 'skip',
              where,
              reason,
              error: e === undefined ? undefined : { code: e.code, message: e.message },
            })
        : undefined,
      onPacket: (p) => {
        if (p.payloadType === 5) sender.batch.markRtcp()
      },
      onProgress: (pr) => sender.batch.setCaptureMs(pr.captureMs),
    },
    sender,
  )
  post({ t: 'done', stats, tested: filter?.tested ?? 0, passed: filter?.passed ?? 0 })
} catch (e) {
  const err = e as Error
  post({
    t: 'error',
    code: e instanceof HepError ? e.code : undefined,
    message: err?.message ?? String(e),
    stack: err?.stack,
  })
}
port.close()
