/**
 * What listeners share: the host interface a HepServer offers them, resolved guard options, and the
 * per-connection record (counters, idle and lifetime timers, the first close reason).
 */
import { performance } from 'node:perf_hooks'
import type { DecodeOptions } from '../hep/codec.js'
import { Ipv4Texts } from '../hep/ip.js'
import type { DescriptorBudget } from './fds.js'
import { HEP3_MAX_LENGTH } from '../hep/constants.js'
import type {
  CloseReason,
  ConnectionInfo,
  Endpoint,
  GuardOptions,
  ListenTransport,
  ReceiveMeta,
  StreamTransport,
} from './types.js'

export interface Guards {
  authKey: string | undefined
  maxPacketLength: number
  maxReadsPerPacket: number
  maxConnections: number
  handshakeTimeout: number
  idleTimeout: number
  maxLifetime: number
  keepalive: number
  wsPingInterval: number
  decode: DecodeOptions
}

export const GUARD_DEFAULTS: Omit<Guards, 'authKey' | 'decode'> = {
  maxPacketLength: HEP3_MAX_LENGTH,
  maxReadsPerPacket: 32,
  maxConnections: 1024,
  handshakeTimeout: 10,
  idleTimeout: 120,
  maxLifetime: 0,
  keepalive: 0,
  wsPingInterval: 30,
}

function nonNegative(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new RangeError(`${name} must be a number >= 0, got ${String(v)}`)
  }
  return v
}

export function resolveGuards(...layers: GuardOptions[]): Guards {
  const o: GuardOptions = {}
  for (const l of layers)
    for (const [k, v] of Object.entries(l)) if (v !== undefined) Object.assign(o, { [k]: v })
  const d = GUARD_DEFAULTS
  return {
    authKey: o.authKey,
    maxPacketLength:
      nonNegative('maxPacketLength', o.maxPacketLength, d.maxPacketLength) || d.maxPacketLength,
    maxReadsPerPacket: nonNegative('maxReadsPerPacket', o.maxReadsPerPacket, d.maxReadsPerPacket),
    maxConnections: nonNegative('maxConnections', o.maxConnections, d.maxConnections),
    handshakeTimeout: nonNegative('handshakeTimeout', o.handshakeTimeout, d.handshakeTimeout),
    idleTimeout: nonNegative('idleTimeout', o.idleTimeout, d.idleTimeout),
    maxLifetime: nonNegative('maxLifetime', o.maxLifetime, d.maxLifetime),
    keepalive: nonNegative('keepalive', o.keepalive, d.keepalive),
    wsPingInterval: nonNegative('wsPingInterval', o.wsPingInterval, d.wsPingInterval),
    // one server, one decoding session: its senders' addresses are formatted once
    decode: { ...o.decode, addresses: o.decode?.addresses ?? new Ipv4Texts() },
  }
}

/** Per-connection counters updated by the host as it delivers. */
export interface Counters {
  packets: number
  bytes: number
  malformed: number
  rejected: number
}

/** What a HepServer offers its listeners. */
export interface ListenerHost {
  readonly closeTimeout: number
  /** the descriptors the listeners' sockets are counted against */
  readonly descriptors: DescriptorBudget
  nextConnectionId(): number
  /** bytes arrived (good or bad) */
  countBytes(transport: ListenTransport, n: number): void
  /** one datagram / frame / message: decode, check guards, emit packet, malformed or rejected */
  deliver(raw: Buffer, meta: ReceiveMeta, guards: Guards, counters?: Counters): void
  malformed(error: unknown, raw: Buffer, meta: ReceiveMeta, counters?: Counters): void
  accepted(conn: Conn): void
  closed(conn: Conn): void
  reportError(e: Error): void
  /**
   * File descriptors ran out as `conn` was accepted: reports it (once) and evicts the connection, of any
   * listener, that has gone longest without delivering a packet. False when there was none to evict.
   */
  outOfDescriptors(conn: Conn | undefined, code?: string): boolean
  /** a listener paused accepting because descriptors ran out */
  acceptPaused(code: string): void
}

/** ms since the epoch, µs precision, monotonic within the process. */
export function now(): number {
  return performance.timeOrigin + performance.now()
}

