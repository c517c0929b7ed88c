/**
 * The listener side's vocabulary: one event interface for every transport, the guard options, and the
 * statistics a HepServer returns.
 */
import type { DecodeOptions } from '../hep/codec.js'
import type { DescriptorBudget } from './fds.js'
import type { HepPacket } from '../hep/packet.js'
import type { HepError } from '../errors.js'

export type ListenTransport = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss'
export const LISTEN_TRANSPORTS: readonly ListenTransport[] = ['udp', 'tcp', 'tls', 'ws', 'wss']

/** Connection-oriented transports (connection events, per-connection guards). */
export type StreamTransport = Exclude<ListenTransport, 'udp'>

export interface Endpoint {
  address: string
  port: number
  family: 'IPv4' | 'IPv6'
}

/** Where and when a packet (or bad bytes) came from. */
export interface ReceiveMeta {
  transport: ListenTransport
  remote: Endpoint
  local: Endpoint
  /** TCP/TLS/WS: the connection's id (unique within the HepServer) */
  connectionId?: number
  /** id of the listener (HepServer.listen order, from 1) */
  listenerId: number
  /** arrival time, ms since the epoch with µs precision (performance.timeOrigin + performance.now()) */
  receivedAt: number
}

export interface PacketEvent extends ReceiveMeta {
  packet: HepPacket
  /** the packet's bytes as received */
  raw: Buffer
}

export interface MalformedEvent extends ReceiveMeta {
  /** DecodeError (offset, field) for bad HEP; HepError for a WebSocket text message */
  error: HepError
  /**
   * UDP/WS: the whole datagram or message. TCP/TLS: the bytes of the bad frame that arrived in the read
   * that revealed it, or the incomplete packet left when the connection ended.
   */
  raw: Buffer
}

/** 'auth-key': no chunk 0x000e equal to the key (v1/v2 cannot carry one); 'too-long': over maxPacketLength */
export type RejectReason = 'auth-key' | 'too-long'

export interface RejectedEvent extends ReceiveMeta {
  reason: RejectReason
  detail: string
  raw: Buffer
  /** the decoded packet, when it decoded */
  packet?: HepPacket
}

/**
 * Why a connection closed:
 * - 'peer': the peer closed it (FIN, or a WebSocket close)
 * - 'reset': the peer reset it (RST / ECONNRESET)
 * - 'idle-timeout': no data for idleTimeout seconds
 * - 'lifetime': open longer than maxLifetime seconds
 * - 'protocol-error': bad HEP3 framing (magic, length) or a WebSocket protocol violation
 * - 'max-reads-per-packet': one packet took more than maxReadsPerPacket reads
 * - 'max-connections': the listener already had maxConnections connections (and none could be evicted)
 * - 'evicted': closed to admit a new connection, at maxConnections or when file descriptors ran out: the
 *   connection that had gone longest without delivering a packet (since it opened, or since its last one)
 * - 'handshake-timeout': no TLS or WebSocket handshake and first packet within handshakeTimeout seconds
 * - 'tls-handshake': the TLS handshake failed
 * - 'ping-timeout': a WebSocket peer did not answer a ping within wsPingInterval
 * - 'shutdown': the listener was closed
 * - 'error': another socket error (see `error`)
 */
export type CloseReason =
  | 'peer'
  | 'reset'
  | 'idle-timeout'
  | 'lifetime'
  | 'protocol-error'
  | 'max-reads-per-packet'
  | 'max-connections'
  | 'evicted'
  | 'handshake-timeout'
  | 'tls-handshake'
  | 'ping-timeout'
  | 'shutdown'
  | 'error'

interface ConnectionEventBase {
  connectionId: number
  listenerId: number
  transport: StreamTransport
  remote: Endpoint
  local: Endpoint
  /** ms since the epoch */
  at: number
}

export interface ConnectionAcceptedEvent extends ConnectionEventBase {
  type: 'accepted'
}

export interface ConnectionClosedEvent extends ConnectionEventBase {
  type: 'closed'
  reason: CloseReason
  /** human detail: "bad magic...", "close code 1000", "a packet took more than 32 reads"... */
  detail?: string
  /** the error behind 'reset', 'protocol-error', 'tls-handshake', 'error' */
  error?: Error
  /** what this connection delivered */
  packets: number
  bytes: number
  malformed: number
  rejected: number
  durationMs: number
}

export type ConnectionEvent = ConnectionAcceptedEvent | ConnectionClosedEvent

export interface ListeningEvent {
  listenerId: number
  transport: ListenTransport
  local: Endpoint
}

/** Events of a HepServer. 'error' is emitted only when someone listens to it (it never crashes). */
export interface ServerEvents {
  packet: [PacketEvent]
  malformed: [MalformedEvent]
  rejected: [RejectedEvent]
  connection: [ConnectionEvent]
  listening: [ListeningEvent]
  error: [Error]
  close: []
}

