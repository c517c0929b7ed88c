/**
 * UDP sender: one packet per datagram, IPv4 or IPv6 by the destination's address (host names resolved
 * once). A packet larger than a datagram can carry (65507 bytes over IPv4, 65527 over IPv6, or EMSGSIZE
 * from the socket) fails with a NetError that says to use tcp://.
 */
import { createSocket, type Socket } from 'node:dgram'
import { isIP } from 'node:net'
import { formatDestination, formatHostPort, resolveHost, type Destination } from './address.js'
import { BaseSender } from './base-sender.js'
import { endpoint } from './conn.js'
import { errorCode, NetError, toNetError } from './errors.js'
import type { SenderOptions } from './sender-types.js'

/** Largest UDP payload: 65535 - 20 (IPv4 header) - 8, and 65535 - 8 over IPv6 (no jumbograms). */
export const MAX_DATAGRAM = { 4: 65507, 6: 65527 } as const

/** datagrams handed to the socket and not yet confirmed, at most */
const WINDOW = 256

export class UdpSender extends BaseSender {
  private socket: Socket | undefined
  private address: string | undefined
  private family: 4 | 6 | undefined
  private resolving = false
  /** sent on the connected socket (no per-datagram address), or each to the address (connect failed) */
  private connectedTo = false
  /** the datagrams in flight, in the order they were handed to the socket (a ring), and their tries */
  private readonly ring: (Buffer | undefined)[] = new Array<Buffer | undefined>(WINDOW)
  private readonly tries = new Uint8Array(WINDOW)
  private ringHead = 0
  /** set at shutdown: confirmations that still come are of datagrams already counted */
  private abandoned = false
  /**
   * One callback for every datagram (no closure per send): the socket confirms them in the order
   * they were handed to it (at once, on the next tick, or after the kernel queue drained)
   */
  private readonly confirmed = (err: Error | null): void => this.settled(err ?? undefined)

  constructor(
    readonly target: Destination,
    options: SenderOptions,
  ) {
    super(target.url, options)
    const v = isIP(target.host)
    if (v !== 0) this.family = v === 6 ? 6 : 4
  }

  get connected(): boolean {
    return this.socket !== undefined
  }

  /** The largest packet this destination takes (known once the host is resolved; 65527 before). */
  get maxDatagramSize(): number {
    return MAX_DATAGRAM[this.family ?? 6]
  }

  private tooLarge(length: number, emsgsize?: unknown): NetError {
    const family = this.family ?? 4
    const tcp = formatDestination({ ...this.target, transport: 'tcp', path: '' })
    const why = emsgsize
      ? 'the socket refused it as too long (EMSGSIZE)'
      : `the largest UDP datagram over IPv${family} carries ${MAX_DATAGRAM[family]} bytes`
    return new NetError(
      `cannot send a ${length}-byte packet to ${this.destination}: ${why}; send large packets over TCP instead (${tcp})`,
      { reason: 'EMSGSIZE', target: this.destination, cause: emsgsize },
    )
  }

  protected override check(bytes: Buffer): NetError | undefined {
    if (bytes.length > this.maxDatagramSize) return this.tooLarge(bytes.length)
    return undefined
  }

  protected kick(): void {
    if (this.socket) this.pump()
    else if (!this.resolving && this.phase !== 'closed') void this.setup()
  }

  private async setup(): Promise<void> {
    this.resolving = true
    const host = this.target.host
    let resolved: { address: string; family: 4 | 6 }
    try {
      resolved = await resolveHost(host)
    } catch (e) {
      this.resolving = false
      const error = toNetError(e, `cannot resolve ${host} for ${this.destination}`, this.destination)
      this.st.disconnects++
      this.emit('disconnect', { destination: this.destination, error, wasConnected: false })
      this.reportError(error)
      this.failQueued(error)
      return
    }
    const { address, family } = resolved
    if (this.phase === 'closed') {
      this.resolving = false
      return
    }
    this.address = address
    this.family = family
    // every send below names an IP address (resolved once, above): take it as it is, at once. Node's
    // own lookup of an IP text answers on the next tick, a deferral per datagram (bench/wait.js: our
    // sends 1.07-1.13x Node's default)
    const socket = createSocket({
      type: family === 6 ? 'udp6' : 'udp4',
      lookup: (ip, _opts, cb) => cb(null, ip, family),
    })
    socket.on('error', (e) => {
      // a connected socket hears ICMP "port unreachable" as ECONNREFUSED: nothing failed to leave
      if (errorCode(e) === 'ECONNREFUSED') return this.unconnect()
      this.reportError(toNetError(e, `udp socket for ${this.destination}`, this.destination))
    })
    // bind now rather than on the first send (an implicit bind delays that packet by milliseconds,
    // which a replay on its schedule would feel)
    await new Promise<void>((resolve) => {
      socket.once('error', () => resolve())
      socket.bind(0, () => resolve())
    })
    this.resolving = false
    if ((this.phase as string) === 'closed') {
      socket.close()
      return
    }
    // warm the send path with an empty datagram to this socket itself (never to the destination):
    // Node's first send on a socket is slow, and a replay's first packet would be late for it
    await new Promise<void>((resolve) => {
      try {
        socket.send(Buffer.alloc(0), socket.address().port, family === 6 ? '::1' : '127.0.0.1', () =>
          resolve(),
        )
      } catch {
        resolve()
      }
    })
    // then connect it to the destination: a connected socket sends without naming an address each
    // time (no lookup per datagram in Node, no route lookup per datagram in the kernel). But it
    // hears ICMP "port unreachable" (nobody listens there, yet): the kernel refuses the next send with
    // ECONNREFUSED. The first refusal unconnects it (unconnect()), and it goes on as an unconnected
    // socket, which never hears of it: what the sender did before it connected its socket
    this.connectedTo = await new Promise<boolean>((resolve) => {
      const failed = (): void => resolve(false)
      socket.once('error', failed)
      try {
        socket.connect(this.target.port, address, () => {
          socket.off('error', failed)
          resolve(true)
        })
      } catch {
        socket.off('error', failed)
        resolve(false)
      }
    })
    if ((this.phase as string) === 'closed') {
      socket.close()
      return
    }
    this.socket = socket
    this.st.connects++
    this.emit('connect', { destination: this.destination, remote: endpoint(address, this.target.port) })
    this.pump()
  }

