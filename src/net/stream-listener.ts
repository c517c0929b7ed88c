/**
 * TCP and TLS listener: a byte stream of back-to-back HEP3 packets per connection, framed by a
 * Hep3Framer. Bad framing closes that connection ('protocol-error'); a peer whose packet takes more
 * than maxReadsPerPacket reads is dropped, as OpenSIPS does with hep_max_msg_chunks. TLS is layered on
 * the accepted TCP socket, so connection limits and idle timeouts also hold during the handshake.
 *
 * Fair admission (admission.ts): at maxConnections the connection that has gone longest without a
 * packet is evicted; the handshake timer closes connections that deliver no packet soon after
 * connecting; when descriptors run out (see fds.ts) the server evicts one, or accepting pauses.
 */
import { createServer, type Socket } from 'node:net'
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls'
import { DecodeError } from '../errors.js'
import { Hep3Framer } from '../hep/framer.js'
import { Conn, endpoint, now, type Guards, type ListenerHost } from './conn.js'
import { ConnListener } from './conn-listener.js'
import { describeError, errorCode, toNetError } from './errors.js'
import { loadPem, loadPemList } from './pem.js'
import type { Endpoint, TlsServerOptions } from './types.js'

const noop = (): void => {}

class StreamConn extends Conn {
  readonly framer: Hep3Framer
  /** bytes read so far (stream offset of the next byte) */
  streamBytes = 0
  /** views of the bytes of the packet in progress (for the report when the connection ends mid-packet) */
  tail: Buffer[] = []
  secured = false
  /** the (TLS) socket read from, for pause/resume */
  socket: Socket | undefined
  constructor(
    id: number,
    listenerId: number,
    transport: 'tcp' | 'tls',
    remote: Endpoint,
    local: Endpoint,
    maxLength: number,
  ) {
    super(id, listenerId, transport, remote, local)
    this.framer = new Hep3Framer({ maxLength })
  }
}

export class StreamListener extends ConnListener<StreamConn, 'tcp' | 'tls'> {
  private secureContext: SecureContext | undefined
  private requestCert = false

  constructor(
    host: ListenerHost,
    id: number,
    transport: 'tcp' | 'tls',
    guards: Guards,
    tls?: TlsServerOptions,
  ) {
    super(host, id, transport, guards)
    if (transport === 'tls') {
      if (!tls) throw toNetError(new Error('a tls listener needs a certificate and a key (cert, key)'), 'tls')
      this.secureContext = createSecureContext({
        cert: loadPem(tls.cert, 'certificate'),
        key: loadPem(tls.key, 'key'),
        passphrase: tls.passphrase,
        ca: loadPemList(tls.ca, 'CA'),
      })
      this.requestCert = tls.requestCert === true
    }
  }

  protected pauseConn(c: StreamConn, paused: boolean): void {
    if (paused) c.socket?.pause()
    else c.socket?.resume()
  }

  async start(address: string, port: number): Promise<void> {
    const server = createServer({ allowHalfOpen: false })
    await this.listenOn(server, address, port)
    server.on('connection', (socket) => this.accept(socket))
  }

