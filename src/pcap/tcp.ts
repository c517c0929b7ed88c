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
 *
 * This module reads the flags of each segment (SYN, FIN, RST, port reuse); the parts are in tcp/:
 * the consumer contract and counters (types.ts), the per-flow and per-direction state (flow.ts), the
 * sequencing of one direction (sequencer.ts) and the flow table with its limits (table.ts).
 */

import type { TransportResult } from './result.js'
import { FlowTable } from './tcp/table.js'
import { TcpSequencer } from './tcp/sequencer.js'
import {
  DEFAULT_TCP_FLOW_MEMORY_CAP,
  DEFAULT_TCP_IDLE_TIMEOUT_MS,
  DEFAULT_TCP_MAX_FLOWS,
  DEFAULT_TCP_MEMORY_CAP,
  emptyTcpStats,
  type TcpConsumer,
  type TcpReassemblyOptions,
  type TcpStats,
} from './tcp/types.js'

export { TcpFlow, TcpHalf } from './tcp/flow.js'
export * from './tcp/types.js'

const FIN = 0x01
const SYN = 0x02
const RST = 0x04

function positive(v: number | undefined, dflt: number): number {
  return typeof v === 'number' && v > 0 ? v : dflt
}

export class TcpReassembler<A> {
  readonly stats: TcpStats = emptyTcpStats()
  readonly maxFlows: number
  readonly flowMemoryCap: number
  readonly memoryCap: number
  readonly idleTimeoutMs: number
  private readonly sequencer: TcpSequencer<A>
  private readonly table: FlowTable<A>

  constructor(consumer: TcpConsumer<A>, options: TcpReassemblyOptions = {}) {
    this.maxFlows = positive(options.maxFlows, DEFAULT_TCP_MAX_FLOWS)
    this.flowMemoryCap = positive(options.flowMemoryCap, DEFAULT_TCP_FLOW_MEMORY_CAP)
    this.memoryCap = positive(options.memoryCap, DEFAULT_TCP_MEMORY_CAP)
    this.idleTimeoutMs = positive(options.idleTimeoutMs, DEFAULT_TCP_IDLE_TIMEOUT_MS)
    this.sequencer = new TcpSequencer(consumer, this.stats, this.flowMemoryCap)
    this.table = new FlowTable(this.sequencer, this.stats, this)
  }

  /** flows tracked now */
  get size(): number {
    return this.table.size
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
    const table = this.table
    table.advance(seconds * 1000 + nanos / 1e6)
    if (len === 0 && (flags & (SYN | FIN | RST)) === 0) return
    const src = t.src
    const dst = t.dst
    const sp = t.srcPort
    const dp = t.dstPort
    const fwd = src < dst || (src === dst && sp <= dp)
    const key = fwd ? src + ' ' + sp + ' ' + dst + ' ' + dp : dst + ' ' + dp + ' ' + src + ' ' + sp
    let flow = table.get(key)
    if (flow === undefined) {
      // a FIN or RST of a flow not tracked (closed, or before the capture): nothing to do
      if (len === 0 && (flags & SYN) === 0) return
      flow = table.open(key, t, fwd)
    } else {
      flow.touched = true
    }
    flow.lastSeen = table.clock
    if ((flags & RST) !== 0) {
      table.close(flow, 'reset')
      this.stats.closed++
      return
    }
    let half = fwd ? flow.a : flow.b
    let seq = tcp.seq
    if ((flags & SYN) !== 0) {
      if (half.synced && half.isn !== seq) {
        // the same 4-tuple with a new ISN: a new connection (port reuse)
        table.close(flow, 'new connection')
        flow = table.open(key, t, fwd)
        flow.lastSeen = table.clock
        half = fwd ? flow.a : flow.b
      }
      if (!half.synced) {
        half.synced = true
        half.isn = seq
        half.next = (seq + 1) >>> 0
      }
      seq = (seq + 1) >>> 0 // data on a SYN (TCP Fast Open) starts after it
    }
    if (len > 0 && !half.ended) this.sequencer.data(half, seq, payload, frame, seconds, nanos, t.vlan)
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
      this.sequencer.endHalf(half, 'fin')
      const peer = half.peer
      // both directions done (or the other one never seen: a capture of one direction only)
      if (peer.ended || (!peer.synced && peer.app === undefined)) {
        table.remove(flow)
        this.stats.closed++
        return
      }
    }
    if (this.stats.bytesHeld > this.memoryCap) table.shed(flow)
  }

  /** End of input: every flow is closed (holes skipped, what is incomplete dropped by the consumer). */
  flush(): void {
    this.table.flush()
  }
}
