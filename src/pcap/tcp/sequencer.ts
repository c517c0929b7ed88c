/**
 * One direction's bytes put in sequence order (src/pcap/tcp.ts routes each data segment here): the
 * next expected bytes go to the consumer at once, a segment ahead of a hole is held (copied, sorted by
 * sequence number) until the hole is filled, and what was delivered already (a retransmission, the
 * overlapping part of a segment) is dropped: the first copy of a byte wins. A hole that will not be
 * filled (far ahead, or no room left in the flow's memory cap) is skipped and the consumer told.
 *
 * One sequencer serves every direction of a reassembler; the state is the TcpHalf's. Every byte held,
 * here or by the consumer, is counted in the half, its flow and the shared stats.
 */

import type { TcpHalf } from './flow.js'
import type { TcpConsumer, TcpEndReason, TcpStats } from './types.js'

export class TcpSequencer<A> {
  constructor(
    private readonly consumer: TcpConsumer<A>,
    private readonly stats: TcpStats,
    /** bytes held for one flow at most; a hole further ahead than this is loss, not reordering */
    private readonly flowMemoryCap: number,
  ) {}

  /** The `payload` of a segment at sequence number `seq` (after a SYN's own number). */
  data(
    half: TcpHalf<A>,
    seq: number,
    payload: Buffer,
    frame: number,
    seconds: number,
    nanos: number,
    vlan: number | undefined,
  ): void {
    const len = payload.length
    if (!half.synced) {
      half.synced = true
      half.midStream = true
      half.next = seq
    }
    let diff = (seq - half.next) | 0
    if (diff > 0) {
      // ahead of a hole: held until the hole is filled, unless it is far ahead (loss, not
      // reordering) or the flow has no room left to wait: then the hole is given up
      if (diff <= this.flowMemoryCap && half.flow.bytes + len <= this.flowMemoryCap) {
        this.hold(half, seq, payload, frame, seconds, nanos, vlan)
        return
      }
      this.skipHeld(half)
      diff = (seq - half.next) | 0
      if (diff > 0) {
        this.hole(half, diff)
        half.next = seq
        diff = 0
      }
    }
    if (diff + len <= 0) {
      this.stats.retransmissions++
      return
    }
    this.deliver(half, diff === 0 ? payload : payload.subarray(-diff), frame, seconds, nanos, vlan)
    half.next = (seq + len) >>> 0
    if (half.held !== undefined) this.drain(half, frame, seconds, nanos, vlan)
  }

  /** No more bytes for this direction: what is held is delivered first (holes skipped). */
  endHalf(half: TcpHalf<A>, reason: TcpEndReason): void {
    if (half.ended) return
    this.skipHeld(half)
    half.ended = true
    if (half.synced || half.app !== undefined) this.consumer.end(half, reason)
    const b = half.appBytes
    if (b !== 0) {
      half.appBytes = 0
      half.flow.bytes -= b
      this.stats.bytesHeld -= b
    }
  }

  private deliver(
    half: TcpHalf<A>,
    bytes: Buffer,
    frame: number,
    seconds: number,
    nanos: number,
    vlan: number | undefined,
  ): void {
    const c = this.consumer
    c.data(half, bytes, frame, seconds, nanos, vlan)
    const b = c.buffered(half)
    const d = b - half.appBytes
    if (d !== 0) {
      half.appBytes = b
      half.flow.bytes += d
      this.stats.bytesHeld += d
    }
  }

  /** Held segments that the bytes just delivered reached: delivered now, stamped with the current segment. */
  private drain(
    half: TcpHalf<A>,
    frame: number,
    seconds: number,
    nanos: number,
    vlan: number | undefined,
  ): void {
    const q = half.held!
    while (q.length > 0 && ((q[0].seq - half.next) | 0) <= 0) {
      const h = q.shift()!
      this.unhold(half, h.data.length)
      const end = (h.seq + h.data.length) >>> 0
      const fresh = (end - half.next) | 0
      if (fresh > 0) {
        this.deliver(half, h.data.subarray(h.data.length - fresh), frame, seconds, nanos, vlan)
        half.next = end
      }
    }
    if (q.length === 0) half.held = undefined
  }

  private hold(
    half: TcpHalf<A>,
    seq: number,
    payload: Buffer,
    frame: number,
    seconds: number,
    nanos: number,
    vlan: number | undefined,
  ): void {
    const len = payload.length
    let q = half.held
    if (q === undefined) q = half.held = []
    // sorted by sequence number (relative to `next`); an exact duplicate keeps the longer copy
    const rel = (seq - half.next) | 0
    let i = q.length
    while (i > 0 && ((q[i - 1].seq - half.next) | 0) > rel) i--
    if (i > 0 && q[i - 1].seq === seq) {
      if (q[i - 1].data.length >= len) {
        this.stats.retransmissions++
        return
      }
      this.unhold(half, q[i - 1].data.length)
      q.splice(i - 1, 1)
      i--
    }
    this.stats.outOfOrder++
    const copy = Buffer.allocUnsafe(len)
    payload.copy(copy)
    q.splice(i, 0, { seq, data: copy, frame, seconds, nanos, vlan })
    half.heldBytes += len
    half.flow.bytes += len
    this.stats.bytesHeld += len
  }

  private unhold(half: TcpHalf<A>, n: number): void {
    half.heldBytes -= n
    half.flow.bytes -= n
    this.stats.bytesHeld -= n
  }

  private hole(half: TcpHalf<A>, bytes: number): void {
    this.stats.gaps++
    this.stats.gapBytes += bytes
    this.consumer.gap(half, bytes)
  }

  /** Delivers everything held, skipping the holes before it; each segment with its own stamp. */
  private skipHeld(half: TcpHalf<A>): void {
    const q = half.held
    if (q === undefined) return
    half.held = undefined
    for (let i = 0; i < q.length; i++) {
      const h = q[i]
      this.unhold(half, h.data.length)
      const ahead = (h.seq - half.next) | 0
      if (ahead > 0) {
        this.hole(half, ahead)
        half.next = h.seq
      }
      const end = (h.seq + h.data.length) >>> 0
      const fresh = (end - half.next) | 0
      if (fresh > 0) {
        this.deliver(half, h.data.subarray(h.data.length - fresh), h.frame, h.seconds, h.nanos, h.vlan)
        half.next = end
      }
    }
  }
}
