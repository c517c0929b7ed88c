/**
 * What every single-destination sender shares: the bounded queue (backpressure or drop), the counters
 * (sent + failed + dropped + queued + inFlight == submitted, at all times), drain / ready / flush, and
 * close() with a deadline. Subclasses move packets from the queue to a socket; a stream sender may put
 * packets it could not confirm back at the front of the queue (requeue), to be sent again.
 */
import { EventEmitter } from 'node:events'
import { readFileSync } from 'node:fs'
import { NetError } from './errors.js'
import {
  emptySenderStats,
  type DisconnectEvent,
  type HepSender,
  type SenderEvents,
  type SenderOptions,
  type SenderStats,
} from './sender-types.js'

export interface ResolvedSenderOptions {
  queueLimit: number
  onFull: 'backpressure' | 'drop'
  connectTimeout: number
  writeTimeout: number
  reconnect: boolean
  reconnectDelay: number
  reconnectMaxDelay: number
  closeTimeout: number
  keepalive: number
  resend: boolean
  confirmAfterBytes: number
}

/** One number of a /proc/sys file ("4096 16384 4194304": `field` 2 is the max), or undefined. */
function sysctl(path: string, field = 0): number | undefined {
  try {
    const v = Number(readFileSync(path, 'utf8').trim().split(/\s+/)[field])
    return Number.isFinite(v) && v > 0 ? v : undefined
  } catch {
    return undefined
  }
}

/**
 * How many bytes the kernels between us and a TCP receiver can hold: our socket's send buffer (autotuned
 * up to net.ipv4.tcp_wmem's max) plus the peer's receive buffer (up to tcp_rmem's max, or twice
 * net.core.rmem_max when it sets SO_RCVBUF), read from /proc/sys on Linux; 4 + 6 MiB (Linux's
 * defaults) elsewhere. A packet with more than this written after it has been read by the receiver.
 * Read when a sender is made (a few small reads per destination), so a changed sysctl is seen.
 */
export function kernelBufferBound(): number {
  const wmem = sysctl('/proc/sys/net/ipv4/tcp_wmem', 2) ?? 4 * 1024 * 1024
  const rmem = Math.max(
    sysctl('/proc/sys/net/ipv4/tcp_rmem', 2) ?? 6 * 1024 * 1024,
    2 * (sysctl('/proc/sys/net/core/rmem_max') ?? 0),
  )
  return wmem + rmem
}

function positive(name: string, v: number | undefined, dflt: number, allowZero = false): number {
  if (v === undefined) return dflt
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (v === 0 && !allowZero)) {
    throw new RangeError(`${name} must be a number ${allowZero ? '>=' : '>'} 0, got ${String(v)}`)
  }
  return v
}

export function resolveSenderOptions(o: SenderOptions): ResolvedSenderOptions {
  if (o.onFull !== undefined && o.onFull !== 'backpressure' && o.onFull !== 'drop') {
    throw new RangeError(`onFull must be 'backpressure' or 'drop', got ${String(o.onFull)}`)
  }
  const reconnectDelay = positive('reconnectDelay', o.reconnectDelay, 100)
  return {
    queueLimit: Math.floor(positive('queueLimit', o.queueLimit, 1000)) || 1,
    onFull: o.onFull ?? 'backpressure',
    connectTimeout: positive('connectTimeout', o.connectTimeout, 5000),
    writeTimeout: positive('writeTimeout', o.writeTimeout, 10_000, true),
    reconnect: o.reconnect ?? true,
    reconnectDelay,
    reconnectMaxDelay: Math.max(reconnectDelay, positive('reconnectMaxDelay', o.reconnectMaxDelay, 5000)),
    closeTimeout: positive('closeTimeout', o.closeTimeout, 5000, true),
    keepalive: positive('keepalive', o.keepalive, 0, true),
    resend: o.resend ?? true,
    confirmAfterBytes:
      o.confirmAfterBytes === undefined
        ? kernelBufferBound()
        : Math.floor(positive('confirmAfterBytes', o.confirmAfterBytes, 0, true)),
  }
}

