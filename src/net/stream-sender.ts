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
 */
import { connect as netConnect } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls'
import { isIP } from 'node:net'
import { WebSocket } from 'ws'
import { detectVersion } from '../hep/codec.js'
import type { Destination } from './address.js'
import { BaseSender } from './base-sender.js'
import { endpoint } from './conn.js'
import { describeError, errorCode, NetError } from './errors.js'
import { loadPem, loadPemList } from './pem.js'
import type { SenderOptions } from './sender-types.js'
import type { Endpoint } from './types.js'

/** A connection as the sender sees it, whatever the transport. */
export interface Link {
  write(buf: Buffer, cb: (err?: Error | null) => void): void
  /** graceful close (FIN, WebSocket close handshake) */
  end(): void
  /** immediate close; `err` becomes the reason reported */
  destroy(err?: Error): void
  /**
   * WebSocket: a ping after everything written so far; `cb` when the peer's pong comes (the peer's
   * WebSocket has read everything before it)
   */
  probe?(cb: () => void): void
}

export interface LinkHandlers {
  open(info: { local?: Endpoint; remote?: Endpoint }): void
  /**
   * exactly once, with the error that ended the link, if any; `peerRead`: the peer closed first, and
   * cleanly (its FIN, no reset for what we wrote after it): it read everything written
   */
  close(err?: Error, peerRead?: boolean): void
  /** the peer closed its side first: write no more (what was written is being checked) */
  peerEnded?(): void
}

export type LinkFactory = (h: LinkHandlers) => Link

/** bytes given to the socket whose write has not completed, at most */
const HIGH_WATER = 256 * 1024
/** a WebSocket ping confirms what was written before it; one at most this often */
const PROBE_INTERVAL = 200

const TLS_HINT =
  'give the server certificate or its CA (ca) to verify it, or turn verification off ' +
  '(rejectUnauthorized: false) for a self-signed test server'

/** A clear message for a failed link. */
function linkError(e: Error | undefined, dest: string, wasConnected: boolean): NetError {
  if (e instanceof NetError) return e
  if (e === undefined) {
    return wasConnected
      ? new NetError(`${dest} closed the connection`, { reason: 'PEER_CLOSED', target: dest })
      : new NetError(`cannot connect to ${dest}: the connection closed during the handshake`, {
          target: dest,
        })
  }
  const code = errorCode(e)
  let detail = describeError(e)
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    detail = `TLS certificate not accepted: ${e.message} (${code}); connect with a name the certificate lists, or set servername`
  } else if (code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    detail = `TLS certificate not accepted: ${e.message} (${code}); ${TLS_HINT}`
  }
  return new NetError(
    `${wasConnected ? `connection to ${dest} lost` : `cannot connect to ${dest}`}: ${detail}`,
    {
      reason: code,
      target: dest,
      cause: e,
    },
  )
}

export class StreamSender extends BaseSender {
  private link: Link | undefined
  private state: 'idle' | 'connecting' | 'open' | 'backoff' | 'closed' = 'idle'
  private gen = 0
  private attempt = 0
  private backoffTimer: NodeJS.Timeout | undefined
  private writeTimer: NodeJS.Timeout | undefined
  private probeTimer: NodeJS.Timeout | undefined
  /**
   * the unconfirmed window of the current connection, in write order, as parallel arrays (no object
   * per packet: the window can hold a hundred thousand): entries [winHead, pendHead) are written (the
   * kernel has them; marks[i]: bytes it took on this connection up to and including entry i), entries
   * [pendHead, length) wait for their write callback (streams call back in order). Entry i is write
   * number seqBase + i on this connection.
   */
  private bufs: Buffer[] = []
  private marks: number[] = []
  private ats: number[] = []
  private seqBase = 0
  private winHead = 0
  private pendHead = 0
  private pendingBytes = 0
  private pendingCount = 0
  /** bytes the kernel took on this connection */
  private accepted = 0
  private seq = 0
  /** writes numbered below this were confirmed by a pong */
  private probedSeq = 0
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
    return this.pendingCount
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
    const readAll = err === undefined && this.pendingCount === 0 && (ending || peerRead)
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
      else {
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
    const bufs = this.winHead === 0 ? this.bufs : this.bufs.slice(this.winHead)
    this.bufs = []
    this.marks = []
    this.ats = []
    this.seqBase = 0
    this.winHead = 0
    this.pendHead = 0
    this.pendingBytes = 0
    this.pendingCount = 0
    this.accepted = 0
    this.seq = 0
    this.probedSeq = 0
    this.st.inFlight -= bufs.length
    return bufs
  }

