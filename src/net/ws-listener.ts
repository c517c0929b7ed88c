/**
 * WebSocket listener (ws:// and, with a certificate, wss://), as heplify-server accepts HEP: each binary
 * message is one HEP packet of any version; a text message is malformed (the connection stays). `ws`
 * reassembles fragmented messages and answers pings; we ping every wsPingInterval and close peers that
 * do not answer. Closing runs the close handshake, with a deadline. Plain HTTP requests get 426.
 *
 * Fair admission, as for TCP: a socket that has not upgraded within handshakeTimeout is destroyed, and
 * at maxConnections sockets waiting to upgrade the oldest goes; at maxConnections connections the one
 * that has gone longest without a packet is evicted (1013); when descriptors run out (see fds.ts) the
 * server evicts one, or accepting pauses.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Duplex } from 'node:stream'
import { createRequire } from 'node:module'
import type { RawData, WebSocket, WebSocketServer } from 'ws'
import { HepError } from '../errors.js'
import { HEP3_MAX_LENGTH } from '../hep/constants.js'
import { Conn, endpoint, type Guards, type ListenerHost } from './conn.js'
import { ConnListener } from './conn-listener.js'
import { describeError, errorCode, toNetError } from './errors.js'
import { loadPem, loadPemList } from './pem.js'
import type { CloseReason, TlsServerOptions } from './types.js'

/** ws (~35 ms to load) only when a WebSocket listener is made */
const load = createRequire(import.meta.url)

const noop = (): void => {}

/** WebSocket close codes we send, by reason. */
const CLOSE_CODES: Partial<Record<CloseReason, number>> = {
  shutdown: 1001, // going away
  'idle-timeout': 1000,
  lifetime: 1000,
  'max-connections': 1013, // try again later
  evicted: 1013,
  'handshake-timeout': 1000,
}

class WsConn extends Conn {
  alive = true
  ws: WebSocket | undefined
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data
  if (Array.isArray(data)) return Buffer.concat(data)
  return Buffer.from(data)
}

export class WsListener extends ConnListener<WsConn, 'ws' | 'wss'> {
  private readonly wss: WebSocketServer
  /** sockets not upgraded yet: when they connected (performance.now()) and their handshake timer */
  private readonly pending = new Map<Socket, { at: number; timer: NodeJS.Timeout | undefined }>()
  private pinger: NodeJS.Timeout | undefined

  constructor(
    host: ListenerHost,
    id: number,
    transport: 'ws' | 'wss',
    guards: Guards,
    private readonly tls?: TlsServerOptions,
  ) {
    super(host, id, transport, guards)
    if (transport === 'wss' && !tls) {
      throw toNetError(new Error('a wss listener needs a certificate and a key (cert, key)'), 'wss')
    }
    const { WebSocketServer: Server } = load('ws') as typeof import('ws')
    this.wss = new Server({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: Math.max(guards.maxPacketLength, HEP3_MAX_LENGTH),
    })
  }

  protected pauseConn(c: WsConn, paused: boolean): void {
    if (c.ws === undefined || c.ws.readyState !== c.ws.OPEN) return
    if (paused) c.ws.pause()
    else c.ws.resume()
  }

