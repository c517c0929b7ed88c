/**
 * Connection-oriented senders (TCP, TLS, WebSocket): one connection at a time, a connect timeout that
 * covers the TLS / WebSocket handshakes, a write timeout (a write that does not complete, e.g. a peer
 * that stopped reading, fails the connection), reconnection with exponential backoff, and the queue
 * kept across reconnects. Packets written to a connection that then fails before the kernel took them
 * are counted as failed, never silently lost and never sent twice.
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
}

export interface LinkHandlers {
  open(info: { local?: Endpoint; remote?: Endpoint }): void
  /** exactly once, with the error that ended the link, if any */
  close(err?: Error): void
}

export type LinkFactory = (h: LinkHandlers) => Link

interface Flight {
  len: number
  at: number
  done: boolean
}

/** bytes handed to the socket and not yet confirmed, at most */
const HIGH_WATER = 256 * 1024

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
  /** writes in order; flight[flightHead..] may still be pending */
  private flight: Flight[] = []
  private flightHead = 0
  private flightBytes = 0
  private linkGone: (() => void) | undefined

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
        this.attempt = 0
        this.st.connects++
        this.emit('connect', { destination: this.destination, ...info })
        this.pump()
      },
      close: (err) => {
        if (closed) return
        closed = true
        clearTimeout(timer)
        if (gen === this.gen) this.linkClosed(opened, err)
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

  private linkClosed(wasConnected: boolean, err: Error | undefined): void {
    this.link = undefined
    if (this.writeTimer) clearTimeout(this.writeTimer)
    this.writeTimer = undefined
    const shuttingDown = this.linkGone !== undefined || this.phase === 'closed'
    const error =
      shuttingDown && err === undefined ? undefined : linkError(err, this.destination, wasConnected)
    this.failFlight(
      error ??
        new NetError(`connection to ${this.destination} closed before the write completed`, {
          target: this.destination,
        }),
    )
    if (error !== undefined) this.st.disconnects++
    const retry = !shuttingDown && this.opts.reconnect && !(this.closing && this.queued === 0)
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
      this.state = shuttingDown ? 'closed' : 'idle'
      if (!shuttingDown && error && this.queued > 0) this.failQueued(error)
    }
    this.emit('disconnect', {
      destination: this.destination,
      ...(error ? { error } : {}),
      wasConnected,
      ...(reconnectIn !== undefined ? { reconnectIn } : {}),
    })
    if (error) this.reportError(error)
    this.progress()
    const gone = this.linkGone
    this.linkGone = undefined
    gone?.()
  }

  private pump(): void {
    const link = this.link
    if (this.state !== 'open' || link === undefined) return
    while (this.flightBytes < HIGH_WATER) {
      const buf = this.take()
      if (buf === undefined) break
      const f: Flight = { len: buf.length, at: Date.now(), done: false }
      this.flight.push(f)
      this.flightBytes += f.len
      this.st.inFlight++
      link.write(buf, (err) => this.written(f, err ?? undefined))
      if (this.link !== link) break
    }
    this.armWriteTimer()
    this.progress()
  }

  private written(f: Flight, err: Error | undefined): void {
    if (f.done) return
    f.done = true
    this.flightBytes -= f.len
    this.st.inFlight--
    if (err) this.fail(1, linkError(err, this.destination, true))
    else this.markSent(f.len)
    while (this.flightHead < this.flight.length && this.flight[this.flightHead].done) this.flightHead++
    if (this.flightHead === this.flight.length) {
      this.flight = []
      this.flightHead = 0
    } else if (this.flightHead >= 1024) {
      this.flight = this.flight.slice(this.flightHead)
      this.flightHead = 0
    }
    this.pump()
  }

  private failFlight(error: NetError): void {
    let n = 0
    for (let i = this.flightHead; i < this.flight.length; i++) {
      const f = this.flight[i]
      if (!f.done) {
        f.done = true
        n++
      }
    }
    this.flight = []
    this.flightHead = 0
    this.flightBytes = 0
    this.st.inFlight -= n
    this.fail(n, error)
  }

  /** the oldest write not yet confirmed */
  private pendingHead(): Flight | undefined {
    for (let i = this.flightHead; i < this.flight.length; i++) if (!this.flight[i].done) return this.flight[i]
    return undefined
  }

  private armWriteTimer(): void {
    const wt = this.opts.writeTimeout
    if (wt <= 0 || this.writeTimer !== undefined) return
    const head = this.pendingHead()
    if (head === undefined) return
    this.writeTimer = setTimeout(
      () => {
        this.writeTimer = undefined
        const h = this.pendingHead()
        if (h === undefined || this.link === undefined) return
        if (Date.now() - h.at >= wt) {
          this.link.destroy(
            new NetError(
              `write timeout: ${this.destination} took no data for ${wt} ms (${this.st.inFlight} writes pending; is the receiver reading?)`,
              { reason: 'WRITE_TIMEOUT', target: this.destination },
            ),
          )
          return
        }
        this.armWriteTimer()
      },
      Math.max(1, head.at + wt - Date.now()),
    )
  }

  protected async shutdown(): Promise<void> {
    if (this.backoffTimer) clearTimeout(this.backoffTimer)
    this.backoffTimer = undefined
    const link = this.link
    if (link === undefined) {
      this.state = 'closed'
      return
    }
    await new Promise<void>((resolve) => {
      this.linkGone = resolve
      if (this.state === 'open' && this.st.inFlight === 0) link.end()
      else link.destroy()
      setTimeout(() => link.destroy(), Math.min(1000, this.opts.closeTimeout || 1000)).unref()
    })
    this.state = 'closed'
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

export function tcpLinkFactory(d: Destination, o: SenderOptions): LinkFactory {
  const secure = d.transport === 'tls' ? tlsOptions(d, o) : undefined
  const keepalive = o.keepalive ?? 0
  return (h) => {
    const s = secure
      ? tlsConnect({ host: d.host, port: d.port, ...secure })
      : netConnect({ host: d.host, port: d.port, noDelay: true })
    let error: Error | undefined
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
    s.on('close', () => h.close(error))
    return {
      write: (buf, cb) => {
        s.write(buf, cb)
      },
      end: () => s.end(),
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
    ws.on('open', () => h.open({}))
    ws.on('error', (e) => (error ??= e))
    ws.on('close', (code, reason) => {
      if (error === undefined && code !== 1000 && code !== 1005) {
        const text = reason.length > 0 ? ` ${reason.toString('utf8')}` : ''
        error = new NetError(`${d.url} closed the WebSocket with code ${code}${text}`, {
          reason: `WS_CLOSE_${code}`,
          target: d.url,
        })
      }
      h.close(error)
    })
    return {
      write: (buf, cb) => ws.send(buf, { binary: true }, cb),
      end: () => ws.close(1000, 'done'),
      destroy: (e) => {
        error ??= e
        ws.terminate()
      },
    }
  }
}
