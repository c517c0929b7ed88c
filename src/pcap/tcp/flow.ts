/**
 * The state of one TCP flow and of each of its two directions (halves), as the reassembler
 * (src/pcap/tcp.ts) keeps it and the consumer sees it. Data only: the sequencing is sequencer.ts, the
 * table of flows table.ts.
 */

/** An out-of-order segment held until the bytes before it arrive (data copied). */
export interface Held {
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