export abstract class BaseSender extends EventEmitter<SenderEvents> implements HepSender {
  readonly destination: string
  protected readonly opts: ResolvedSenderOptions
  protected readonly st: SenderStats = emptySenderStats()
  /** 'closing' from close() until the sockets are closed */
  protected phase: 'open' | 'closing' | 'closed' = 'open'
  private queue: Buffer[] = []
  private head = 0
  /** the first `resendLeft` queued packets were written before, to a connection that failed */
  private resendLeft = 0
  private draining = false
  private readyWaiters: Array<() => void> = []
  private flushWaiters: Array<() => void> = []
  private closePromise: Promise<SenderStats> | undefined
  /** set by keepUnsent(): what would be failed as unsent goes here instead */
  private unsentTo: ((bufs: Buffer[]) => void) | undefined

  constructor(destination: string, options: SenderOptions) {
    super()
    this.destination = destination
    this.opts = resolveSenderOptions(options)
  }

  abstract get connected(): boolean
  /** there may be work: connect, or move queued packets to the socket */
  protected abstract kick(): void
  /**
   * Close the sockets, gracefully where the transport can, waiting up to `graceMs` for the peer;
   * packets still in flight are then counted sent (a clean close) or failed.
   */
  protected abstract shutdown(graceMs: number): Promise<void>
  /** a packet this transport can never carry (oversize datagram...) */
  protected check(_bytes: Buffer): NetError | undefined {
    return undefined
  }

  get queued(): number {
    return this.queue.length - this.head
  }

  /** send() returned false and 'drain' has not come yet */
  get needDrain(): boolean {
    return this.draining
  }

  send(bytes: Buffer, _key?: string): boolean {
    if (this.phase !== 'open') {
      throw new NetError(`the sender to ${this.destination} is closed`, {
        reason: 'CLOSED',
        target: this.destination,
      })
    }
    this.st.submitted++
    const problem = this.check(bytes)
    if (problem) {
      this.fail(1, problem)
      return false
    }
    const limit = this.opts.queueLimit
    if (this.queued >= limit && this.opts.onFull === 'drop') {
      this.st.dropped++
      this.draining = true
      this.emit('dropped', { destination: this.destination, count: 1, reason: 'queue-full' })
      return false
    }
    this.queue.push(bytes)
    this.kick()
    if (this.queued >= limit) {
      this.draining = true
      return false
    }
    return true
  }

  async sendAsync(bytes: Buffer, key?: string): Promise<boolean> {
    await this.ready()
    return this.send(bytes, key)
  }

  ready(): Promise<void> {
    if (!this.blocked()) return Promise.resolve()
    return new Promise((resolve) => this.readyWaiters.push(resolve))
  }

