/**
 * HepServer: any number of UDP, TCP, TLS and WebSocket listeners in one process behind one event
 * interface. It decodes, applies the guards (auth key, packet length, connection limits and timeouts),
 * emits `packet`, `malformed`, `rejected`, `connection`, `listening` and `error`, and keeps statistics.
 * Nothing here writes to stdout or stderr; a socket error never crashes the process.
 */
import { EventEmitter } from 'node:events'
import { performance } from 'node:perf_hooks'
import { HepError, InternalError } from '../errors.js'
import { decodeDatagram } from '../hep/codec.js'
import type { HepPacket } from '../hep/packet.js'
import { formatHostPort, parseListenAddress, resolveHost } from './address.js'
import { authKeyProblem, cloneStats, emptyStats, inc } from './counters.js'
import { resolveGuards, type Conn, type Counters, type Guards, type ListenerHost } from './conn.js'
import { describeError, NetError, toNetError } from './errors.js'
import { DescriptorBudget } from './fds.js'
import { StreamListener } from './stream-listener.js'
import type {
  ConnectionInfo,
  DescriptorStats,
  ListenOptions,
  Listener,
  ListenTransport,
  ReceiveMeta,
  RejectReason,
  ServerEvents,
  ServerOptions,
  ServerStats,
  TransportStats,
} from './types.js'
import { LISTEN_TRANSPORTS } from './types.js'
import { UdpListener } from './udp-listener.js'
import { WsListener } from './ws-listener.js'

type AnyListener = UdpListener | StreamListener | WsListener

export class HepServer extends EventEmitter<ServerEvents> {
  readonly options: ServerOptions
  readonly closeTimeout: number
  readonly descriptors: DescriptorBudget
  private readonly running: AnyListener[] = []
  private readonly open = new Map<number, Conn>()
  private readonly perTransport: Partial<Record<ListenTransport, TransportStats>> = {}
  private readonly total = emptyStats()
  private lastConnectionId = 0
  private lastListenerId = 0
  private closing: Promise<void> | undefined
  private readonly host: ListenerHost
  private readonly fdStats: DescriptorStats = { hits: 0, refused: 0, pauses: 0 }
  private fdReported = false
  private paused = false
  private pausedTouch: NodeJS.Timeout | undefined

  constructor(options: ServerOptions = {}) {
    super()
    this.options = options
    resolveGuards(options) // validates
    this.closeTimeout = options.closeTimeout ?? 2000
    this.descriptors = options.descriptors ?? new DescriptorBudget()
    this.host = {
      closeTimeout: this.closeTimeout,
      descriptors: this.descriptors,
      nextConnectionId: () => ++this.lastConnectionId,
      countBytes: (t, n) => {
        this.stat(t).bytes += n
        this.total.bytes += n
      },
      deliver: (raw, meta, guards, counters) => this.deliver(raw, meta, guards, counters),
      malformed: (error, raw, meta, counters) => this.malformed(error, raw, meta, counters),
      accepted: (conn) => this.accepted(conn),
      closed: (conn) => this.closed(conn),
      reportError: (e) => this.reportError(e),
      outOfDescriptors: (conn, code) => this.outOfDescriptors(conn, code),
      acceptPaused: (code) => {
        this.fdStats.pauses++
        this.reportDescriptors(code)
      },
    }
  }

  /**
   * Starts one listener: `{ transport: 'tcp', address: '127.0.0.1:9060' }`, `{ transport: 'udp', port: 0 }`.
   * Guard options given here override the server's. Resolves once bound; rejects with a NetError.
   */
  async listen(spec: ListenOptions): Promise<Listener> {
    if (this.closing) throw new HepError('NET', 'the server is closed')
    const transport = spec.transport
    if (!LISTEN_TRANSPORTS.includes(transport)) {
      throw new HepError('NET', `unknown transport "${String(transport)}"; use udp, tcp, tls, ws or wss`)
    }
    let { host, port } =
      spec.address !== undefined ? parseListenAddress(spec.address) : { host: '0.0.0.0', port: 9060 }
    if (spec.host !== undefined) host = spec.host
    if (spec.port !== undefined) port = spec.port
    const guards: Guards = resolveGuards(this.options, spec)
    let resolved: { address: string; family: 4 | 6 }
    try {
      resolved = await resolveHost(host)
    } catch (e) {
      throw toNetError(e, `cannot listen on ${transport} ${formatHostPort(host, port)}`)
    }
    const { address, family } = resolved
    const id = ++this.lastListenerId
    let listener: AnyListener
    if (transport === 'udp') {
      const l = new UdpListener(this.host, id, guards)
      await l.start(address, family, port, spec.recvBufferSize)
      listener = l
    } else if (transport === 'tcp' || transport === 'tls') {
      const l = new StreamListener(this.host, id, transport, guards, spec.tls)
      await l.start(address, port)
      listener = l
    } else {
      const l = new WsListener(this.host, id, transport, guards, spec.tls)
      await l.start(address, port)
      listener = l
    }
    this.stat(transport)
    this.running.push(listener)
    if (this.paused) listener.setPaused(true)
    if (this.closing) {
      await listener.close()
      throw new HepError('NET', 'the server was closed while a listener was starting')
    }
    this.emit('listening', { listenerId: id, transport, local: listener.local })
    return listener
  }

