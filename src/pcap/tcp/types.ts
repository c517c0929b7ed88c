/**
 * The contract of TCP reassembly (src/pcap/tcp.ts): its options and defaults, its counters, and the
 * consumer that gets each direction's bytes in order. Types and constants only.
 */

import type { TcpHalf } from './flow.js'

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

/** Every counter at zero. */
export function emptyTcpStats(): TcpStats {
  return {
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
