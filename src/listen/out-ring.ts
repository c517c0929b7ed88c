/**
 * The queue between out-thread.ts (the main thread, writing) and out-worker.ts (reading): a ring of
 * bytes in a SharedArrayBuffer and a few Int32 words beside it, so handing a packet over costs a copy
 * and no message. Each record is
 *   u32 length of the datagram | u16 length of its "via" text, 0xffff: the previous one's | via | datagram
 * (a sender's "via" text goes once per run of its packets, as the one-thread path makes it). A record
 * never straddles the end: a u32 0xffffffff there means "go on at 0". The writer publishes its
 * position (WPOS) with each record, and notifies only a reader that said it sleeps (SLEEPING); the
 * reader advances RPOS once the records are written out.
 */
import type { DecodeOptions } from '../hep/codec.js'

/** the control words */
export const WPOS = 0
export const RPOS = 1
/** lines the OS accepted */
export const WRITTEN = 2
/** 1: the writer has ended, the reader drains and stops */
export const END = 3
/** 1: the reader sleeps (Atomics.wait on WPOS): the writer must notify */
export const SLEEPING = 4
/** records the reader is done with (written, malformed, or past --count) */
export const HANDLED = 5
/** with `decodes`: packets decoded (the session's `received`), and datagrams that were no HEP */
export const RECEIVED = 6
export const MALFORMED = 7
/** never written: the reader's naps wait on it */
export const NAP = 8
export const CONTROL_WORDS = 9

export const SAME_VIA = 0xffff
export const WRAP = 0xffffffff
/** the largest record: a UDP datagram of 65,535 bytes, its header and a via of up to 1 KiB */
export const MAX_RECORD = 65_535 + 6 + 1024

export interface WorkerSetup {
  /** the file descriptor written (stdout's, 1) */
  fd: number
  /** its name in messages */
  name: string
  /** the decode options of the listener (the addresses cache excepted) */
  decode: Omit<DecodeOptions, 'addresses'>
  ring: SharedArrayBuffer
  control: SharedArrayBuffer
  /**
   * the worker decodes and counts (received, malformed, capture ids and types): the main thread
   * hands over every datagram undecoded (no filter, no other output); else it decodes, counts and
   * filters, and hands over the packets shown
   */
  decodes: boolean
  /** with `decodes`: --count, the packets after it are not taken */
  count?: number
  /** tests only: the worker throws at this packet */
  crashAfter?: number
}

/** how often the worker hands over its counts by kind while it runs */
export const KIND_EVERY_MS = 500

/** the capture id of a row of packets whose kind the main thread never heard (the worker died, or was given up on) */
export const KIND_UNKNOWN = -3

/** Capture id and payload type counts (ListenStats.kinds() rows, the capture id as a number, -1: none, -2: others, KIND_UNKNOWN: not known). */
export type KindRow = [captureId: number, payloadType: number, packets: number]

/**
 * From the worker: the output failed (the first error); a datagram was no HEP (with `decodes`);
 * --count was reached; it drained everything after END (with `decodes`, the counts by kind).
 */
export type ToMain =
  | { t: 'error'; code: string; reason: string }
  | { t: 'malformed'; remote: string; message: string }
  | { t: 'count' }
  | { t: 'ended'; written: number; kinds?: KindRow[] }
  /** what the worker counted by kind so far (every KIND_EVERY_MS): the main thread's if it dies */
  | { t: 'kinds'; kinds: KindRow[] }

/** Bytes in use in a ring of `size` bytes between the read and the write positions. */
export function used(w: number, r: number, size: number): number {
  return w >= r ? w - r : size - r + w
}
