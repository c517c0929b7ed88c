/**
 * `hep listen --json` into a file on two threads. The main thread receives and copies each datagram
 * into a ring in shared memory (out-ring.ts); out-worker.ts decodes it, counts it (`decodes`),
 * writes its JSON line and hands the lines to the file. With a filter or other outputs the main
 * thread decodes, counts, filters, saves and relays as before and hands over the packets shown, which
 * the worker decodes again and writes. Either way the JSON serialisation and the writes (about half
 * the time per packet) leave the thread that has to keep up with the socket. No message per packet
 * or batch: the position is published with each packet; the worker looks every millisecond while
 * traffic flows and sleeps until woken when there is none, so lines stay prompt at low rates and the
 * main thread makes no system call to wake it at high ones. One reader, in order: arrival order.
 *
 * - Bounded like an OutputWriter (`full`, `drained()`): the ring is `maxBuffer` bytes (what is handed
 *   to the worker and not yet written); the listener drops and counts UDP packets while it is full.
 * - The worker's first write error is reported once through `onError` (as OutputWriter does); the
 *   worker dying (our bug) through `onCrash`, once; then nothing more is taken and `notWritten`
 *   says how many packets never reached the file.
 * - The worker never holds the process: it is unref'd, and `end()` terminates it.
 */
import { Worker } from 'node:worker_threads'
import type { DecodeOptions } from '../hep/codec.js'
import { OutputError } from '../output/writer.js'
import {
  CONTROL_WORDS,
  END,
  HANDLED,
  KIND_UNKNOWN,
  MALFORMED,
  RECEIVED,
  MAX_RECORD,
  RPOS,
  SAME_VIA,
  SLEEPING,
  WPOS,
  WRAP,
  WRITTEN,
  used,
  type KindRow,
  type ToMain,
  type WorkerSetup,
} from './out-ring.js'

export interface OutThreadOptions {
  /** the built out-worker.js */
  workerUrl: URL
  /** the file descriptor written (1: stdout redirected to a file) */
  fd: number
  /** its name in messages ('stdout') */
  name: string
  /** the listener's decode options (the same lines as the one-thread path) */
  decode?: DecodeOptions
  /** bound on bytes handed to the worker and not yet written: the ring's size (at least 256 KiB) */
  maxBuffer: number
  /** the output failed (disk full…): nothing more is written */
  onError: (e: OutputError) => void
  /** the worker died: our bug */
  onCrash: (e: Error) => void
  /**
   * the worker decodes and counts (see WorkerSetup.decodes): `packet()` gets every datagram
   * undecoded, `counts()` says what the session would have counted
   */
  decodes?: boolean
  /** with `decodes`: --count; `onCount` is called once it is reached */
  count?: number
  onCount?: () => void
  /** with `decodes`: a datagram that was no HEP (its sender, the decoder's message) */
  onMalformed?: (remote: string, message: string) => void
  /** tests only: the worker throws at this packet */
  crashAfter?: number
}

/** What the worker counted (with `decodes`), as the session counts it. */
export interface ThreadCounts {
  received: number
  shown: number
  malformed: number
  kinds: KindRow[]
}

export class OutThread {
  /** in messages about the bound ("stdout's writing thread") */
  readonly name: string
  /** the ring's size */
  readonly maxBuffer: number
  private readonly worker: Worker
  private readonly ring: Buffer
  private readonly control: Int32Array
  /** where the next record goes, and the position the worker was last told */
  private pos = 0
  private published = 0
  private poll: NodeJS.Timeout | undefined
  private waiters: (() => void)[] = []
  private endWaiter: (() => void) | undefined
  /** no more packets are taken: ended, failed or crashed */
  closed = false
  /** packets taken */
  taken = 0
  /** lines the OS accepted (as last read) */
  private writtenAtEnd: number | undefined
  private kinds: KindRow[] | undefined
  /** the worker's counts by kind as it last told them while running */
  private kindsSoFar: KindRow[] = []
  /** the output's error, if it failed */
  error: OutputError | undefined
  /** the worker's death, if it died */
  crash: Error | undefined
  private finished = false

  constructor(private readonly opts: OutThreadOptions) {
    this.name = `${opts.name}'s writing thread`
    this.maxBuffer = Math.max(opts.maxBuffer, 4 * MAX_RECORD)
    const ring = new SharedArrayBuffer(this.maxBuffer)
    const control = new SharedArrayBuffer(CONTROL_WORDS * 4)
    this.ring = Buffer.from(ring)
    this.control = new Int32Array(control)
    const { addresses: _cache, ...decode } = opts.decode ?? {}
    const setup: WorkerSetup = {
      fd: opts.fd,
      name: opts.name,
      decode,
      ring,
      control,
      decodes: opts.decodes === true,
      count: opts.count,
      crashAfter: opts.crashAfter,
    }
    this.worker = new Worker(opts.workerUrl, { workerData: setup })
    this.worker.unref()
    this.worker.on('message', (m: ToMain) => this.message(m))
    this.worker.on('error', (e) => this.died(e))
    this.worker.on('exit', (code) => {
      if (code === 0 && Atomics.load(this.control, END) === 1) this.ended()
      else this.died(new Error(`the output thread stopped (exit code ${code})`))
    })
  }

  /** lines the OS accepted */
  get written(): number {
    return this.writtenAtEnd ?? Atomics.load(this.control, WRITTEN)
  }