  private pump(): void {
    const socket = this.socket
    const address = this.address
    if (!socket || address === undefined) return
    const max = this.maxDatagramSize
    while (this.st.inFlight < WINDOW) {
      const buf = this.take()
      if (buf === undefined) break
      if (buf.length > max) {
        this.fail(1, this.tooLarge(buf.length))
        continue
      }
      this.hand(socket, buf, 0)
    }
    this.progress()
  }

  /** From now on every datagram names its address (the destination refused one: see setup). */
  private unconnect(): void {
    if (!this.connectedTo) return
    this.connectedTo = false
    try {
      this.socket?.disconnect()
    } catch {
      // not connected after all
    }
  }

  /** Hands one datagram to the socket (its `tries`-th refusal before). */
  private hand(socket: Socket, buf: Buffer, tries: number): void {
    const k = (this.ringHead + this.st.inFlight) % WINDOW
    this.ring[k] = buf
    this.tries[k] = tries
    this.st.inFlight++
    try {
      if (this.connectedTo) socket.send(buf, this.confirmed)
      else socket.send(buf, this.target.port, this.address as string, this.confirmed)
    } catch (e) {
      // refused at once (the socket closed under us): not in flight, the ring slot free again
      this.st.inFlight--
      this.ring[k] = undefined
      const where = formatHostPort(this.address ?? this.target.host, this.target.port)
      this.fail(1, toNetError(e, `udp send to ${where}`, this.destination))
    }
  }

  private settled(err: Error | undefined): void {
    if (this.abandoned) return
    const h = this.ringHead
    const buf = this.ring[h] as Buffer
    const tries = this.tries[h]
    this.ring[h] = undefined
    this.ringHead = (h + 1) % WINDOW
    this.st.inFlight--
    const length = buf.length
    if (err === undefined) this.markSent(length)
    else if (this.refused(err) && this.socket && tries < 3) {
      // the kernel told the connected socket of an ICMP "port unreachable" (for an earlier datagram)
      // by refusing this one: it goes again, unconnected, as an unconnected socket would have sent it
      this.unconnect()
      this.hand(this.socket, buf, tries + 1)
      return
    } else if (errorCode(err) === 'EMSGSIZE') this.fail(1, this.tooLarge(length, err))
    else {
      const where = formatHostPort(this.address ?? this.target.host, this.target.port)
      this.fail(1, toNetError(err, `udp send to ${where}`, this.destination))
    }
    // the socket takes more once half the window is confirmed (or when this was the last one, so
    // flush() and ready() hear of it)
    if (this.st.inFlight <= WINDOW / 2) this.pump()
  }

  /**
   * A send to be made again, unconnected: ECONNREFUSED, or EDESTADDRREQ for a datagram that libuv had
   * queued for the connected socket before unconnect() (it carries no address).
   */
  private refused(err: Error): boolean {
    const code = errorCode(err)
    return code === 'ECONNREFUSED' || (code === 'EDESTADDRREQ' && !this.connectedTo)
  }

  protected async shutdown(): Promise<void> {
    const socket = this.socket
    this.socket = undefined
    if (this.st.inFlight > 0) {
      const n = this.st.inFlight
      this.abandoned = true
      this.st.inFlight = 0
      this.fail(
        n,
        new NetError(`${n} datagrams to ${this.destination} unconfirmed at close`, {
          target: this.destination,
        }),
      )
    }
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()))
  }
}
