/**
 * The second thread of `hep listen --json` into a file (see out-thread.ts): reads the datagrams the
 * main thread accepted from the ring (out-ring.ts), in arrival order, decodes each again (the same
 * decoder and options), writes its JSON line (with the "via" text the main thread sent) and hands the
 * lines to the file descriptor with writeSync, one write per run of records. Sleeps (Atomics.wait)
 * while the ring is empty. The first write error is reported once and nothing more is written.
 */
import { writeSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { decodeDatagram, type DecodeOptions } from '../hep/codec.js'
import { Ipv4Texts } from '../hep/ip.js'
import { ChunkedBytes } from '../output/chunked-bytes.js'
import { HepError } from '../errors.js'
import { outputError } from '../output/writer.js'
import { ListenStats } from './stats.js'
import {
  END,
  HANDLED,
  KIND_EVERY_MS,
  MALFORMED,
  NAP,
  RECEIVED,
  RPOS,
  SAME_VIA,
  SLEEPING,
  WPOS,
  WRAP,
  WRITTEN,
  type ToMain,
  type WorkerSetup,
} from './out-ring.js'

const port = parentPort
if (!port) throw new Error('out-worker.ts runs as a worker thread')
const setup = workerData as WorkerSetup
const post = (m: ToMain): void => port.postMessage(m)
/** empty looks (1 ms apart) before the reader sleeps until woken */
const IDLE_POLLS = 20

/** The reader's state: where it is in the ring, what it wrote, where its output stands. */
class RingReader {
  private readonly ring = Buffer.from(setup.ring)
  private readonly control = new Int32Array(setup.control)
  private readonly decode: DecodeOptions = { ...setup.decode, addresses: new Ipv4Texts() }
  /** lines the OS accepted */
  private written = 0
  /** packets seen (written or not) */
  private seen = 0
  /** records done with */
  private handled = 0
  /** with setup.decodes: what the session counts (received, kinds), and the datagrams that were no HEP */
  private readonly stats = setup.decodes ? new ListenStats() : undefined
  private malformed = 0
  /** --count reached (with setup.decodes): the rest is not taken */
  private counted = false
  /** lines in the chunk not yet handed to the OS */
  private pending = 0
  private failed = false
  private via: Uint8Array | undefined
  // lines are counted when a chunk is handed over: `pending` holds those written into it
  private readonly bytes = new ChunkedBytes((b) => this.send(b))

  run(): void {
    const c = this.control
    let r = Atomics.load(c, RPOS)
    let idle = 0
    for (;;) {
      const w = Atomics.load(c, WPOS)
      if (r === w) {
        // the end is said after the last position: one published between the two loads is read
        if (Atomics.load(c, END) === 1 && Atomics.load(c, WPOS) === r) break
        if (idle++ < IDLE_POLLS) {
          this.nap()
          continue
        }
        // no traffic for a while: the counts by kind are told as they stand (the last ones of a burst
        // came within KIND_EVERY_MS of the previous telling), then sleep until woken; said first, so a
        // position published after `w` was read makes the wait return at once
        if (idle === IDLE_POLLS + 1) this.postKinds(true)
        Atomics.store(c, SLEEPING, 1)
        Atomics.wait(c, WPOS, w, 200)
        Atomics.store(c, SLEEPING, 0)
        continue
      }
      idle = 0
      while (r !== w) r = this.record(r)
      this.flush()
      this.publish()
      this.postKinds()
      Atomics.store(c, RPOS, r)
      this.nap() // what comes in the meantime makes the next write larger
    }
    this.flush()
    this.publish()
    post({ t: 'ended', written: this.written, kinds: this.stats?.rows() })
  }

  private kindsAt = 0
  /** packets received when the counts by kind were last told */
  private kindsReceived = 0

  /** The counts by kind so far, at most every KIND_EVERY_MS (the main thread's, should this thread die). */
  private postKinds(now = false): void {
    if (this.stats === undefined || this.stats.received === this.kindsReceived) return
    const t = Date.now()
    if (!now && t - this.kindsAt < KIND_EVERY_MS) return
    this.kindsReceived = this.stats.received
    this.kindsAt = t
    post({ t: 'kinds', kinds: this.stats.rows() })
  }

  /** A millisecond's sleep (a wait on a word nobody changes). */
  private nap(): void {
    Atomics.wait(this.control, NAP, 0, 1)
  }

  private publish(): void {
    const c = this.control
    Atomics.store(c, WRITTEN, this.written)
    Atomics.store(c, HANDLED, this.handled)
    if (this.stats) {
      Atomics.store(c, RECEIVED, this.stats.received)
      Atomics.store(c, MALFORMED, this.malformed)
    }
  }

  /** Writes the record at `r`; returns the position after it. */
  private record(r: number): number {
    const b = this.ring
    const n = b.readUInt32LE(r)
    if (n === WRAP) return 0
    const v = b.readUInt16LE(r + 4)
    let p = r + 6
    if (v !== SAME_VIA) {
      this.via = Uint8Array.prototype.slice.call(b, p, p + v) // a copy: the ring is reused
      p += v
    }
    this.seen++
    if (setup.crashAfter !== undefined && this.seen > setup.crashAfter)
      throw new Error(`test crash after ${setup.crashAfter} packets (HEP_TEST_LISTEN_WORKER_CRASH)`)
    this.packet(b.subarray(p, p + n))
    this.handled++
    return p + n
  }

  private packet(raw: Buffer): void {
    const stats = this.stats
    if (stats === undefined) {
      // the main thread decoded it, counted it and showed it
      if (this.failed) return
      this.bytes.json(decodeDatagram(raw, this.decode), this.via)
      this.bytes.mark()
      this.pending++
      return
    }
    if (this.counted) return // after --count, as the session takes none
    let p
    try {
      p = decodeDatagram(raw, this.decode)
    } catch (e) {
      if (!(e instanceof HepError)) throw e // our bug: the thread dies, said as an internal error
      this.malformed++
      post({ t: 'malformed', remote: remoteOf(this.via), message: e.message })
      return
    }
    stats.packet(p)
    stats.shown++
    if (!this.failed) {
      this.bytes.json(p, this.via)
      this.bytes.mark()
      this.pending++
    }
    if (setup.count !== undefined && stats.shown >= setup.count) {
      this.counted = true
      post({ t: 'count' })
    }
  }

  private flush(): void {
    const b = this.bytes.take()
    if (b) this.send(b)
  }

  private send(b: Buffer): void {
    const lines = this.pending
    this.pending = 0
    if (this.failed) return
    let off = 0
    try {
      while (off < b.length) off += writeSync(setup.fd, b, off, b.length - off)
    } catch (e) {
      this.failed = true
      for (let i = b.indexOf(10); i >= 0 && i < off; i = b.indexOf(10, i + 1)) this.written++
      const err = outputError(e, setup.name)
      post({ t: 'error', code: err.code, reason: err.reason })
      return
    }
    this.written += lines
  }
}

/** The sender's "host:port" from a via text (`,"via":{…,"remote":"…",…}`). */
function remoteOf(via: Uint8Array | undefined): string {
  if (via === undefined) return '?'
  try {
    const v = JSON.parse(Buffer.from(via).toString('utf8').slice(7)) as { remote?: string }
    return v.remote ?? '?'
  } catch {
    return '?'
  }
}

new RingReader().run()