  /** The listeners started so far (closed ones included until the server closes). */
  getListeners(): readonly Listener[] {
    return this.running
  }

  /** The connections open now. */
  connections(): ConnectionInfo[] {
    return [...this.open.values()].map((c) => c.info())
  }

  stats(): ServerStats {
    const clone = cloneStats
    const transports: ServerStats['transports'] = {}
    for (const [t, s] of Object.entries(this.perTransport) as [ListenTransport, TransportStats][]) {
      transports[t] = clone(s)
    }
    let output = 0
    let kernel: number | undefined
    for (const l of this.running) {
      if (!(l instanceof UdpListener)) continue
      output += l.droppedByUs
      const k = l.kernelDrops()
      if (k !== undefined) kernel = (kernel ?? 0) + k
    }
    const limit = this.descriptors.limit
    return {
      total: clone(this.total),
      transports,
      descriptors: { ...(limit !== undefined ? { limit } : {}), ...this.fdStats },
      dropped: { output, kernel },
    }
  }

  /** Inputs are paused (the output is over its bound): see pauseInput. */
  get inputPaused(): boolean {
    return this.paused
  }

  /**
   * Backpressure from a slow output: stream connections (TCP, TLS, WebSocket) stop being read, so
   * their senders feel it; UDP datagrams are read and dropped, and counted (stats().dropped.output).
   */
  pauseInput(): void {
    if (this.paused) return
    this.paused = true
    for (const l of this.running) l.setPaused(true)
    // a connection we do not read is not idle, nor slow to send its first packet: hold its timers
    this.pausedTouch = setInterval(() => {
      for (const c of this.open.values()) c.held()
    }, 250)
    this.pausedTouch.unref()
  }

  /** Reads every input again after pauseInput. */
  resumeInput(): void {
    if (!this.paused) return
    this.paused = false
    clearInterval(this.pausedTouch)
    for (const c of this.open.values()) c.held()
    for (const l of this.running) l.setPaused(false)
  }

  /** Stops accepting, closes every connection (reason 'shutdown'); resolves when all is closed. */
  close(): Promise<void> {
    if (this.closing) return this.closing
    clearInterval(this.pausedTouch)
    this.closing = Promise.all(this.running.map((l) => l.close())).then(() => {
      this.emit('close')
    })
    return this.closing
  }

  private stat(t: ListenTransport): TransportStats {
    let s = this.perTransport[t]
    if (s === undefined) s = this.perTransport[t] = emptyStats()
    return s
  }

  private deliver(raw: Buffer, meta: ReceiveMeta, guards: Guards, counters?: Counters): void {
    const tap = this.options.onDatagram
    if (tap !== undefined && meta.transport === 'udp') return tap(raw, meta)
    if (raw.length > guards.maxPacketLength) {
      this.reject(
        'too-long',
        `${raw.length} bytes, over the limit of ${guards.maxPacketLength}`,
        raw,
        meta,
        counters,
      )
      return
    }
    let packet: HepPacket
    try {
      packet = decodeDatagram(raw, guards.decode)
    } catch (e) {
      this.malformed(e, raw, meta, counters)
      return
    }
    if (guards.authKey !== undefined) {
      const problem = authKeyProblem(packet, guards.authKey)
      if (problem !== undefined) {
        this.reject('auth-key', problem, raw, meta, counters, packet)
        return
      }
    }
    this.stat(meta.transport).packets++
    this.total.packets++
    if (counters) counters.packets++
    // one object literal of a fixed shape (a spread here costs on every packet)
    this.emit('packet', {
      transport: meta.transport,
      remote: meta.remote,
      local: meta.local,
      connectionId: meta.connectionId,
      listenerId: meta.listenerId,
      receivedAt: meta.receivedAt,
      packet,
      raw,
    })
  }

