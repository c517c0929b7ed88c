/**
 * The table of TCP flows a reassembler (src/pcap/tcp.ts) tracks: a Map by canonical 4-tuple key and
 * the same flows in a linked list by activity, the capture clock (record timestamps, never wall
 * time), and the limits: a cap on the number of flows (the least recently active evicted first), the
 * overall memory cap (the least recently active flows evicted until under it) and the idle timeout.
 * Every flow closed here ends both its directions through the sequencer, so the consumer hears of it.
 */

import type { TransportResult } from '../result.js'
import { TcpFlow } from './flow.js'
import type { TcpSequencer } from './sequencer.js'
import type { TcpEndReason, TcpStats } from './types.js'

export interface FlowLimits {
  maxFlows: number
  memoryCap: number
  idleTimeoutMs: number
}

export class FlowTable<A> {
  /** capture clock: the latest timestamp seen (ms), so time never runs backwards (set by `advance`) */
  clock = -Infinity
  /** flows by canonical 4-tuple key */
  private readonly flows = new Map<string, TcpFlow<A>>()
  /** the same flows in `placed` order, oldest first (a linked list: O(1) to evict or move) */
  private head: TcpFlow<A> | undefined = undefined
  private tail: TcpFlow<A> | undefined = undefined
  private nextSweep = -Infinity
  private readonly sweepEvery: number

  constructor(
    private readonly sequencer: TcpSequencer<A>,
    private readonly stats: TcpStats,
    private readonly limits: FlowLimits,
  ) {
    this.sweepEvery = Math.min(limits.idleTimeoutMs / 4, 10_000)
  }

  /** flows tracked now */
  get size(): number {
    return this.flows.size
  }

  /** The capture time of a record (ms): moves the clock forward and closes idle flows when due. */
  advance(now: number): void {
    if (now > this.clock) this.clock = now
    if (this.clock >= this.nextSweep) this.sweep()
  }

  get(key: string): TcpFlow<A> | undefined {
    return this.flows.get(key)
  }

  /** A new flow for `t`'s 4-tuple (`fwd`: `t` goes from the key's first endpoint), placed now. */
  open(key: string, t: TransportResult, fwd: boolean): TcpFlow<A> {
    if (this.flows.size >= this.limits.maxFlows) this.evictOne()
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

  /** Ends both directions (what is held is delivered first) and forgets the flow. */
  close(flow: TcpFlow<A>, reason: TcpEndReason): void {
    this.sequencer.endHalf(flow.a, reason)
    this.sequencer.endHalf(flow.b, reason)
    this.remove(flow)
  }

  /** Forgets the flow (its directions already ended) and the bytes it held. */
  remove(flow: TcpFlow<A>): void {
    if (this.flows.get(flow.key) === flow) {
      this.flows.delete(flow.key)
      this.unlink(flow)
    }
    this.stats.bytesHeld -= flow.bytes
    flow.bytes = 0
    this.stats.flows = this.flows.size
  }

  /** End of input: every flow is closed. */
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

  /**
   * Over the overall memory cap: evicts the least recently active flows (the current one last) until
   * under it.
   */
  shed(current: TcpFlow<A>): void {
    const cap = this.limits.memoryCap
    for (let f = this.head; f !== undefined && this.stats.bytesHeld > cap;) {
      const next = f.next
      if (f !== current) {
        this.close(f, 'evicted')
        this.stats.evicted++
      }
      f = next
    }
    if (this.stats.bytesHeld > cap) {
      this.close(current, 'evicted')
      this.stats.evicted++
    }
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
   * Closes the flows idle for idleTimeoutMs. Runs every sweepEvery ms of capture time; a flow is
   * closed between one and about two timeouts after its last segment.
   */
  private sweep(): void {
    const clock = this.clock
    this.nextSweep = clock + this.sweepEvery
    const limit = clock - this.limits.idleTimeoutMs
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
