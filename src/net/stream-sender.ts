/**
 * Connection-oriented senders (TCP, TLS, WebSocket): one connection at a time, a connect timeout that
 * covers the TLS / WebSocket handshakes, a write timeout (a write that does not complete, e.g. a peer
 * that stopped reading, fails the connection), reconnection with exponential backoff, and the queue
 * kept across reconnects.
 *
 * True accounting: a write's callback only says the kernel took the bytes; the kernel's send buffer and
 * the peer's receive buffer can hold megabytes that a failure of the connection loses. So the packets
 * written to the current connection stay in an unconfirmed window, counted as sent only when no later
 * failure could lose them: once more bytes than both kernel buffers can hold were written after them
 * (confirmAfterBytes), once a WebSocket peer answered a ping written after them, or when the connection
 * closes cleanly at the end (our FIN, then the peer's, no error). A TCP/TLS peer that closes first with a
 * FIN has read all that had reached it, and its kernel resets anything later: no reset within a few
 * round trips (4 x the connect time, 100 ms to 2 s) confirms the window (a WebSocket peer's own close
 * does not: its window is resent). When the connection fails, the window
 * goes back to the front of the queue and is written again after reconnecting (counted in `resent`: the
 * receiver may get duplicates), or, with `resend: false`, is counted as failed.
 *
 * This module is the state machine (connect, open, backoff, shutdown); the window's bookkeeping is
 * unconfirmed.ts, and the transports are links/ (tcp.ts for TCP and TLS, ws.ts for WebSocket, behind
 * the Link interface of link.ts).
 */
import { detectVersion } from '../hep/codec.js'
import type { Destination } from './address.js'
import { BaseSender } from './base-sender.js'
import { NetError } from './errors.js'
import { linkError, type Link, type LinkFactory, type LinkHandlers } from './links/link.js'
import type { SenderOptions } from './sender-types.js'
import { UnconfirmedWindow } from './unconfirmed.js'

export type { Link, LinkFactory, LinkHandlers } from './links/link.js'

/** bytes given to the socket whose write has not completed, at most */
const HIGH_WATER = 256 * 1024
/** a WebSocket ping confirms what was written before it; one at most this often */
const PROBE_INTERVAL = 200

export class StreamSender extends BaseSender {
  private link: Link | undefined
  private state: 'idle' | 'connecting' | 'open' | 'backoff' | 'closed' = 'idle'
  private gen = 0
  private attempt = 0
  private backoffTimer: NodeJS.Timeout | undefined
  private writeTimer: NodeJS.Timeout | undefined
  private probeTimer: NodeJS.Timeout | undefined
  /** the unconfirmed window of the current connection (unconfirmed.ts) */
  private readonly window: UnconfirmedWindow
  /** counts one confirmed packet as sent (made once: `confirm` calls it per packet) */
  private readonly sentOne = (bytes: number): void => this.markSent(bytes)
  private probing = false
  /** end() was called on the link (close at the end) */
  private ending = false
  /** the peer closed its side: nothing more is written to this connection */
  private peerGone = false
  /** set while shutdown() waits: resolves it */
  private shutdownDone: (() => void) | undefined
  private stopAt = 0
  private stopTimer: NodeJS.Timeout | undefined

  constructor(
    readonly target: Destination,
    options: SenderOptions,
    private readonly factory: LinkFactory,
  ) {
    super(target.url, options)
    this.window = new UnconfirmedWindow(this.opts.confirmAfterBytes)
  }

  get connected(): boolean {
    return this.state === 'open'
  }

  /** HEP v1/v2 have no length field: on a stream they would break the receiver's framing. */
  protected override check(bytes: Buffer): NetError | undefined {
    if (this.target.transport === 'ws' || this.target.transport === 'wss') return undefined
    if (detectVersion(bytes) === 3) return undefined
    const v = detectVersion(bytes)
    return new NetError(
      `${v === undefined ? 'bytes that are not HEP' : `a HEPv${v} packet`} cannot be sent on a ${this.target.transport} ` +
        `stream (only HEP3 carries its length); encode as version 3 or send over udp://`,
      { reason: 'NOT_HEP3', target: this.destination },
    )
  }

  /** flush() waits for the writes to complete, not for their confirmation */
  protected override unwritten(): number {
    return this.window.pending
  }

  protected kick(): void {
    if (this.state === 'open') this.pump()
    else if (this.state === 'idle' && this.phase !== 'closed') this.open()
  }

