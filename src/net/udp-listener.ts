/**
 * UDP listener: one datagram is one HEP packet (v1, v2 or v3). IPv4 or IPv6 by the bound address
 * (`::` also receives IPv4 on dual-stack hosts). SO_RCVBUF settable, effective size reported.
 */
import { createSocket, type Socket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { endianness } from 'node:os'
import { parseIPv4, parseIPv6 } from '../hep/ip.js'
import { formatHostPort } from './address.js'
import { endpoint, now, type Guards, type ListenerHost } from './conn.js'
import { describeError, toNetError } from './errors.js'
import type { Endpoint, Listener } from './types.js'

export class UdpListener implements Listener {
  readonly transport = 'udp' as const
  private socket: Socket | undefined
  private bound: Endpoint = endpoint('', 0)
  private closing: Promise<void> | undefined
  /** while paused (the output is over its bound) datagrams are read and dropped, and counted here */
  paused = false
  droppedByUs = 0
  /** the kernel's drop counter of the socket, read when it closed */
  private kernelAtClose: number | undefined

  constructor(
    private readonly host: ListenerHost,
    readonly id: number,
    private readonly guards: Guards,
  ) {}

  get local(): Endpoint {
    return this.bound
  }

  get connectionCount(): number {
    return 0
  }

  setPaused(paused: boolean): void {
    this.paused = paused
  }

  async start(address: string, family: 4 | 6, port: number, recvBufferSize?: number): Promise<void> {
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4' })
    this.socket = socket
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => {
        socket.close()
        reject(
          toNetError(
            e,
            `cannot listen on udp ${formatHostPort(address, port)}`,
            formatHostPort(address, port),
          ),
        )
      }
      socket.once('error', onError)
      socket.bind(port, address, () => {
        socket.off('error', onError)
        resolve()
      })
    })
    const a = socket.address()
    this.bound = endpoint(a.address, a.port, a.family)
    if (recvBufferSize !== undefined && recvBufferSize > 0) {
      try {
        socket.setRecvBufferSize(recvBufferSize)
      } catch (e) {
        this.host.reportError(
          toNetError(
            e,
            `udp ${formatHostPort(a.address, a.port)}: cannot set the receive buffer to ${recvBufferSize}`,
          ),
        )
      }
    }
    socket.on('error', (e) =>
      this.host.reportError(toNetError(e, `udp ${formatHostPort(a.address, a.port)}`)),
    )
    // a sender usually sends many datagrams: reuse its endpoint object while it stays the same
    let lastRemote: Endpoint | undefined
    socket.on('message', (msg, rinfo) => {
      if (this.paused) {
        this.droppedByUs++
        return
      }
      if (
        lastRemote === undefined ||
        lastRemote.port !== rinfo.port ||
        lastRemote.address !== rinfo.address
      ) {
        lastRemote = endpoint(rinfo.address, rinfo.port, rinfo.family)
      }
      const meta = {
        transport: 'udp' as const,
        remote: lastRemote,
        local: this.bound,
        listenerId: this.id,
        receivedAt: now(),
      }
      this.host.countBytes('udp', msg.length)
      this.host.deliver(msg, meta, this.guards)
    })
  }

  getRecvBufferSize(): number | undefined {
    try {
      return this.socket?.getRecvBufferSize()
    } catch (e) {
      this.host.reportError(new Error(`cannot read the UDP receive buffer size: ${describeError(e)}`))
      return undefined
    }
  }

  /**
   * Datagrams the kernel dropped on this socket (its receive buffer was full), from /proc/net/udp or
   * udp6 on Linux; undefined where that cannot be read. After close: the count at closing.
   */
  kernelDrops(): number | undefined {
    if (this.closing) return this.kernelAtClose
    return procUdpDrops(this.bound)
  }

  close(): Promise<void> {
    if (this.closing) return this.closing
    this.kernelAtClose = procUdpDrops(this.bound)
    const socket = this.socket
    this.closing = new Promise<void>((resolve) => {
      if (!socket) return resolve()
      try {
        socket.close(() => resolve())
      } catch {
        resolve() // not running
      }
    })
    return this.closing
  }
}

/** The local address as /proc/net/udp{,6} prints it: each 32-bit word in host order, hex, then :PORT. */
function procLocal(e: Endpoint): string | undefined {
  const v6 = e.family === 'IPv6'
  const b = v6 ? parseIPv6(e.address.replace(/%.*$/, '')) : parseIPv4(e.address)
  if (!b) return undefined
  const le = endianness() === 'LE'
  let hex = ''
  for (let w = 0; w < b.length; w += 4) {
    const word = le ? [b[w + 3], b[w + 2], b[w + 1], b[w]] : [b[w], b[w + 1], b[w + 2], b[w + 3]]
    for (const x of word) hex += x.toString(16).padStart(2, '0')
  }
  return `${hex}:${e.port.toString(16).padStart(4, '0')}`.toUpperCase()
}

/** The "drops" column of the socket bound to `e` in /proc/net/udp (or udp6); undefined if not found. */
export function procUdpDrops(e: Endpoint, text?: string): number | undefined {
  if (text === undefined && process.platform !== 'linux') return undefined
  const want = procLocal(e)
  if (want === undefined || e.port === 0) return undefined
  let t = text
  if (t === undefined) {
    try {
      t = readFileSync(e.family === 'IPv6' ? '/proc/net/udp6' : '/proc/net/udp', 'latin1')
    } catch {
      return undefined
    }
  }
  let found: number | undefined
  for (const line of t.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 13 || f[1] !== want) continue
    const n = Number(f[12])
    if (Number.isFinite(n)) found = (found ?? 0) + n
  }
  return found
}
