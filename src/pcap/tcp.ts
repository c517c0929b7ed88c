/**
 * TCP stream reassembly for captures: the segments of each flow put back in sequence order, per
 * direction, and handed to a consumer (the SIP / HEP / WebSocket framing of src/capture/streams.ts)
 * as contiguous bytes, each byte exactly once.
 *
 * - Out-of-order segments are held (copied) until the bytes before them arrive; retransmissions and
 *   overlaps are trimmed to the bytes not delivered yet (the first copy of a byte wins, as in the
 *   Linux receiver and tshark).
 * - A flow seen from its SYN starts at ISN + 1. A capture that starts mid-stream (no SYN) starts at
 *   the first segment seen, and the direction is marked `midStream` so the consumer resynchronises if
 *   that segment does not begin at a message boundary.
 * - A hole that is never filled (a segment the capture lost) is skipped when the flow ends, is idle,
 *   is evicted, or holds more than its memory cap; the consumer is told (`gap`) and resynchronises.
 * - FIN ends a direction once every byte before it was delivered; RST ends both at once.
 * - Idle timeout in capture time (record timestamps, never wall time), a cap on the number of flows
 *   (the least recently active one is evicted first), and caps on the bytes held per flow and
 *   overall; everything dropped is counted in `stats`.
 *
 * Per segment the work is: one key string, one Map lookup, a sequence compare and the consumer call.
 * Segments that carry no data and no SYN / FIN / RST (pure ACKs) are dropped before the lookup.
 */

import type { TransportResult } from './result.js'

const FIN = 0x01
const SYN = 0x02
const RST = 0x04

export const DEFAULT_TCP_MAX_FLOWS = 65_536
export const DEFAULT_TCP_FLOW_MEMORY_CAP = 1024 * 1024
export const DEFAULT_TCP_MEMORY_CAP = 64 * 1024 * 1024
export const DEFAULT_TCP_IDLE_TIMEOUT_MS = 300_000

export interface TcpReassemblyOptions {
  /** flows tracked at once; when a new one would exceed it, the least recently active is evicted. Default 65 536 */
  maxFlows?: number
  /** bytes held for one flow (held out-of-order segments + what the consumer buffers). Default 1 MiB */
  flowMemoryCap?: number
  /** bytes held for all flows together; over it, the least recently active flows are evicted. Default 64 MiB */
  memoryCap?: number
  /** a flow without segments for this long, in capture time, is closed. Default 300 000 ms */
  idleTimeoutMs?: number
}

export interface TcpStats {
  /** flows tracked now */
  flows: number
  /** flows seen (a SYN or data on a new 4-tuple) */
  flowsOpened: number
  /** bytes held now: out-of-order segments + consumer buffers */
  bytesHeld: number
  /** data segments whose bytes had all been delivered already (retransmissions, duplicates) */
  retransmissions: number
  /** data segments that arrived ahead of a hole and were held */
  outOfOrder: number
  /** holes skipped (segments the capture lost) and their bytes */
  gaps: number
  gapBytes: number
  /** flows evicted by the flow-count cap or the overall memory cap */
  evicted: number
  /** flows closed by the idle timeout */
  expired: number
  /** flows ended by FIN (both directions) or RST */
  closed: number
}

/** Why a direction ended. */
export type TcpEndReason = 'fin' | 'reset' | 'idle' | 'evicted' | 'end' | 'new connection'

export interface TcpConsumer<A> {
  /**
   * In-order bytes of one direction. `data` is a view that is only valid during the call (copy what
   * is kept). `frame`, `seconds`, `nanos`, `vlan` are those of the segment that delivered the bytes.
   */
  data(
    half: TcpHalf<A>,
    data: Buffer,
    frame: number,
    seconds: number,
    nanos: number,
    vlan: number | undefined,
  ): void
  /** `bytes` bytes of this direction were lost: what comes next may start in the middle of a message */
  gap(half: TcpHalf<A>, bytes: number): void
  /** no more bytes for this direction: drop what is incomplete */
  end(half: TcpHalf<A>, reason: TcpEndReason): void
  /** bytes the consumer holds for this direction (counted against the memory caps) */
  buffered(half: TcpHalf<A>): number
}

/** An out-of-order segment held until the bytes before it arrive (data copied). */
interface Held {
  seq: number
  data: Buffer
  frame: number
  seconds: number
  nanos: number
  vlan: number | undefined
}

/** One direction of a flow. */
export class TcpHalf<A> {
  /** next sequence number expected (valid once `synced`) */
  next = 0
  synced = false
  /** the ISN from this direction's SYN, -1 when the flow was picked up mid-stream */
  isn = -1
  /** no SYN was seen: the first byte delivered may be in the middle of a message */
  midStream = false
  finSeen = false
  finSeq = 0
  ended = false
  /** out-of-order segments, sorted by sequence number */
  held: Held[] | undefined = undefined
  heldBytes = 0
  /** what the consumer reported holding after its last call */
  appBytes = 0
  /** the consumer's state for this direction */
  app: A | undefined = undefined