  private accept(raw: Socket): void {
    raw.on('error', noop) // errors are handled on the (TLS) socket below; never crash
    this.host.descriptors.opened()
    raw.once('close', () => this.host.descriptors.closed())
    if (this.closing || raw.remoteAddress === undefined) {
      raw.destroy()
      return
    }
    const g = this.guards
    const remote = endpoint(raw.remoteAddress, raw.remotePort, raw.remoteFamily)
    const local = endpoint(raw.localAddress, raw.localPort, raw.localFamily)
    const conn = new StreamConn(
      this.host.nextConnectionId(),
      this.id,
      this.transport,
      remote,
      local,
      g.maxPacketLength,
    )
    this.host.accepted(conn)
    if (this.host.descriptors.exhausted() && !this.host.outOfDescriptors(conn)) {
      conn.setReason('max-connections', 'out of file descriptors, and no connection to evict')
      raw.destroy()
      this.host.closed(conn)
      this.pauseAccepting('EMFILE')
      return
    }
    this.conns.admit(conn, g.maxConnections)
    if (g.keepalive > 0) raw.setKeepAlive(true, g.keepalive * 1000)

    let socket: Socket = raw
    if (this.transport === 'tls') {
      const t = new TLSSocket(raw, {
        isServer: true,
        secureContext: this.secureContext,
        requestCert: this.requestCert,
        rejectUnauthorized: this.requestCert,
      })
      t.on('secure', () => (conn.secured = true))
      socket = t
    }
    conn.closer = () => socket.destroy()
    conn.startTimers(g.idleTimeout, g.maxLifetime)
    conn.startHandshakeTimer(g.handshakeTimeout, () =>
      this.transport === 'tls' && !conn.secured ? 'TLS handshake' : 'complete packet',
    )

    conn.socket = socket
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk))
    if (this.paused) socket.pause()
    socket.on('end', () => {
      conn.setReason('peer', 'the peer closed the connection')
      this.reportTruncated(conn)
    })
    socket.on('error', (e: Error) => {
      const code = errorCode(e)
      if (this.transport === 'tls' && !conn.secured && code !== 'ECONNRESET') {
        conn.setReason(
          'tls-handshake',
          `TLS handshake failed: ${describeError(e)}; is the peer speaking TLS?`,
          e,
        )
      } else if (code === 'ECONNRESET' || code === 'EPIPE') {
        conn.setReason('reset', describeError(e), e)
        this.reportTruncated(conn)
      } else {
        conn.setReason('error', describeError(e), e)
      }
    })
    socket.on('close', () => {
      if (!raw.destroyed) raw.destroy()
      this.finish(conn)
    })
  }

  private onData(conn: StreamConn, chunk: Buffer): void {
    if (conn.reason !== undefined) return
    conn.touch()
    conn.bytes += chunk.length
    this.host.countBytes(this.transport, chunk.length)
    const chunkStart = conn.streamBytes
    conn.streamBytes += chunk.length
    const receivedAt = now()
    const base = conn.framer.offset
    let bad: DecodeError | undefined
    const frames = conn.framer.push(chunk, (e) => {
      bad ??= e
    })
    // frames before the first error are contiguous from `base`; those after resynchronisation are ignored
    let pos = base
    const packetsBefore = conn.packets
    for (const f of frames) {
      if (bad !== undefined && pos + f.length > bad.offset) break
      this.host.deliver(f, conn.meta(receivedAt), this.guards, conn)
      pos += f.length
      if (conn.reason !== undefined) return
    }
    if (conn.packets !== packetsBefore) {
      conn.delivered()
      this.conns.delivered(conn) // to the end of the eviction order
    }
    if (bad !== undefined) {
      const raw = chunk.subarray(Math.max(0, Math.min(chunk.length, pos - chunkStart)))
      this.host.malformed(bad, raw, conn.meta(receivedAt), conn)
      conn.kill('protocol-error', bad.message, bad)
      return
    }
    if (conn.framer.buffered === 0) conn.tail = []
    else {
      const start = conn.framer.offset - chunkStart
      if (start >= 0) conn.tail = [chunk.subarray(start)]
      else conn.tail.push(chunk)
    }
    const max = this.guards.maxReadsPerPacket
    const reads = conn.framer.readsForCurrent
    if (max > 0 && reads > max) {
      conn.kill(
        'max-reads-per-packet',
        `a packet took more than ${max} reads (${reads} reads, ${conn.framer.buffered} bytes so far)`,
      )
    }
  }

  /** A connection that ends mid-packet: the incomplete packet is reported as malformed (HEP_TRUNCATED). */
  private reportTruncated(conn: StreamConn): void {
    const have = conn.framer.buffered
    if (have === 0) return
    let needed = 0
    try {
      needed = conn.framer.needed
    } catch {
      // bad data was already reported
      return
    }
    const e = new DecodeError(
      'HEP_TRUNCATED',
      conn.framer.offset,
      'packet',
      `the connection ended after ${have} bytes of a packet, ${needed} more were expected`,
    )
    conn.framer.reset()
    const raw = Buffer.concat(conn.tail)
    conn.tail = []
    this.host.malformed(e, raw, conn.meta(), conn)
  }

  private finish(conn: StreamConn): void {
    if (conn.finished) return
    conn.stopTimers()
    conn.setReason('peer')
    this.conns.remove(conn)
    this.host.closed(conn)
    this.drained?.()
  }
}