/** Guards with capture-server defaults; set on the HepServer, overridable per listener. Times in seconds. */
export interface GuardOptions {
  /** packets must carry chunk 0x000e equal to this (v1/v2 packets are then rejected) */
  authKey?: string
  /** longest packet accepted, bytes (default 65535) */
  maxPacketLength?: number
  /** TCP/TLS: drop a peer whose packet takes more reads than this (default 32, as hep_max_msg_chunks; 0: off) */
  maxReadsPerPacket?: number
  /**
   * connections per listener (default 1024; 0: unlimited). A new connection beyond it is admitted and the
   * one that has gone longest without delivering a packet is closed (reason 'evicted').
   */
  maxConnections?: number
  /**
   * seconds from connecting to the first packet delivered, TLS or WebSocket handshake included (default
   * 10; 0: off; fractions allowed); a connection that misses it is closed (reason 'handshake-timeout')
   */
  handshakeTimeout?: number
  /** seconds without data before a connection is closed (default 120; 0: never) */
  idleTimeout?: number
  /** seconds a connection may stay open (default 0: no limit) */
  maxLifetime?: number
  /** TCP keepalive probes after this many idle seconds (default 0: off) */
  keepalive?: number
  /** WebSocket ping interval, seconds; a peer that misses a pong is closed (default 30; 0: off) */
  wsPingInterval?: number
  /** decoding options (HEPv2 time byte order) */
  decode?: DecodeOptions
}

export interface ServerOptions extends GuardOptions {
  /** ms a WebSocket close handshake may take before the socket is destroyed (default 2000) */
  closeTimeout?: number
  /**
   * the descriptor budget its listeners count against (default: the server's own; servers of one
   * process may share one, though each also sees the others' sockets in its counts of /proc/self/fd)
   */
  descriptors?: DescriptorBudget
  /**
   * UDP datagrams go here as received, undecoded and uncounted as packets (listen's output thread
   * decodes and counts them: src/listen/out-thread.ts); no 'packet' or 'malformed' events for them
   */
  onDatagram?: (raw: Buffer, meta: ReceiveMeta) => void
}

export interface TlsServerOptions {
  /** certificate chain: a PEM file path, PEM text or bytes */
  cert: string | Buffer
  /** private key: a PEM file path, PEM text or bytes */
  key: string | Buffer
  passphrase?: string
  /** CA certificates for client certificates (with requestCert) */
  ca?: string | Buffer | Array<string | Buffer>
  /** ask clients for a certificate (and reject those without a valid one) */
  requestCert?: boolean
}

export interface ListenOptions extends GuardOptions {
  transport: ListenTransport
  /** `[HOST:]PORT` text, or a port number; or give host/port */
  address?: string | number
  host?: string
  port?: number
  /** UDP: SO_RCVBUF in bytes (the kernel may double or cap it: see Listener.getRecvBufferSize()) */
  recvBufferSize?: number
  /** tls and wss: certificate and key */
  tls?: TlsServerOptions
}

export interface Listener {
  readonly id: number
  readonly transport: ListenTransport
  /** the bound address (the real port when 0 was asked) */
  readonly local: Endpoint
  /** UDP: the effective SO_RCVBUF; undefined for the others */
  getRecvBufferSize(): number | undefined
  /** open connections (0 for UDP) */
  readonly connectionCount: number
  /** stops accepting and closes this listener's connections (reason 'shutdown') */
  close(): Promise<void>
}

export interface ConnectionStats {
  open: number
  accepted: number
  closed: Partial<Record<CloseReason, number>>
}

export interface TransportStats {
  /** packets delivered ('packet' events) */
  packets: number
  /** bytes received, good or bad */
  bytes: number
  malformed: number
  rejected: number
  rejectedBy: Partial<Record<RejectReason, number>>
  connections: ConnectionStats
}

/** Running out of file descriptors (Linux: the soft RLIMIT_NOFILE read from /proc/self/limits). */
export interface DescriptorStats {
  /** the process's limit (`ulimit -n`), when known */
  limit?: number
  /** connections accepted while descriptors were (nearly) exhausted; each evicted an older one */
  hits: number
  /** of those, connections closed at once because there was no connection to evict */
  refused: number
  /** times accepting paused because descriptors ran out */
  pauses: number
}

export interface ServerStats {
  total: TransportStats
  descriptors: DescriptorStats
  transports: Partial<Record<ListenTransport, TransportStats>>
  /**
   * UDP datagrams that reached the host but were not delivered: `output` dropped by us while the
   * output was over its bound (pauseInput), `kernel` dropped by the kernel on our sockets (Linux
   * /proc/net/udp and udp6; undefined where it cannot be read)
   */
  dropped: { output: number; kernel: number | undefined }
}

/** A connection currently open, as HepServer.connections() lists it. */
export interface ConnectionInfo {
  connectionId: number
  listenerId: number
  transport: StreamTransport
  remote: Endpoint
  local: Endpoint
  openedAt: number
  packets: number
  bytes: number
  malformed: number
  rejected: number
}