  constructor(
    readonly flow: TcpFlow<A>,
    readonly src: string,
    readonly srcPort: number,
    readonly dst: string,
    readonly dstPort: number,
    readonly ipVersion: 4 | 6,
  ) {}

  /** the other direction */
  get peer(): TcpHalf<A> {
    return this.flow.a === this ? this.flow.b : this.flow.a
  }
}

export class TcpFlow<A> {
  readonly a: TcpHalf<A>
  readonly b: TcpHalf<A>
  /** capture time (ms) of the last segment */
  lastSeen = 0
  /** capture time (ms) when the flow was put at the end of the table (table order is by this) */
  placed = 0
  /** a segment arrived since it was placed (second chance before eviction) */
  touched = false
  /** bytes held for both directions */
  bytes = 0
  /** the activity list (least recently placed first) */
  prev: TcpFlow<A> | undefined = undefined
  next: TcpFlow<A> | undefined = undefined

  constructor(
    readonly key: string,
    src: string,
    srcPort: number,
    dst: string,
    dstPort: number,
    ipVersion: 4 | 6,
  ) {
    this.a = new TcpHalf(this, src, srcPort, dst, dstPort, ipVersion)
    this.b = new TcpHalf(this, dst, dstPort, src, srcPort, ipVersion)
  }
}

function positive(v: number | undefined, dflt: number): number {
  return typeof v === 'number' && v > 0 ? v : dflt
}

export class TcpReassembler<A> {
  readonly stats: TcpStats = {
    flows: 0,
    flowsOpened: 0,
    bytesHeld: 0,
    retransmissions: 0,
    outOfOrder: 0,
    gaps: 0,
    gapBytes: 0,
    evicted: 0,
    expired: 0,
    closed: 0,
  }
  readonly maxFlows: number
  readonly flowMemoryCap: number
  readonly memoryCap: number
  readonly idleTimeoutMs: number
  /** flows by canonical 4-tuple key */
  private readonly flows = new Map<string, TcpFlow<A>>()
  /** the same flows in `placed` order, oldest first (a linked list: O(1) to evict or move) */
  private head: TcpFlow<A> | undefined = undefined
  private tail: TcpFlow<A> | undefined = undefined
  /** capture clock: the latest timestamp seen (ms), so time never runs backwards */
  private clock = -Infinity
  private nextSweep = -Infinity
  private readonly sweepEvery: number

  constructor(
    private readonly consumer: TcpConsumer<A>,
    options: TcpReassemblyOptions = {},
  ) {
    this.maxFlows = positive(options.maxFlows, DEFAULT_TCP_MAX_FLOWS)
    this.flowMemoryCap = positive(options.flowMemoryCap, DEFAULT_TCP_FLOW_MEMORY_CAP)
    this.memoryCap = positive(options.memoryCap, DEFAULT_TCP_MEMORY_CAP)
    this.idleTimeoutMs = positive(options.idleTimeoutMs, DEFAULT_TCP_IDLE_TIMEOUT_MS)
    this.sweepEvery = Math.min(this.idleTimeoutMs / 4, 10_000)
  }

  /** flows tracked now */
  get size(): number {
    return this.flows.size
  }

  /**
   * One TCP segment (a decoder result of kind 'tcp'), from record `frame` captured at `seconds` +
   * `nanos`. Messages the consumer completes are stamped with these.
   */
  segment(t: TransportResult, frame: number, seconds: number, nanos: number): void {
    const tcp = t.tcp
    if (tcp === undefined) return
    const flags = tcp.flags
    const payload = t.payload
    const len = payload.length
    const now = seconds * 1000 + nanos / 1e6
    if (now > this.clock) this.clock = now
    if (this.clock >= this.nextSweep) this.sweep()
    if (len === 0 && (flags & (SYN | FIN | RST)) === 0) return
    const src = t.src
    const dst = t.dst
    const sp = t.srcPort
    const dp = t.dstPort
    const fwd = src < dst || (src === dst && sp <= dp)
    const key = fwd ? src + ' ' + sp + ' ' + dst + ' ' + dp : dst + ' ' + dp + ' ' + src + ' ' + sp
    let flow = this.flows.get(key)
    if (flow === undefined) {
      // a FIN or RST of a flow not tracked (closed, or before the capture): nothing to do
      if (len === 0 && (flags & SYN) === 0) return
      flow = this.open(key, t, fwd)
    } else {
      flow.touched = true
    }
    flow.lastSeen = this.clock
    if ((flags & RST) !== 0) {
      this.close(flow, 'reset')
      this.stats.closed++
      return
    }
    let half = fwd ? flow.a : flow.b
    let seq = tcp.seq
    if ((flags & SYN) !== 0) {
      if (half.synced && half.isn !== seq) {
        // the same 4-tuple with a new ISN: a new connection (port reuse)
        this.close(flow, 'new connection')
        flow = this.open(key, t, fwd)
        flow.lastSeen = this.clock
        half = fwd ? flow.a : flow.b
      }
      if (!half.synced) {
        half.synced = true
        half.isn = seq
        half.next = (seq + 1) >>> 0
      }
      seq = (seq + 1) >>> 0 // data on a SYN (TCP Fast Open) starts after it
    }
    if (len > 0 && !half.ended) this.data(half, seq, payload, frame, seconds, nanos, t.vlan)
    if ((flags & FIN) !== 0 && !half.finSeen) {
      if (!half.synced) {
        half.synced = true
        half.midStream = true
        half.next = (seq + len) >>> 0
      }
      half.finSeen = true
      half.finSeq = (seq + len) >>> 0
    }
    if (half.finSeen && !half.ended && half.next === half.finSeq && half.held === undefined) {
      this.endHalf(half, 'fin')
      const peer = half.peer
      // both directions done (or the other one never seen: a capture of one direction only)
      if (peer.ended || (!peer.synced && peer.app === undefined)) {
        this.remove(flow)
        this.stats.closed++
        return
      }
    }
    if (this.stats.bytesHeld > this.memoryCap) this.shed(flow)
  }