  private open(): void {
    this.state = 'connecting'
    const gen = ++this.gen
    let opened = false
    let closed = false
    let link: Link | undefined
    const ms = this.opts.connectTimeout
    const timer = setTimeout(() => {
      link?.destroy(
        new NetError(
          `cannot connect to ${this.destination}: no connection within ${ms} ms (connect timeout)`,
          {
            reason: 'CONNECT_TIMEOUT',
            target: this.destination,
          },
        ),
      )
    }, ms)
    const handlers: LinkHandlers = {
      open: (info) => {
        if (closed || gen !== this.gen) return
        opened = true
        clearTimeout(timer)
        this.state = 'open'
        this.peerGone = false
        this.attempt = 0
        this.st.connects++
        this.emit('connect', { destination: this.destination, ...info })
        this.pump()
      },
      close: (err, peerRead) => {
        if (closed) return
        closed = true
        clearTimeout(timer)
        if (gen === this.gen) this.linkClosed(opened, err, peerRead === true)
      },
      peerEnded: () => {
        if (!closed && gen === this.gen) this.peerGone = true
      },
    }
    try {
      link = this.factory(handlers)
    } catch (e) {
      handlers.close(e instanceof Error ? e : new Error(String(e)))
      return
    }
    if (closed) return
    this.link = link
  }

  private linkClosed(wasConnected: boolean, err: Error | undefined, peerRead = false): void {
    this.link = undefined
    if (this.writeTimer) clearTimeout(this.writeTimer)
    this.writeTimer = undefined
    if (this.probeTimer) clearTimeout(this.probeTimer)
    this.probeTimer = undefined
    this.probing = false
    const ending = this.ending
    this.ending = false
    const finishing = this.shutdownDone !== undefined
    // the close at the end (our FIN / close frame answered by the peer's), or the peer's own clean
    // close that reset nothing we wrote; no error, every write complete: the peer read everything
    const readAll = err === undefined && this.window.pending === 0 && (ending || peerRead)
    if (readAll) for (const b of this.takeWindow()) this.markSent(b.length)
    if (readAll && finishing && this.queued === 0) {
      this.emit('disconnect', { destination: this.destination, wasConnected })
      this.progress()
      this.finishShutdown()
      return
    }
    const error = linkError(err, this.destination, wasConnected)
    this.st.disconnects++
    // everything not confirmed may be lost with the connection: again after reconnecting, or failed
    const unconfirmed = this.takeWindow()
    const timeLeft = finishing ? this.stopAt - Date.now() : Infinity
    const canRetry = this.opts.reconnect && timeLeft > 0 && this.phase !== 'closed'
    if (unconfirmed.length > 0) {
      if (this.opts.resend && canRetry) this.requeue(unconfirmed)
      else if (this.giveBack(unconfirmed)) {
        // kept by the caller (a relay's spool) to be sent again later
      } else {
        const n = unconfirmed.length
        const message = finishing
          ? `${n} packets to ${this.destination} not confirmed at close: ${error.message}`
          : `${error.message} (${n} packets written to it may not have arrived)`
        this.fail(n, new NetError(message, { reason: error.reason, target: this.destination, cause: error }))
      }
    }
    const retry = canRetry && !(this.closing && this.queued === 0)
    let reconnectIn: number | undefined
    if (retry) {
      reconnectIn = Math.min(
        this.opts.reconnectDelay * 2 ** Math.min(this.attempt, 30),
        this.opts.reconnectMaxDelay,
      )
      this.attempt++
      this.state = 'backoff'
      this.backoffTimer = setTimeout(() => {
        this.backoffTimer = undefined
        this.state = 'idle'
        if (this.queued > 0 || !this.closing) this.open()
      }, reconnectIn)
    } else {
      this.state = 'idle'
      if (this.queued > 0) this.failQueued(error)
    }
    this.emit('disconnect', {
      destination: this.destination,
      error,
      wasConnected,
      ...(reconnectIn !== undefined ? { reconnectIn } : {}),
    })
    this.reportError(error)
    this.progress()
    if (finishing && !retry) this.finishShutdown()
  }

  /** Empties the window: the packets not confirmed, in order. */
  private takeWindow(): Buffer[] {
    const bufs = this.window.take()
    this.st.inFlight -= bufs.length
    return bufs
  }