export function endpoint(address: string | undefined, port: number | undefined, family?: string): Endpoint {
  const a = address ?? ''
  return {
    address: a,
    port: port ?? 0,
    family: family === 'IPv6' || family === 'ipv6' || a.includes(':') ? 'IPv6' : 'IPv4',
  }
}

const noop = (): void => {}

/** One accepted connection of a TCP, TLS or WS listener. */
export class Conn implements Counters {
  readonly openedAt = Date.now()
  packets = 0
  bytes = 0
  malformed = 0
  rejected = 0
  reason: CloseReason | undefined
  detail: string | undefined
  error: Error | undefined
  /** the 'closed' event was emitted */
  finished = false
  /** performance.now() when the last packet was delivered, or when the connection opened */
  lastPacketAt = performance.now()
  private idleTimer: NodeJS.Timeout | undefined
  private lifeTimer: NodeJS.Timeout | undefined
  private handshakeTimer: NodeJS.Timeout | undefined
  /** closes the transport for the given reason; set by the listener */
  closer: (reason: CloseReason) => void = noop

  constructor(
    readonly id: number,
    readonly listenerId: number,
    readonly transport: StreamTransport,
    readonly remote: Endpoint,
    readonly local: Endpoint,
  ) {}

  /** Arms the idle and lifetime timers (seconds; 0 = off). */
  startTimers(idleTimeout: number, maxLifetime: number): void {
    if (idleTimeout > 0) {
      this.idleTimer = setTimeout(
        () => this.kill('idle-timeout', `no data for ${idleTimeout} s`),
        idleTimeout * 1000,
      )
      this.idleTimer.unref()
    }
    if (maxLifetime > 0) {
      this.lifeTimer = setTimeout(
        () => this.kill('lifetime', `open for more than ${maxLifetime} s`),
        maxLifetime * 1000,
      )
      this.lifeTimer.unref()
    }
  }

  /**
   * Arms the handshake timer (seconds; 0 = off): the connection is closed ('handshake-timeout') unless it
   * delivers a packet in time. `what` names what was missing, e.g. "TLS handshake".
   */
  startHandshakeTimer(seconds: number, what: () => string, elapsedMs = 0): void {
    if (seconds <= 0) return
    this.handshakeTimer = setTimeout(
      () => this.kill('handshake-timeout', `no ${what()} within ${seconds} s of connecting`),
      Math.max(0, seconds * 1000 - elapsedMs),
    )
    this.handshakeTimer.unref()
  }

  /** A packet was delivered: the handshake timer stops, and the connection is the least likely to be evicted. */
  delivered(): void {
    this.lastPacketAt = performance.now()
    if (this.handshakeTimer) {
      clearTimeout(this.handshakeTimer)
      this.handshakeTimer = undefined
    }
  }

  /** Data arrived: restarts the idle timer. */
  touch(): void {
    this.idleTimer?.refresh()
  }

  /**
   * We are not reading this connection (the output is full): neither idleness nor a slow first packet
   * is the peer's doing, so the idle and handshake timers start again.
   */
  held(): void {
    this.idleTimer?.refresh()
    this.handshakeTimer?.refresh()
  }

  /** Records why the connection closes; the first reason wins. */
  setReason(reason: CloseReason, detail?: string, error?: Error): void {
    if (this.reason !== undefined) return
    this.reason = reason
    this.detail = detail
    this.error = error
  }

  /** Closes the connection for `reason` (no-op once a reason is set or the connection is done). */
  kill(reason: CloseReason, detail?: string, error?: Error): void {
    if (this.finished || this.reason !== undefined) return
    this.setReason(reason, detail, error)
    this.stopTimers()
    this.closer(reason)
  }

  stopTimers(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer)
    if (this.lifeTimer) clearTimeout(this.lifeTimer)
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer)
    this.idleTimer = this.lifeTimer = this.handshakeTimer = undefined
  }

  meta(receivedAt = now()): ReceiveMeta {
    return {
      transport: this.transport,
      remote: this.remote,
      local: this.local,
      connectionId: this.id,
      listenerId: this.listenerId,
      receivedAt,
    }
  }

  info(): ConnectionInfo {
    return {
      connectionId: this.id,
      listenerId: this.listenerId,
      transport: this.transport,
      remote: this.remote,
      local: this.local,
      openedAt: this.openedAt,
      packets: this.packets,
      bytes: this.bytes,
      malformed: this.malformed,
      rejected: this.rejected,
    }
  }
}