  /** End of input: every flow is closed (holes skipped, what is incomplete dropped by the consumer). */
  flush(): void {
    for (let f = this.head; f !== undefined;) {
      const next = f.next
      this.close(f, 'end')
      f = next
    }
    this.flows.clear()
    this.head = this.tail = undefined
    this.stats.flows = 0
    this.stats.bytesHeld = 0
  }

  private open(key: string, t: TransportResult, fwd: boolean): TcpFlow<A> {
    if (this.flows.size >= this.maxFlows) this.evictOne()
    const f = fwd
      ? new TcpFlow<A>(key, t.src, t.srcPort, t.dst, t.dstPort, t.ipVersion)
      : new TcpFlow<A>(key, t.dst, t.dstPort, t.src, t.srcPort, t.ipVersion)
    f.placed = this.clock
    this.flows.set(key, f)
    this.link(f)
    this.stats.flows = this.flows.size
    this.stats.flowsOpened++
    return f
  }

  private data(
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

  private endHalf(half: TcpHalf<A>, reason: TcpEndReason): void {
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

  /** Ends both directions (what is held is delivered first) and forgets the flow. */
  private close(flow: TcpFlow<A>, reason: TcpEndReason): void {
    this.endHalf(flow.a, reason)
    this.endHalf(flow.b, reason)
    this.remove(flow)
  }

  private link(f: TcpFlow<A>): void {
    const t = this.tail
    f.prev = t
    f.next = undefined
    if (t === undefined) this.head = f
    else t.next = f
    this.tail = f
  }

  private unlink(f: TcpFlow<A>): void {
    const p = f.prev
    const n = f.next
    if (p === undefined) this.head = n
    else p.next = n
    if (n === undefined) this.tail = p
    else n.prev = p
    f.prev = f.next = undefined
  }

  /** puts `f` at the end of the activity list, placed now */
  private replace(f: TcpFlow<A>): void {
    f.touched = false
    f.placed = this.clock
    this.unlink(f)
    this.link(f)
  }

  private remove(flow: TcpFlow<A>): void {
    if (this.flows.get(flow.key) === flow) {
      this.flows.delete(flow.key)
      this.unlink(flow)
    }
    this.stats.bytesHeld -= flow.bytes
    flow.bytes = 0
    this.stats.flows = this.flows.size
  }

  /**
   * Evicts the least recently active flow. The list is in `placed` order; a flow touched since it was
   * placed gets a second chance (moved to the end), so the cost is amortised O(1) per segment.
   */
  private evictOne(): void {
    for (let f = this.head; f !== undefined;) {
      const next = f.next
      if (f.touched) this.replace(f)
      else {
        this.close(f, 'evicted')
        this.stats.evicted++
        return
      }
      f = next
    }
  }

  /**
   * Over the overall memory cap: evicts the least recently active flows (the current one last) until
   * under it.
   */
  private shed(current: TcpFlow<A>): void {
    for (let f = this.head; f !== undefined && this.stats.bytesHeld > this.memoryCap;) {
      const next = f.next
      if (f !== current) {
        this.close(f, 'evicted')
        this.stats.evicted++
      }
      f = next
    }
    if (this.stats.bytesHeld > this.memoryCap) {
      this.close(current, 'evicted')
      this.stats.evicted++
    }
  }

  /**
   * Closes the flows idle for idleTimeoutMs. Runs every sweepEvery ms of capture time; a flow is
   * closed between one and about two timeouts after its last segment.
   */
  private sweep(): void {
    const clock = this.clock
    this.nextSweep = clock + this.sweepEvery
    const limit = clock - this.idleTimeoutMs
    for (let f = this.head; f !== undefined;) {
      const next = f.next
      if (f.lastSeen <= limit) {
        this.close(f, 'idle')
        this.stats.expired++
      } else if (f.placed > limit)
        break // placed later than this: none after it can be idle
      else this.replace(f)
      f = next
    }
  }
}
