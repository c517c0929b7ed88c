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
import { outputError } from '../output/writer.js'
import {
  END,
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

/** The reader's state: where it is in the ring, what it wrote, where its output stands. */
class RingReader {
  private readonly ring = Buffer.from(setup.ring)
  private readonly control = new Int32Array(setup.control)
  private readonly decode: DecodeOptions = { ...setup.decode, addresses: new Ipv4Texts() }
  /** lines the OS accepted */
  private written = 0
  /** packets seen (written or not) */
  private seen = 0
  /** lines in the chunk not yet handed to the OS */
  private pending = 0
  private failed = false
  private via: Uint8Array | undefined
  // lines are counted when a chunk is handed over: `pending` holds those written into it
  private readonly bytes = new ChunkedBytes((b) => this.send(b))

  run(): void {
    const c = this.control
    let r = Atomics.load(c, RPOS)
    for (;;) {
      const w = Atomics.load(c, WPOS)
      if (r === w) {
        if (Atomics.load(c, END) === 1) break
        // said before waiting: a position published after `w` was read makes the wait return at once
        Atomics.store(c, SLEEPING, 1)
        Atomics.wait(c, WPOS, w, 200)
        Atomics.store(c, SLEEPING, 0)
        continue
      }
      while (r !== w) r = this.record(r)
      this.flush()
      Atomics.store(c, WRITTEN, this.written)
      Atomics.store(c, RPOS, r)
    }
    this.flush()
    Atomics.store(c, WRITTEN, this.written)
    post({ t: 'ended', written: this.written })
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
    if (!this.failed) {
      if (setup.crashAfter !== undefined && this.seen > setup.crashAfter)
        throw new Error(`test crash after ${setup.crashAfter} packets (HEP_TEST_LISTEN_WORKER_CRASH)`)
      this.bytes.json(decodeDatagram(b.subarray(p, p + n), this.decode), this.via)
      this.bytes.mark()
      this.pending++
    }
    return p + n
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

new RingReader().run()
