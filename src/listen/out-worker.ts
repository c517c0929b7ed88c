/**
 * The second thread of `hep listen --json` into a file (see out-thread.ts): takes batches of the
 * datagrams the main thread accepted, in arrival order, decodes each again (the same decoder and
 * options), writes its JSON line (with the "via" text the main thread sent) and hands the lines to
 * the file descriptor with writeSync, one write per batch. Acknowledges every batch with the lines
 * the OS accepted so far; the first write error is reported once and nothing more is written.
 */
import { writeSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { decodeDatagram, type DecodeOptions } from '../hep/codec.js'
import { Ipv4Texts } from '../hep/ip.js'
import { ChunkedBytes } from '../output/chunked-bytes.js'
import { outputError } from '../output/writer.js'
import { readBatch, type ToMain, type ToWorker, type WorkerSetup } from './out-batch.js'

const port = parentPort
if (!port) throw new Error('out-worker.ts runs as a worker thread')
const setup = workerData as WorkerSetup
const decode: DecodeOptions = { ...setup.decode, addresses: new Ipv4Texts() }
const post = (m: ToMain): void => port.postMessage(m)

/** The worker's state: what it wrote, and where its output stands. */
class LineWriter {
  /** lines the OS accepted */
  written = 0
  /** packets seen (written or not) */
  seen = 0
  /** lines in the chunk not yet handed to the OS */
  private pending = 0
  private failed = false
  private via: Uint8Array | undefined
  // lines are counted when a chunk is handed over: `pending` holds those written into it
  private readonly bytes = new ChunkedBytes((b) => this.send(b))

  batch(m: Extract<ToWorker, { t: 'batch' }>): void {
    readBatch(m.buf, m.used, (raw, v) => {
      if (v) this.via = v
      this.seen++
      if (this.failed) return
      if (setup.crashAfter !== undefined && this.seen > setup.crashAfter)
        throw new Error(`test crash after ${setup.crashAfter} packets (HEP_TEST_LISTEN_WORKER_CRASH)`)
      this.bytes.json(decodeDatagram(raw, decode), this.via)
      this.bytes.mark()
      this.pending++
    })
    this.flush()
  }

  flush(): void {
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

const w = new LineWriter()
port.on('message', (m: ToWorker) => {
  if (m.t === 'end') {
    w.flush()
    post({ t: 'ended', written: w.written })
    port.close()
    return
  }
  w.batch(m)
  post({ t: 'ack', packets: m.packets, bytes: m.used, written: w.written })
})