  private reject(
    reason: RejectReason,
    detail: string,
    raw: Buffer,
    meta: ReceiveMeta,
    counters?: Counters,
    packet?: HepPacket,
  ): void {
    const s = this.stat(meta.transport)
    s.rejected++
    inc(s.rejectedBy, reason)
    this.total.rejected++
    inc(this.total.rejectedBy, reason)
    if (counters) counters.rejected++
    this.emit('rejected', { ...meta, reason, detail, raw, ...(packet ? { packet } : {}) })
  }

  private malformed(error: unknown, raw: Buffer, meta: ReceiveMeta, counters?: Counters): void {
    if (!(error instanceof HepError)) {
      // not the input's fault: our bug, said as such (and not counted against the sender)
      this.reportError(
        new InternalError(`while decoding a packet: ${describeError(error)}`, { cause: error }),
      )
      return
    }
    this.stat(meta.transport).malformed++
    this.total.malformed++
    if (counters) counters.malformed++
    this.emit('malformed', { ...meta, error, raw })
  }

  private accepted(conn: Conn): void {
    const s = this.stat(conn.transport)
    s.connections.accepted++
    s.connections.open++
    this.total.connections.accepted++
    this.total.connections.open++
    this.open.set(conn.id, conn)
    this.emit('connection', {
      type: 'accepted',
      connectionId: conn.id,
      listenerId: conn.listenerId,
      transport: conn.transport,
      remote: conn.remote,
      local: conn.local,
      at: conn.openedAt,
    })
  }

  private closed(conn: Conn): void {
    if (conn.finished) return
    conn.finished = true
    conn.stopTimers()
    const reason = conn.reason ?? 'peer'
    const s = this.stat(conn.transport)
    s.connections.open--
    inc(s.connections.closed, reason)
    this.total.connections.open--
    inc(this.total.connections.closed, reason)
    this.open.delete(conn.id)
    const at = Date.now()
    this.emit('connection', {
      type: 'closed',
      connectionId: conn.id,
      listenerId: conn.listenerId,
      transport: conn.transport,
      remote: conn.remote,
      local: conn.local,
      at,
      reason,
      ...(conn.detail !== undefined ? { detail: conn.detail } : {}),
      ...(conn.error !== undefined ? { error: conn.error } : {}),
      packets: conn.packets,
      bytes: conn.bytes,
      malformed: conn.malformed,
      rejected: conn.rejected,
      durationMs: at - conn.openedAt,
    })
  }

  private outOfDescriptors(conn: Conn | undefined, code = 'EMFILE'): boolean {
    this.fdStats.hits++
    this.reportDescriptors(code)
    let victim: Conn | undefined
    for (const c of this.open.values()) {
      if (c === conn || c.reason !== undefined || c.finished) continue
      if (victim === undefined || before(c, victim)) victim = c
    }
    if (victim === undefined) {
      this.fdStats.refused++
      return false
    }
    const idle = ((performance.now() - victim.lastPacketAt) / 1000).toFixed(1)
    victim.kill(
      'evicted',
      `out of file descriptors (${code}); this connection had the oldest: ${victim.packets === 0 ? `no packet since it connected ${idle} s ago` : `no packet for ${idle} s`}`,
    )
    return true
  }

  /** One 'error' per server: "out of file descriptors (EMFILE): 48 of the limit of 64 in use; …". */
  private reportDescriptors(code: string): void {
    if (this.fdReported) return
    this.fdReported = true
    const limit = this.descriptors.limit
    const use = limit !== undefined ? `: ${this.descriptors.inUse} of the limit of ${limit} in use` : ''
    this.reportError(
      new NetError(
        `out of file descriptors (${code})${use}; the connections that have gone longest without a packet are evicted to admit new ones (accepting pauses briefly when there is none)`,
        { reason: code },
      ),
    )
  }

  /** 'error' only reaches those who listen: an unheard socket error must not crash the process. */
  private reportError(e: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', e)
  }
}

/** Eviction order: connections that delivered no packet first (the oldest first), then by last packet. */
function before(a: Conn, b: Conn): boolean {
  if ((a.packets === 0) !== (b.packets === 0)) return a.packets === 0
  return a.lastPacketAt < b.lastPacketAt
}

/** Starts a HepServer with the given listeners; closes what started if one fails. */
export async function createServer(
  listeners: ListenOptions[],
  options: ServerOptions = {},
): Promise<HepServer> {
  const server = new HepServer(options)
  try {
    for (const l of listeners) await server.listen(l)
  } catch (e) {
    await server.close()
    throw e
  }
  return server
}
