/**
 * The batches out-thread.ts hands to out-worker.ts: the datagrams one after the other in one
 * ArrayBuffer (transferred, not copied), each as
 *   u32 length of the datagram | u16 length of its "via" text, 0xffff: the previous one's | via | datagram
 * so a sender's "via" text is sent once per run of its packets, as the one-thread path makes it.
 */
import type { DecodeOptions } from '../hep/codec.js'

export const BATCH_BYTES = 256 * 1024
const SAME_VIA = 0xffff

export interface WorkerSetup {
  /** the file descriptor written (stdout's, 1) */
  fd: number
  /** its name in messages */
  name: string
  /** the decode options of the listener (the addresses cache excepted) */
  decode: Omit<DecodeOptions, 'addresses'>
  /** tests only: the worker throws at this packet */
  crashAfter?: number
}

export type ToWorker = { t: 'batch'; buf: ArrayBuffer; used: number; packets: number } | { t: 'end' }

export type ToMain =
  | { t: 'ack'; packets: number; bytes: number; written: number }
  | { t: 'error'; code: string; reason: string }
  | { t: 'ended'; written: number }

/** A batch being filled. */
export class BatchBuilder {
  buf = Buffer.from(new ArrayBuffer(BATCH_BYTES))
  used = 0
  packets = 0

  /** room for a datagram of `n` bytes with a via of `v` bytes */
  fits(n: number, v: number): boolean {
    return this.used + 6 + v + n <= this.buf.length
  }

  add(raw: Uint8Array, via: Uint8Array | undefined): void {
    const b = this.buf
    let p = this.used
    b.writeUInt32LE(raw.length, p)
    b.writeUInt16LE(via === undefined ? SAME_VIA : via.length, p + 4)
    p += 6
    if (via !== undefined) {
      b.set(via, p)
      p += via.length
    }
    b.set(raw, p)
    this.used = p + raw.length
    this.packets++
  }

  /** the filled batch, and a new one begins */
  take(): { buf: ArrayBuffer; used: number; packets: number } {
    const out = { buf: this.buf.buffer as ArrayBuffer, used: this.used, packets: this.packets }
    this.buf = Buffer.from(new ArrayBuffer(BATCH_BYTES))
    this.used = this.packets = 0
    return out
  }
}

/** Calls `each` with every datagram of a batch (a view) and its via (undefined: the previous one's). */
export function readBatch(
  buf: ArrayBuffer,
  used: number,
  each: (raw: Buffer, via: Uint8Array | undefined) => void,
): void {
  const b = Buffer.from(buf, 0, used)
  let p = 0
  while (p < used) {
    const n = b.readUInt32LE(p)
    const v = b.readUInt16LE(p + 4)
    p += 6
    let via: Uint8Array | undefined
    if (v !== SAME_VIA) {
      via = Uint8Array.prototype.slice.call(b, p, p + v) // a copy: it outlives the batch
      p += v
    }
    each(b.subarray(p, p + n), via)
    p += n
  }
}
