/**
 * The batches the replay thread (worker.ts) hands to the main thread (threaded.ts): the encoded
 * datagrams one after the other in one ArrayBuffer (transferred, not copied), each as
 *   u32 length | u8 flags (1: RTCP, HEP type 5) | f64 capture ms from the first packet | bytes
 * with, when the sender balances by call, the key of each packet in `keys`. Also the messages
 * between the two threads.
 */
import type { EncodingLoss } from '../hep/lossy.js'
import type { ReplayStats } from './replay.js'

/** a batch goes once less than a largest packet is left in it */
export const BATCH_BYTES = 1024 * 1024
const HEADER = 13
const ROOM = 65536 + HEADER
/** batches handed over and not yet taken by the main thread, at most */
export const BATCHES_AHEAD = 4

export interface Batch {
  buf: ArrayBuffer
  used: number
  packets: number
  keys?: (string | undefined)[]
}

export type ToMain =
  | ({ t: 'batch' } & Batch)
  | { t: 'skip'; where: string; reason: string; error?: { code: string; message: string } }
  | { t: 'loss'; loss: EncodingLoss }
  | { t: 'done'; stats: ReplayStats; tested: number; passed: number }
  | { t: 'error'; code?: string; message: string; stack?: string }

export type ToWorker = { t: 'taken' } | { t: 'stop' }

/** A batch being filled (replay thread). */
export class BatchBuilder {
  private buf = Buffer.allocUnsafeSlow(BATCH_BYTES)
  private used = 0
  private packets = 0
  private keys: (string | undefined)[] | undefined
  /** where the last packet's header is (its flags and time are set after it was added) */
  private last = -1

  constructor(private readonly withKeys: boolean) {
    if (withKeys) this.keys = []
  }

  get empty(): boolean {
    return this.packets === 0
  }

  /** Adds a packet; true when the batch is full (take it). */
  add(bytes: Uint8Array, key: string | undefined): boolean {
    if (this.used + HEADER + bytes.length > this.buf.length) {
      // larger than a batch holds (cannot be: a HEP packet is at most 65535 bytes): a batch of its own
      const b = Buffer.allocUnsafeSlow(Math.max(this.buf.length, this.used + HEADER + bytes.length))
      this.buf.copy(b, 0, 0, this.used)
      this.buf = b
    }
    const b = this.buf
    const p = this.used
    b.writeUInt32LE(bytes.length, p)
    b[p + 4] = 0
    b.writeDoubleLE(0, p + 5)
    b.set(bytes, p + HEADER)
    this.last = p
    this.used = p + HEADER + bytes.length
    this.packets++
    this.keys?.push(key)
    return this.buf.length - this.used < ROOM
  }

  /** The last packet added is RTCP (a HEP type 5 packet). */
  markRtcp(): void {
    if (this.last >= 0) this.buf[this.last + 4] = 1
  }

  /** The last packet added was captured `ms` after the first. */
  setCaptureMs(ms: number): void {
    if (this.last >= 0) this.buf.writeDoubleLE(ms, this.last + 5)
  }

  /** The filled batch; a new one begins. */
  take(): Batch {
    const out: Batch = {
      buf: this.buf.buffer as ArrayBuffer,
      used: this.used,
      packets: this.packets,
      keys: this.keys,
    }
    this.buf = Buffer.allocUnsafeSlow(BATCH_BYTES)
    this.used = this.packets = 0
    this.last = -1
    if (this.withKeys) this.keys = []
    return out
  }
}

/** Reads a batch's packets in order (main thread): each a view of the batch, no copy. */
export class BatchReader {
  private readonly buf: Buffer
  private pos = 0
  private i = 0
  bytes!: Buffer
  rtcp = false
  captureMs = 0
  key: string | undefined

  constructor(private readonly batch: Batch) {
    this.buf = Buffer.from(batch.buf, 0, batch.used)
  }

  get left(): number {
    return this.batch.packets - this.i
  }

  /** The next packet into `bytes`, `rtcp`, `captureMs`, `key`; false after the last. */
  next(): boolean {
    if (this.i >= this.batch.packets) return false
    const b = this.buf
    const p = this.pos
    const n = b.readUInt32LE(p)
    this.rtcp = b[p + 4] === 1
    this.captureMs = b.readDoubleLE(p + 5)
    this.bytes = b.subarray(p + HEADER, p + HEADER + n)
    this.key = this.batch.keys?.[this.i]
    this.pos = p + HEADER + n
    this.i++
    return true
  }
}
