/**
 * `hep listen --json` into a file on two threads: the main thread receives, decodes, counts,
 * filters (and saves, relays, serves metrics) as before, and copies each packet it shows into a
 * batch; out-worker.ts decodes it again, writes its JSON line and hands the lines to the file. The
 * JSON serialisation and the writes (about half the main thread's time per packet) leave the thread
 * that has to keep up with the socket. A batch goes when it is full (256 KiB) or 1 ms after its first
 * packet, so lines stay prompt at low rates. One worker, batches in order: lines in arrival order.
 *
 * - Bounded like an OutputWriter (`full`, `drained()`): the bytes handed to the worker and not yet
 *   written count against `maxBuffer`; the listener drops and counts UDP packets while it is full.
 * - The worker's first write error is reported once through `onError` (as OutputWriter does); the
 *   worker dying (our bug) through `onCrash`, once; then nothing more is taken and `notWritten`
 *   says how many packets never reached the file.
 * - The worker never holds the process: it is unref'd, and `end()` terminates it.
 */
import { Worker } from 'node:worker_threads'
import type { DecodeOptions } from '../hep/codec.js'
import { OutputError } from '../output/writer.js'
import { BatchBuilder, type ToMain, type ToWorker, type WorkerSetup } from './out-batch.js'

export interface OutThreadOptions {
  /** the built out-worker.js */
  workerUrl: URL
  /** the file descriptor written (1: stdout redirected to a file) */
  fd: number
  /** its name in messages ('stdout') */
  name: string
  /** the listener's decode options (the same lines as the one-thread path) */
  decode?: DecodeOptions
  /** bound on bytes handed to the worker and not yet written */
  maxBuffer: number
  /** a batch goes at most this long after its first packet (default 1 ms) */
  flushMs?: number
  /** the output failed (disk full…): nothing more is written */
  onError: (e: OutputError) => void
  /** the worker died: our bug */
  onCrash: (e: Error) => void
  /** tests only: the worker throws at this packet */
  crashAfter?: number
}

export class OutThread {
  readonly name: string
  readonly maxBuffer: number
  private readonly worker: Worker
  private batch = new BatchBuilder()
  private timer: NodeJS.Timeout | undefined
  /** bytes handed to the worker and not yet acknowledged */
  private inFlight = 0
  private waiters: (() => void)[] = []
  private endWaiter: (() => void) | undefined
  /** no more packets are taken: ended, failed or crashed */
  closed = false
  /** packets taken */
  taken = 0
  /** lines the OS accepted */
  written = 0
  /** the output's error, if it failed */
  error: OutputError | undefined
  /** the worker's death, if it died */
  crash: Error | undefined
  private finished = false

  constructor(private readonly opts: OutThreadOptions) {
    this.name = opts.name
    this.maxBuffer = opts.maxBuffer
    const { addresses: _cache, ...decode } = opts.decode ?? {}
    const setup: WorkerSetup = { fd: opts.fd, name: opts.name, decode, crashAfter: opts.crashAfter }
    this.worker = new Worker(opts.workerUrl, { workerData: setup })
    this.worker.unref()
    this.worker.on('message', (m: ToMain) => this.message(m))
    this.worker.on('error', (e) => this.died(e))
    this.worker.on('exit', (code) => {
      if (!this.finished) this.died(new Error(`the output thread stopped (exit code ${code})`))
    })
  }

  /** packets taken that never reached the output (the worker died, the output failed, or `end` gave up) */
  get notWritten(): number {
    return this.taken - this.written
  }

  /** over the bound: the listener drops (UDP) until it drains */
  get full(): boolean {
    return !this.closed && this.inFlight + this.batch.used >= this.maxBuffer
  }

  /** Resolves when half the bound is free again, or nothing more is taken. */
  drained(): Promise<void> {
    this.flush()
    if (this.closed || this.inFlight <= this.maxBuffer / 2) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  /** One packet shown: its datagram and, when it changed since the previous packet, its via text. */
  packet(raw: Uint8Array, via: Uint8Array | undefined): void {
    if (this.closed) return
    this.taken++
    const v = via?.length ?? 0
    if (!this.batch.fits(raw.length, v)) this.flush()
    this.batch.add(raw, via)
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.opts.flushMs ?? 1)
      this.timer.unref()
    }
  }

  /** Hands the batch in progress to the worker. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    if (this.batch.packets === 0 || this.closed) return
    const b = this.batch.take()
    this.inFlight += b.used
    const m: ToWorker = { t: 'batch', ...b }
    this.worker.postMessage(m, [b.buf])
  }

  private message(m: ToMain): void {
    if (m.t === 'ack') {
      this.inFlight -= m.bytes
      this.written = m.written
      if (this.inFlight <= this.maxBuffer / 2) this.wake()
    } else if (m.t === 'error') {
      this.error = new OutputError(this.name, m.code, m.reason)
      this.close()
      this.opts.onError(this.error)
    } else {
      this.written = m.written
      this.finished = true
      this.endWaiter?.()
    }
  }

  private died(e: Error): void {
    if (this.crash || this.finished) return
    this.crash = e
    this.finished = true
    this.close()
    this.endWaiter?.()
    this.opts.onCrash(e)
  }

  private close(): void {
    this.closed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.wake()
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  private ending: Promise<void> | undefined

  /**
   * Hands over what is left and waits until the worker has written it all (at most `within` ms: then
   * what it has not confirmed counts in `notWritten`); the worker is then gone. Never rejects.
   */
  end(within = 1000): Promise<void> {
    this.ending ??= (async () => {
      this.flush()
      this.closed = true
      this.wake()
      if (!this.finished) {
        let timer: NodeJS.Timeout | undefined
        await new Promise<void>((resolve) => {
          this.endWaiter = resolve
          timer = setTimeout(resolve, within) // holds the process until the worker answers
          this.worker.postMessage({ t: 'end' } satisfies ToWorker)
        })
        clearTimeout(timer)
      }
      this.finished = true
      await this.worker.terminate()
    })()
    return this.ending
  }
}