  flush(timeout?: number): Promise<boolean> {
    if (this.idle()) return Promise.resolve(true)
    this.kick()
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const done = (): void => {
        if (timer) clearTimeout(timer)
        resolve(true)
      }
      this.flushWaiters.push(done)
      if (timeout !== undefined) {
        timer = setTimeout(() => {
          const i = this.flushWaiters.indexOf(done)
          if (i >= 0) this.flushWaiters.splice(i, 1)
          resolve(this.idle())
        }, timeout)
      }
    })
  }

  connect(): Promise<void> {
    if (this.connected) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const onConnect = (): void => {
        cleanup()
        resolve()
      }
      const onDisconnect = (e: DisconnectEvent): void => {
        if (e.wasConnected) return
        cleanup()
        reject(e.error ?? new NetError(`cannot connect to ${this.destination}`, { target: this.destination }))
      }
      const cleanup = (): void => {
        this.off('connect', onConnect)
        this.off('disconnect', onDisconnect)
      }
      this.on('connect', onConnect)
      this.on('disconnect', onDisconnect)
      this.kick()
    })
  }

  close(options: { timeout?: number } = {}): Promise<SenderStats> {
    if (this.closePromise) return this.closePromise
    this.phase = 'closing'
    this.closePromise = (async () => {
      const t = options.timeout ?? this.opts.closeTimeout
      const t0 = Date.now()
      const flushed = await this.flush(t)
      if (!flushed && this.queued > 0) {
        this.failQueued(
          new NetError(
            `${this.queued} packets not sent to ${this.destination} within the close deadline of ${t} ms`,
            {
              reason: 'CLOSE_TIMEOUT',
              target: this.destination,
            },
          ),
        )
      }
      // the close handshake gets what is left of the deadline, and at least min(1 s, deadline)
      await this.shutdown(Math.max(t - (Date.now() - t0), Math.min(1000, t)))
      this.phase = 'closed'
      this.progress()
      const s = this.stats()
      this.emit('close', s)
      return s
    })()
    return this.closePromise
  }

  stats(): SenderStats {
    return { ...this.st, queued: this.queued }
  }

  /**
   * Takes back every queued packet (not yet written), in order: they are no longer counted as
   * submitted (a relay puts them in its disk spool before it stops).
   */
  takeQueued(): Buffer[] {
    const bufs = this.queue.slice(this.head)
    this.queue = []
    this.head = 0
    this.resendLeft = 0
    this.st.submitted -= bufs.length
    this.progress()
    return bufs
  }

  /**
   * From now on, packets that would be failed as unsent (still queued at the close deadline, or put
   * back after their connection failed during the close) are handed to `to` instead, in order, and
   * no longer counted as submitted.
   */
  keepUnsent(to: (bufs: Buffer[]) => void): void {
    this.unsentTo = to
  }

  // ------------------------------------------------------------------ for subclasses

  protected get closing(): boolean {
    return this.phase !== 'open'
  }

  /** Next packet to write, or undefined. */
  protected take(): Buffer | undefined {
    if (this.head >= this.queue.length) return undefined
    const b = this.queue[this.head]
    this.queue[this.head++] = undefined as unknown as Buffer
    if (this.resendLeft > 0) {
      this.resendLeft--
      this.st.resent++
    }
    if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
    return b
  }

  /**
   * Puts packets written to a connection that failed back at the front of the queue, in order, to be
   * written again (each counted in `resent` when it is).
   */
  protected requeue(bufs: Buffer[]): void {
    if (bufs.length === 0) return
    this.queue = bufs.concat(this.queue.slice(this.head))
    this.head = 0
    this.resendLeft += bufs.length
    this.progress()
  }

  /** written but not yet handed over (the flush waits for these); a stream sender narrows inFlight */
  protected unwritten(): number {
    return this.st.inFlight
  }

  protected markSent(bytes: number): void {
    this.st.sent++
    this.st.bytesSent += bytes
  }

  /**
   * After keepUnsent(): hands `bufs` (packets that may not have arrived) to its callback, no longer
   * counted as submitted, and returns true; false when nobody keeps them (the caller fails them).
   */
  protected giveBack(bufs: Buffer[]): boolean {
    if (this.unsentTo === undefined) return false
    if (bufs.length > 0) {
      this.st.submitted -= bufs.length
      this.unsentTo(bufs)
    }
    return true
  }

  protected fail(count: number, error: NetError): void {
    if (count <= 0) return
    this.st.failed += count
    this.emit('failed', { destination: this.destination, count, error })
    this.reportError(error)
  }

  /** Fails every queued packet (no reconnect, close deadline, DNS failure). */
  protected failQueued(error: NetError): void {
    if (this.unsentTo !== undefined) {
      if (this.queued > 0) this.unsentTo(this.takeQueued())
      return
    }
    const n = this.queued
    this.queue = []
    this.head = 0
    this.resendLeft = 0
    this.fail(n, error)
    this.progress()
  }

  /** Call after any change of queue or in-flight: resolves waiters, emits 'drain'. */
  protected progress(): void {
    if (!this.blocked()) {
      if (this.draining) {
        this.draining = false
        if (this.phase === 'open') this.emit('drain')
      }
      const w = this.readyWaiters
      this.readyWaiters = []
      for (const r of w) r()
    }
    if (this.idle() && this.flushWaiters.length > 0) {
      const w = this.flushWaiters
      this.flushWaiters = []
      for (const r of w) r()
    }
  }

  /** 'error' only reaches those who listen: an unheard send failure must not crash the process. */
  protected reportError(e: NetError): void {
    if (this.listenerCount('error') > 0) this.emit('error', e)
  }

  /** the queue is full, or was and has not drained to half yet */
  private blocked(): boolean {
    if (this.phase === 'closed') return false
    const q = this.queued
    const limit = this.opts.queueLimit
    return q >= limit || (this.draining && q > Math.floor(limit / 2))
  }

  private idle(): boolean {
    return this.queued === 0 && this.unwritten() === 0
  }
}