  async start(address: string, port: number): Promise<void> {
    const tls = this.tls
    const http: HttpServer =
      this.transport === 'wss' && tls
        ? createHttpsServer({
            cert: loadPem(tls.cert, 'certificate'),
            key: loadPem(tls.key, 'key'),
            passphrase: tls.passphrase,
            ca: loadPemList(tls.ca, 'CA'),
            requestCert: tls.requestCert === true,
            rejectUnauthorized: tls.requestCert === true,
          })
        : createHttpServer()
    http.headersTimeout = 10_000
    http.requestTimeout = 15_000
    // a backstop: connections and sockets waiting to upgrade are each kept to maxConnections (see onSocket)
    if (this.guards.maxConnections > 0) http.maxConnections = 2 * this.guards.maxConnections + 64
    await this.listenOn(http, address, port)
    http.on('connection', (socket: Socket) => this.onSocket(socket))
    http.on('clientError', (_e, socket: Duplex) => socket.destroy())
    http.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', connection: 'close', upgrade: 'websocket' })
      res.end(
        'HEP over WebSocket: connect with a WebSocket client and send each HEP packet as a binary message\n',
      )
    })
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    )
    const ping = this.guards.wsPingInterval
    if (ping > 0) {
      this.pinger = setInterval(() => this.pingAll(), ping * 1000)
      this.pinger.unref()
    }
  }

  /** A TCP connection (before any HTTP): descriptor checks, the handshake deadline. */
  private onSocket(socket: Socket): void {
    this.host.descriptors.opened()
    socket.once('close', () => {
      this.host.descriptors.closed()
      this.settle(socket)
    })
    if (this.host.descriptors.exhausted() && !this.host.outOfDescriptors(undefined)) {
      socket.destroy()
      this.pauseAccepting('EMFILE')
      return
    }
    const g = this.guards
    if (g.maxConnections > 0 && this.pending.size >= g.maxConnections) {
      const [oldest] = this.pending.keys()
      this.settle(oldest)
      oldest.destroy()
    }
    let timer: NodeJS.Timeout | undefined
    if (g.handshakeTimeout > 0) {
      timer = setTimeout(() => {
        this.settle(socket)
        socket.destroy()
      }, g.handshakeTimeout * 1000)
      timer.unref()
    }
    this.pending.set(socket, { at: performance.now(), timer })
  }

  /** The socket upgraded or closed: no handshake deadline any more. Returns ms since it connected. */
  private settle(socket: Socket): number {
    const p = this.pending.get(socket)
    if (p === undefined) return 0
    if (p.timer) clearTimeout(p.timer)
    this.pending.delete(socket)
    return performance.now() - p.at
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const raw = socket as Socket
    const elapsed = this.settle(raw)
    if (this.closing) {
      raw.destroy()
      return
    }
    let socketError: Error | undefined
    raw.on('error', (e) => (socketError ??= e))
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, raw, () => socketError, elapsed))
  }

  private accept(ws: WebSocket, raw: Socket, socketError: () => Error | undefined, elapsedMs: number): void {
    const g = this.guards
    const remote = endpoint(raw.remoteAddress, raw.remotePort, raw.remoteFamily)
    const local = endpoint(raw.localAddress, raw.localPort, raw.localFamily)
    const conn = new WsConn(this.host.nextConnectionId(), this.id, this.transport, remote, local)
    conn.ws = ws
    ws.on('error', (e: Error) => {
      const code = errorCode(e) ?? ''
      if (code.startsWith('WS_ERR')) conn.setReason('protocol-error', e.message, e)
      else conn.setReason('error', describeError(e), e)
    })
    const closeWith = (reason: CloseReason): void => {
      const code = CLOSE_CODES[reason]
      if (code === undefined || ws.readyState !== ws.OPEN) {
        ws.terminate()
        return
      }
      ws.close(code, reason)
      setTimeout(() => ws.terminate(), this.host.closeTimeout).unref()
    }
    this.host.accepted(conn)
    this.conns.admit(conn, g.maxConnections)
    if (g.keepalive > 0) raw.setKeepAlive(true, g.keepalive * 1000)
    conn.closer = closeWith
    conn.startTimers(g.idleTimeout, g.maxLifetime)
    conn.startHandshakeTimer(g.handshakeTimeout, () => 'complete packet', elapsedMs)

    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (conn.reason !== undefined) return
      const buf = toBuffer(data)
      conn.touch()
      conn.bytes += buf.length
      this.host.countBytes(this.transport, buf.length)
      const meta = conn.meta()
      if (!isBinary) {
        const e = new HepError(
          'INPUT_FORMAT',
          `WebSocket text message of ${buf.length} bytes: HEP travels in binary messages`,
        )
        this.host.malformed(e, buf, meta, conn)
        return
      }
      const before = conn.packets
      this.host.deliver(buf, meta, g, conn)
      if (conn.packets !== before) {
        conn.delivered()
        this.conns.delivered(conn) // to the end of the eviction order
      }
    })
    if (this.paused) ws.pause()
    ws.on('pong', () => (conn.alive = true))
    ws.on('close', (code: number, reason: Buffer) => {
      conn.stopTimers()
      const text = reason.length > 0 ? ` ${reason.toString('utf8')}` : ''
      const sockErr = socketError()
      if (errorCode(sockErr) === 'ECONNRESET') conn.setReason('reset', describeError(sockErr), sockErr)
      else if (code === 1006) conn.setReason('peer', 'closed without a close handshake (1006)')
      else conn.setReason('peer', `close code ${code}${text}`)
      this.conns.remove(conn)
      if (!conn.finished) this.host.closed(conn)
      this.drained?.()
    })
  }

  private pingAll(): void {
    if (this.paused) return // pongs are not read while paused
    for (const c of this.conns.open.values()) {
      if (!c.alive) {
        c.kill('ping-timeout', `no pong within ${this.guards.wsPingInterval} s`)
        continue
      }
      const ws = c.ws
      if (ws === undefined || ws.readyState !== ws.OPEN) continue
      c.alive = false
      ws.ping(noop)
    }
  }

  protected override beforeClose(): void {
    if (this.pinger) clearInterval(this.pinger)
    ;(this.listening as HttpServer | undefined)?.closeIdleConnections()
    for (const socket of [...this.pending.keys()]) {
      this.settle(socket)
      socket.destroy()
    }
  }
}