  private pump(): void {
    const link = this.link
    if (this.state !== 'open' || link === undefined || this.ending || this.peerGone) return
    while (this.pendingBytes < HIGH_WATER) {
      const buf = this.take()
      if (buf === undefined) break
      this.bufs.push(buf)
      this.marks.push(0)
      this.ats.push(Date.now())
      this.seq++
      this.pendingBytes += buf.length
      this.pendingCount++
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
    if (link !== this.link || this.pendingCount === 0) return // a late callback of a closed connection
    if (err) {
      link.destroy(err) // the close that follows puts the window back in the queue (or fails it)
      return
    }
    const i = this.pendHead++
    const len = this.bufs[i].length
    this.pendingBytes -= len
    this.pendingCount--
    this.accepted += len
    this.marks[i] = this.accepted
    this.confirm()
    this.pump()
  }

  /** Counts as sent the oldest packets that no failure can lose any more. */
  private confirm(): void {
    const bound = this.opts.confirmAfterBytes
    const limit = this.accepted - bound
    const probed = this.probedSeq - this.seqBase
    const bufs = this.bufs
    let i = this.winHead
    while (i < this.pendHead && (this.marks[i] <= limit || i < probed)) {
      this.markSent(bufs[i].length)
      bufs[i] = undefined as unknown as Buffer
      i++
    }
    this.st.inFlight -= i - this.winHead
    this.winHead = i
    if (this.winHead === this.bufs.length) {
      this.bufs = []
      this.marks = []
      this.ats = []
      this.seqBase += this.winHead
      this.winHead = 0
      this.pendHead = 0
    } else if (this.winHead >= 1024 && this.winHead * 2 >= this.bufs.length) {
      this.bufs = this.bufs.slice(this.winHead)
      this.marks = this.marks.slice(this.winHead)
      this.ats = this.ats.slice(this.winHead)
      this.seqBase += this.winHead
      this.pendHead -= this.winHead
      this.winHead = 0
    }
  }

  /** WebSocket: a ping now and then while packets wait for confirmation; its pong confirms them. */
  private armProbe(): void {
    const link = this.link
    if (link?.probe === undefined || this.probing || this.probeTimer !== undefined) return
    if (this.winHead === this.bufs.length) return
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined
      if (this.link !== link || this.probing || this.ending) return
      const upTo = this.seq
      this.probing = true
      link.probe!(() => {
        if (this.link !== link) return
        this.probing = false
        this.probedSeq = Math.max(this.probedSeq, upTo)
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
    if (this.pendHead >= this.bufs.length) return
    const at = this.ats[this.pendHead]
    this.writeTimer = setTimeout(
      () => {
        this.writeTimer = undefined
        if (this.pendHead >= this.bufs.length || this.link === undefined) return
        if (Date.now() - this.ats[this.pendHead] >= wt) {
          this.link.destroy(
            new NetError(
              `write timeout: ${this.destination} took no data for ${wt} ms (${this.pendingCount} writes pending; is the receiver reading?)`,
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
        const pending = this.pendingCount + this.queued
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
    if (this.queued > 0 || this.pendingCount > 0) return
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

// ------------------------------------------------------------------ transports

function tlsOptions(d: Destination, o: SenderOptions): ConnectionOptions {
  const servername = o.servername ?? (isIP(d.host) === 0 ? d.host : undefined)
  return {
    rejectUnauthorized: o.rejectUnauthorized ?? true,
    ...(o.ca !== undefined ? { ca: loadPemList(o.ca, 'CA') } : {}),
    ...(o.cert !== undefined ? { cert: loadPem(o.cert, 'certificate') } : {}),
    ...(o.key !== undefined ? { key: loadPem(o.key, 'key') } : {}),
    ...(servername !== undefined ? { servername } : {}),
  }
}

/** the reason of our WebSocket close frame */
const CLOSE_REASON = 'done'

function peerClosed(dest: string): NetError {
  return new NetError(`${dest} closed the connection`, { reason: 'PEER_CLOSED', target: dest })
}

export function tcpLinkFactory(d: Destination, o: SenderOptions): LinkFactory {
  const secure = d.transport === 'tls' ? tlsOptions(d, o) : undefined
  const keepalive = o.keepalive ?? 0
  return (h) => {
    // half-open: when the peer closes first, our side stays open to see the reset its kernel sends
    // for anything we wrote that it did not read
    const s = secure
      ? tlsConnect({ host: d.host, port: d.port, allowHalfOpen: true, ...secure } as ConnectionOptions)
      : netConnect({ host: d.host, port: d.port, noDelay: true, allowHalfOpen: true })
    let error: Error | undefined
    let ended = false
    let peerFin = false
    let peerRead = false
    let watch: NodeJS.Timeout | undefined
    const t0 = Date.now()
    let rtt = 0
    s.once('connect', () => (rtt = Date.now() - t0)) // the TCP handshake: about one round trip
    s.setNoDelay(true)
    if (keepalive > 0) s.setKeepAlive(true, keepalive * 1000)
    s.once(secure ? 'secureConnect' : 'connect', () =>
      h.open({
        local: endpoint(s.localAddress, s.localPort, s.localFamily),
        remote: endpoint(s.remoteAddress, s.remotePort, s.remoteFamily),
      }),
    )
    s.on('error', (e) => (error ??= e))
    s.on('data', () => {}) // a HEP receiver sends nothing; discard and keep reading to see the FIN
    s.on('end', () => {
      if (ended) return // the answer to our FIN
      // the peer's FIN before ours: it closed on its own. Its kernel resets what we wrote that it had
      // not read (or that comes after its close); no reset within a few round trips: it read it all
      peerFin = true
      h.peerEnded?.()
      watch = setTimeout(
        () => {
          if (s.destroyed) return
          peerRead = error === undefined
          error ??= peerClosed(d.url)
          s.destroy()
        },
        Math.min(2000, Math.max(100, 4 * rtt)),
      )
    })
    s.on('close', () => {
      if (watch) clearTimeout(watch)
      h.close(peerRead ? undefined : (error ?? (peerFin ? peerClosed(d.url) : undefined)), peerRead)
    })
    return {
      write: (buf, cb) => {
        s.write(buf, cb)
      },
      end: () => {
        ended = true
        if (!peerFin) s.end() // after the peer's FIN, the check above closes
      },
      destroy: (e) => {
        error ??= e
        s.destroy()
      },
    }
  }
}

export function wsLinkFactory(d: Destination, o: SenderOptions): LinkFactory {
  const secure = d.transport === 'wss' ? tlsOptions(d, o) : {}
  return (h) => {
    const ws = new WebSocket(d.url, {
      ...secure,
      handshakeTimeout: o.connectTimeout ?? 5000,
      perMessageDeflate: false,
    })
    let error: Error | undefined
    let ended = false
    let peerFirst = false
    const pongs: Array<() => void> = []
    ws.on('open', () => h.open({}))
    ws.on('error', (e) => (error ??= e))
    ws.on('pong', () => pongs.shift()?.())
    ws.on('close', (code, reason) => {
      if (error === undefined && code !== 1000 && code !== 1005) {
        const text = reason.length > 0 ? ` ${reason.toString('utf8')}` : ''
        error = new NetError(`${d.url} closed the WebSocket with code ${code}${text}`, {
          reason: `WS_CLOSE_${code}`,
          target: d.url,
        })
      }
      // a close the peer started (before ours, or with a reason of its own rather than the echo of
      // ours, which ws sends back and others leave empty): maybe before what we sent reached it
      const own = reason.length > 0 && reason.toString('utf8') !== CLOSE_REASON
      if (error === undefined && (!ended || peerFirst || own)) error = peerClosed(d.url)
      h.close(error)
    })
    return {
      write: (buf, cb) => ws.send(buf, { binary: true }, cb),
      end: () => {
        ended = true
        if (ws.readyState !== WebSocket.OPEN) peerFirst = true
        ws.close(1000, CLOSE_REASON)
      },
      probe: (cb) => {
        pongs.push(cb)
        try {
          ws.ping()
        } catch {
          pongs.pop() // not open: the close that follows settles the window
        }
      },
      destroy: (e) => {
        error ??= e
        ws.terminate()
      },
    }
  }
}
