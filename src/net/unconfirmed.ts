/**
 * The unconfirmed window of one stream connection (src/net/stream-sender.ts): the packets written to
 * it, in write order, that a failure of the connection could still lose. A packet enters when it is
 * given to the socket (`push`), is *pending* until its write completes (`written`: the kernel took it;
 * streams call back in order), and leaves, confirmed, once
 * - more than `confirmAfterBytes` bytes were taken by the kernel after it (no send buffer plus receive
 *   buffer can still hold it), or
 * - a probe (a WebSocket ping) sent after it was answered (`probed`).
 * What is left when the connection fails is taken back (`take`), in order, to be written again.
 *
 * Parallel arrays, no object per packet (the window can hold a hundred thousand): entries
 * [head, pendHead) are written (marks[i]: bytes the kernel took on this connection up to and including
 * entry i), entries [pendHead, length) wait for their write callback. Entry i is write number
 * seqBase + i on this connection. Confirmed entries are released at once and the arrays compacted, so
 * the memory held is that of the unconfirmed packets.
 */
export class UnconfirmedWindow {
  private bufs: Buffer[] = []
  private marks: number[] = []
  private ats: number[] = []
  private seqBase = 0
  private head = 0
  private pendHead = 0
  private pendBytes = 0
  private pendCount = 0
  /** bytes the kernel took on this connection */
  private accepted = 0
  private seq = 0
  /** writes numbered below this were confirmed by a probe */
  private probedSeq = 0

  constructor(
    /** bytes written after a packet that confirm it */
    readonly confirmAfterBytes: number,
  ) {}

  /** packets not confirmed: written or pending */
  get size(): number {
    return this.bufs.length - this.head
  }

  /** packets whose write has not completed */
  get pending(): number {
    return this.pendCount
  }

  /** bytes whose write has not completed */
  get pendingBytes(): number {
    return this.pendBytes
  }

  /** writes on this connection so far (a probe sent now confirms the writes numbered below it) */
  get writes(): number {
    return this.seq
  }

  /** entries the arrays hold, confirmed ones not compacted yet included (for tests: memory is bounded) */
  get stored(): number {
    return this.bufs.length
  }

  /** the time (as given to `push`) of the oldest write not completed, or undefined */
  get oldestPendingAt(): number | undefined {
    return this.pendHead < this.bufs.length ? this.ats[this.pendHead] : undefined
  }

  /** A packet given to the socket at time `at`; pending until `written`. */
  push(buf: Buffer, at: number): void {
    this.bufs.push(buf)
    this.marks.push(0)
    this.ats.push(at)
    this.seq++
    this.pendBytes += buf.length
    this.pendCount++
  }

  /** The oldest pending write completed: the kernel took its bytes. Call `confirm` after. */
  written(): void {
    const i = this.pendHead++
    const len = this.bufs[i].length
    this.pendBytes -= len
    this.pendCount--
    this.accepted += len
    this.marks[i] = this.accepted
  }

  /** A probe sent after `upTo` writes (`writes` then) was answered. Call `confirm` after. */
  probed(upTo: number): void {
    this.probedSeq = Math.max(this.probedSeq, upTo)
  }

  /**
   * Takes the oldest packets that no failure can lose any more out of the window, in order, calling
   * `sent` with the length of each; returns how many.
   */
  confirm(sent: (bytes: number) => void): number {
    const limit = this.accepted - this.confirmAfterBytes
    const probed = this.probedSeq - this.seqBase
    const bufs = this.bufs
    const first = this.head
    let i = first
    while (i < this.pendHead && (this.marks[i] <= limit || i < probed)) {
      sent(bufs[i].length)
      bufs[i] = undefined as unknown as Buffer
      i++
    }
    this.head = i
    if (this.head === this.bufs.length) {
      this.bufs = []
      this.marks = []
      this.ats = []
      this.seqBase += this.head
      this.head = 0
      this.pendHead = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.bufs.length) {
      this.bufs = this.bufs.slice(this.head)
      this.marks = this.marks.slice(this.head)
      this.ats = this.ats.slice(this.head)
      this.seqBase += this.head
      this.pendHead -= this.head
      this.head = 0
    }
    return i - first
  }

  /**
   * Empties the window for a new connection: the packets not confirmed (written or pending), in write
   * order.
   */
  take(): Buffer[] {
    const bufs = this.head === 0 ? this.bufs : this.bufs.slice(this.head)
    this.bufs = []
    this.marks = []
    this.ats = []
    this.seqBase = 0
    this.head = 0
    this.pendHead = 0
    this.pendBytes = 0
    this.pendCount = 0
    this.accepted = 0
    this.seq = 0
    this.probedSeq = 0
    return bufs
  }
}