  /**
   * Packets that never reached the output: lost with the worker, or not written when `end` gave up
   * (after an output error, which is said, the rest is not counted here, as for OutputWriter).
   */
  get notWritten(): number {
    if (this.error) return 0
    if (!this.opts.decodes) return this.taken - this.written
    const c = this.counts()
    return c === undefined ? 0 : c.shown - this.written
  }

  /**
   * With `decodes`: what the worker counted. Datagrams it never got to (it died, or `end` gave up)
   * count as received and shown, and so as not written.
   */
  counts(): ThreadCounts | undefined {
    if (!this.opts.decodes) return undefined
    const c = this.control
    const lost = this.taken - Atomics.load(c, HANDLED)
    const received = Atomics.load(c, RECEIVED) + lost
    // without the worker's last word (it died, or was given up on): its counts by kind as last told;
    // and what it never counted by kind (that too, or datagrams it never got): a row of a kind not
    // known, so the rows still add up to what was received
    const kinds = this.kinds ?? this.kindsSoFar
    let told = 0
    for (const k of kinds) told += k[2]
    const rest = received - told
    const rows: KindRow[] = rest > 0 ? [...kinds, [KIND_UNKNOWN, -1, rest]] : kinds
    return { received, shown: received, malformed: Atomics.load(c, MALFORMED), kinds: rows }
  }

  /** bytes in the ring not yet written out */
  private get inUse(): number {
    return used(this.pos, Atomics.load(this.control, RPOS), this.maxBuffer)
  }

  /** over the bound (the next datagram might not fit): the listener drops (UDP) until it drains */
  get full(): boolean {
    return !this.closed && this.inUse > this.maxBuffer - 2 * MAX_RECORD
  }

  /** Resolves when half the ring is free again, or nothing more is taken. */
  drained(): Promise<void> {
    this.flush()
    if (this.closed || this.inUse <= this.maxBuffer / 2) return Promise.resolve()
    const p = new Promise<void>((resolve) => this.waiters.push(resolve))
    // the worker sends no message as it reads: look again every few milliseconds
    this.poll ??= setInterval(() => {
      if (this.closed || this.inUse <= this.maxBuffer / 2) this.wake()
    }, 5)
    return p
  }

  /** One packet shown: its datagram and, when it changed since the previous packet, its via text. */
  /** Puts one datagram in the ring; false when it was not written (closed, or no room). */
  packet(raw: Uint8Array, via: Uint8Array | undefined): boolean {
    if (this.closed) return false
    const v = via === undefined ? 0 : Math.min(via.length, 1024)
    const need = 6 + v + raw.length
    const size = this.maxBuffer
    let p = this.pos
    const r = Atomics.load(this.control, RPOS)
    // a record never straddles the end, and the writer never catches up with the reader
    const wrap = p + need + 4 > size
    const start = wrap ? 0 : p
    if (used(p, r, size) + need + (wrap ? size - p : 0) + 1 >= size || (wrap && need + 1 >= r)) {
      this.taken++ // not written: counted in notWritten (the bound holds the listener back first)
      return false
    }
    if (wrap) this.ring.writeUInt32LE(WRAP, p)
    p = start
    const b = this.ring
    b.writeUInt32LE(raw.length, p)
    b.writeUInt16LE(via === undefined ? SAME_VIA : v, p + 4)
    p += 6
    if (via !== undefined) {
      b.set(v === via.length ? via : via.subarray(0, v), p)
      p += v
    }
    b.set(raw, p)
    this.pos = p + raw.length
    this.taken++
    this.flush()
    return true
  }

  /** Tells the worker what is waiting. */
  private flush(): void {
    if (this.published === this.pos) return
    this.published = this.pos
    Atomics.store(this.control, WPOS, this.pos)
    // a wake-up is a system call: only for a reader that sleeps
    if (Atomics.load(this.control, SLEEPING) === 1) Atomics.notify(this.control, WPOS)
  }

  private message(m: ToMain): void {
    if (m.t === 'error') {
      this.error = new OutputError(this.opts.name, m.code, m.reason)
      this.close()
      this.opts.onError(this.error)
    } else if (m.t === 'malformed') this.opts.onMalformed?.(m.remote, m.message)
    else if (m.t === 'kinds') this.kindsSoFar = m.kinds
    else if (m.t === 'count') {
      this.close()
      this.opts.onCount?.()
    } else this.ended(m.written, m.kinds)
  }

  private ended(written?: number, kinds?: KindRow[]): void {
    if (this.finished) return
    this.kinds = kinds
    this.writtenAtEnd = written ?? Atomics.load(this.control, WRITTEN)
    this.finished = true
    this.endWaiter?.()
  }

  private died(e: Error): void {
    if (this.crash || this.finished) return
    this.crash = e
    this.writtenAtEnd = Atomics.load(this.control, WRITTEN)
    this.finished = true
    this.close()
    this.endWaiter?.()
    this.opts.onCrash(e)
  }

  private close(): void {
    this.closed = true
    this.wake()
  }

  private wake(): void {
    if (this.poll !== undefined) clearInterval(this.poll)
    this.poll = undefined
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
          Atomics.store(this.control, END, 1)
          Atomics.notify(this.control, WPOS)
        })
        clearTimeout(timer)
        if (!this.finished) this.writtenAtEnd = Atomics.load(this.control, WRITTEN)
      }
      this.finished = true
      await this.worker.terminate()
    })()
    return this.ending
  }
}