  private pump(): void {
    const link = this.link
    if (this.state !== 'open' || link === undefined || this.ending || this.peerGone) return
    const window = this.window
    while (window.pendingBytes < HIGH_WATER) {
      const buf = this.take()
      if (buf === undefined) break
      window.push(buf, Date.now())
      this.st.inFlight++
      link.write(buf, (err) => this.written(link, err ?? undefined))
      if (this.link !== link) break
    }
    this.armWriteTimer()
    this.armProbe()
    this.progress()
    this.maybeEnd()
  }

  private written(link: Link, err: Error | undefined): void {
    if (link !== this.link || this.window.pending === 0) return // a late callback of a closed connection
    if (err) {
      link.destroy(err) // the close that follows puts the window back in the queue (or fails it)
      return
    }
    this.window.written()
    this.confirm()
    this.pump()
  }

  /** Counts as sent the oldest packets that no failure can lose any more. */
  private confirm(): void {
    this.st.inFlight -= this.window.confirm(this.sentOne)
  }

  /** WebSocket: a ping now and then while packets wait for confirmation; its pong confirms them. */
  private armProbe(): void {
    const link = this.link
    if (link?.probe === undefined || this.probing || this.probeTimer !== undefined) return
    if (this.window.size === 0) return
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined
      if (this.link !== link || this.probing || this.ending) return
      const upTo = this.window.writes
      this.probing = true
      link.probe!(() => {
        if (this.link !== link) return
        this.probing = false
        this.window.probed(upTo)
        this.confirm()
        this.progress()
        this.armProbe()
      })
    }, PROBE_INTERVAL)
    this.probeTimer.unref()
  }

  private armWriteTimer(): void {
    const wt = this.opts.writeTimeout
    if (wt <= 0 || this.writeTimer !== undefined) return
    const at = this.window.oldestPendingAt
    if (at === undefined) return
    this.writeTimer = setTimeout(
      () => {
        this.writeTimer = undefined
        const oldest = this.window.oldestPendingAt
        if (oldest === undefined || this.link === undefined) return
        if (Date.now() - oldest >= wt) {
          this.link.destroy(
            new NetError(
              `write timeout: ${this.destination} took no data for ${wt} ms (${this.window.pending} writes pending; is the receiver reading?)`,
              { reason: 'WRITE_TIMEOUT', target: this.destination },
            ),
          )
          return
        }
        this.armWriteTimer()
      },
      Math.max(1, at + wt - Date.now()),
    )
  }

  /**
   * At the end, once everything is written: end the connection and wait for the peer's close. A
   * connection that fails meanwhile is reconnected while the deadline allows (its unconfirmed packets
   * written again), and ended again.
   */
  protected async shutdown(graceMs: number): Promise<void> {
    const waiting =
      this.state === 'open' || this.state === 'connecting' || (this.state === 'backoff' && this.queued > 0)
    if (!waiting) {
      if (this.backoffTimer) clearTimeout(this.backoffTimer)
      this.backoffTimer = undefined
      this.state = 'closed'
      return
    }
    await new Promise<void>((resolve) => {
      this.shutdownDone = resolve
      this.stopAt = Date.now() + graceMs
      this.stopTimer = setTimeout(() => {
        this.stopTimer = undefined
        const link = this.link
        if (link === undefined) {
          this.finishShutdown()
          return
        }
        const pending = this.window.pending + this.queued
        link.destroy(
          new NetError(
            this.ending
              ? `${this.destination} did not close the connection within ${graceMs} ms of ours (close timeout)`
              : `${pending} packets to ${this.destination} still unwritten at the close deadline`,
            { reason: 'CLOSE_TIMEOUT', target: this.destination },
          ),
        )
      }, graceMs)
      this.pump()
    })
  }

  /** Closing and everything written: end the connection (FIN / close frame). */
  private maybeEnd(): void {
    const link = this.link
    if (this.shutdownDone === undefined || this.ending || this.state !== 'open' || link === undefined) return
    if (this.queued > 0 || this.window.pending > 0) return
    this.ending = true
    link.end()
  }

  private finishShutdown(): void {
    const done = this.shutdownDone
    if (done === undefined) return
    this.shutdownDone = undefined
    if (this.stopTimer) clearTimeout(this.stopTimer)
    this.stopTimer = undefined
    if (this.backoffTimer) clearTimeout(this.backoffTimer)
    this.backoffTimer = undefined
    this.state = 'closed'
    if (this.queued > 0) {
      this.failQueued(
        new NetError(`${this.queued} packets not sent to ${this.destination} within the close deadline`, {
          reason: 'CLOSE_TIMEOUT',
          target: this.destination,
        }),
      )
    }
    done()
  }
}
