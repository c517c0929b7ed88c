/** The sending side's vocabulary: one interface for UDP, TCP, TLS, WS and fan-out senders. */
import type { EventEmitter } from 'node:events'
import type { NetError } from './errors.js'
import type { Endpoint } from './types.js'

export interface SenderOptions {
  /** packets waiting to be written (default 1000) */
  queueLimit?: number
  /**
   * When the queue is full: 'backpressure' (default) still queues the packet, `send` returns false and
   * the caller waits for 'drain' / `ready()`; 'drop' drops the packet (counted, 'dropped' event).
   */
  onFull?: 'backpressure' | 'drop'
  /** ms to establish a connection, TLS and WebSocket handshakes included (default 5000) */
  connectTimeout?: number
  /** ms a write may take before the connection is failed (peer not reading; default 10000) */
  writeTimeout?: number
  /** reconnect with exponential backoff after a failure (TCP/TLS/WS; default true) */
  reconnect?: boolean
  /** first reconnect delay, ms (default 100), doubling up to reconnectMaxDelay (default 5000) */
  reconnectDelay?: number
  reconnectMaxDelay?: number
  /** ms `close()` waits for the queue to flush before failing what is left (default 5000) */
  closeTimeout?: number
  /**
   * TCP/TLS/WS: packets that may have been in flight when a connection failed (written, but not yet
   * confirmed) are sent again after reconnecting (default true: at least once, duplicates possible and
   * counted in `resent`); false counts them as failed.
   */
  resend?: boolean
  /**
   * TCP/TLS/WS: a packet written to a connection counts as sent once this many bytes were written after
   * it (more than the kernel buffers on both ends can hold: it was read by the receiver), when a
   * WebSocket peer answers a ping sent after it, or when the connection closes cleanly at the end.
   * Default: the send buffer max plus the receive buffer max from /proc/sys/net (Linux), else 10 MiB.
   * Unconfirmed packets are kept (memory: about this many bytes) to be sent again.
   */
  confirmAfterBytes?: number
  /** TCP keepalive after this many idle seconds (default 0: off) */
  keepalive?: number
  /** tls/wss: verify the server certificate (default true; false for self-signed test servers) */
  rejectUnauthorized?: boolean
  /** tls/wss: CA certificates (file paths, PEM text or bytes) to verify the server with */
  ca?: string | Buffer | Array<string | Buffer>
  /** tls/wss: client certificate and key (file paths, PEM text or bytes) */
  cert?: string | Buffer
  key?: string | Buffer
  /** tls/wss: server name for SNI and certificate checks (default: the destination host) */
  servername?: string
}

export interface SenderStats {
  /** packets given to send() */
  submitted: number
  /**
   * UDP: datagram sent. TCP/TLS/WS: confirmed: no later failure of its connection could have lost it
   * (more than the kernel buffers written after it, a WebSocket pong after it, or a clean close: our
   * FIN answered by the peer's without error)
   */
  sent: number
  /** could not be sent: errors, timeouts, oversize datagrams, close deadline */
  failed: number
  /** dropped because the queue was full (onFull 'drop') */
  dropped: number
  /** waiting in the queue */
  queued: number
  /** written, not yet confirmed (TCP/TLS/WS: still in kernel buffers, maybe) */
  inFlight: number
  /**
   * packets written again after their connection failed before they were confirmed (each resend may be
   * a duplicate at the receiver; a packet resent twice counts twice)
   */
  resent: number
  bytesSent: number
  /** connections established (TCP/TLS/WS) */
  connects: number
  /** connections lost or failed attempts */
  disconnects: number
}

/** The counters of SenderStats, in the order they are listed. */
export const SENDER_COUNTERS = [
  'submitted',
  'sent',
  'failed',
  'dropped',
  'queued',
  'inFlight',
  'bytesSent',
  'connects',
  'disconnects',
  'resent',
] as const satisfies readonly (keyof SenderStats)[]

export function emptySenderStats(): SenderStats {
  return {
    submitted: 0,
    sent: 0,
    failed: 0,
    dropped: 0,
    queued: 0,
    inFlight: 0,
    bytesSent: 0,
    connects: 0,
    disconnects: 0,
    resent: 0,
  }
}

export interface ConnectEvent {
  destination: string
  local?: Endpoint
  remote?: Endpoint
}

export interface DisconnectEvent {
  destination: string
  /** why: refused, reset, timeouts...; absent for a clean close */
  error?: NetError
  /** the connection had been established (false: a failed attempt) */
  wasConnected: boolean
  /** ms until the next attempt; undefined when not reconnecting */
  reconnectIn?: number
}

export interface FailedEvent {
  destination: string
  count: number
  error: NetError
}

export interface DroppedEvent {
  destination: string
  count: number
  reason: 'queue-full'
}

/** Events of every sender. 'error' is emitted only when someone listens to it. */
export interface SenderEvents {
  connect: [ConnectEvent]
  disconnect: [DisconnectEvent]
  drain: []
  dropped: [DroppedEvent]
  failed: [FailedEvent]
  error: [NetError]
  close: [SenderStats]
}

export interface HepSender extends EventEmitter<SenderEvents> {
  /** canonical URL of the destination (a comma-separated list for a MultiSender) */
  readonly destination: string
  /** connected now (UDP: socket ready) */
  readonly connected: boolean
  /** packets waiting in the queue */
  readonly queued: number
  /** send() returned false and 'drain' has not been emitted yet */
  readonly needDrain: boolean
  /**
   * Queues one encoded packet. Returns true when it was queued and there is room for more; false when
   * the queue is now full (wait for 'drain' or `ready()`), or the packet was dropped or failed at once
   * (see the 'dropped' / 'failed' events). `key` (Call-ID, correlation id) only matters to a MultiSender
   * balancing by call. Throws after close().
   */
  send(bytes: Buffer, key?: string): boolean
  /** Waits for room in the queue, then sends. */
  sendAsync(bytes: Buffer, key?: string): Promise<boolean>
  /** Resolves when the queue has room. */
  ready(): Promise<void>
  /**
   * Resolves true when everything queued was written (TCP/TLS/WS: handed to the kernel, not yet
   * confirmed), false at the timeout (ms).
   */
  flush(timeout?: number): Promise<boolean>
  /**
   * Starts connecting now (instead of on the first send). Resolves once connected; rejects with the
   * first attempt's NetError (the sender goes on retrying when reconnect is on).
   */
  connect(): Promise<void>
  /**
   * Flushes (up to `timeout` ms, default closeTimeout), fails what is left, closes: TCP/TLS/WS
   * gracefully (FIN / close frame), waiting for the peer's close up to the rest of the deadline (at
   * least min(1 s, timeout)); what the peer's clean close confirms counts as sent, the rest as failed.
   */
  close(options?: { timeout?: number }): Promise<SenderStats>
  stats(): SenderStats
}
