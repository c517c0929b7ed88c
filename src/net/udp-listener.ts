/**
 * UDP listener: one datagram is one HEP packet (v1, v2 or v3). IPv4 or IPv6 by the bound address
 * (`::` also receives IPv4 on dual-stack hosts). SO_RCVBUF settable, effective size reported.
 */
import { createSocket, type Socket } from 'node:dgram'
import { formatHostPort } from './address.js'
import { endpoint, now, type Guards, type ListenerHost } from './conn.js'
import { describeError, toNetError } from './errors.js'
import type { Endpoint, Listener } from './types.js'

export class UdpListener implements Listener {
  readonly transport = 'udp' as const
  private socket: Socket | undefined
  private bound: Endpoint = endpoint('', 0)
  private closing: Promise<void> | undefined

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

  close(): Promise<void> {
    if (this.closing) return this.closing
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
