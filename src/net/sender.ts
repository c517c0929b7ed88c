/**
 * createSender: one interface for every destination, and MultiSender for fan-out: every destination gets
 * every packet ('all'), or each call stays on one destination ('call-id': a hash of the key given with
 * the packet, round robin without one), or plain 'round-robin'.
 */
import { EventEmitter } from 'node:events'
import { parseDestination, type Destination } from './address.js'
import { NetError } from './errors.js'
import {
  emptySenderStats,
  SENDER_COUNTERS,
  type HepSender,
  type SenderEvents,
  type SenderOptions,
  type SenderStats,
} from './sender-types.js'
import { tcpLinkFactory } from './links/tcp.js'
import { wsLinkFactory } from './links/ws.js'
import { StreamSender } from './stream-sender.js'
import { UdpSender } from './udp-sender.js'

export type BalanceMode = 'all' | 'call-id' | 'round-robin'

export interface MultiSenderOptions extends SenderOptions {
  /** 'all' (default): every destination gets every packet; 'call-id': one destination per key; 'round-robin' */
  balance?: BalanceMode
}

export interface DestinationStats extends SenderStats {
  destination: string
}

export interface MultiSenderStats extends SenderStats {
  /** packets given to the MultiSender (the other counters sum up the destinations) */
  packets: number
  destinations: DestinationStats[]
}

function toDestination(d: string | Destination): Destination {
  return typeof d === 'string' ? parseDestination(d) : d
}

/** A sender for one destination (`tcp://h:9060`, `h:9060`...), or a MultiSender for several. */
export function createSender(dest: string | Destination, options?: SenderOptions): HepSender
export function createSender(dest: Array<string | Destination>, options?: MultiSenderOptions): HepSender
export function createSender(
  dest: string | Destination | Array<string | Destination>,
  options: MultiSenderOptions = {},
): HepSender {
  if (Array.isArray(dest)) {
    if (dest.length === 0) throw new NetError('no destination given')
    if (dest.length === 1) return createSender(dest[0], options)
    return new MultiSender(dest, options)
  }
  const d = toDestination(dest)
  switch (d.transport) {
    case 'udp':
      return new UdpSender(d, options)
    case 'tcp':
    case 'tls':
      return new StreamSender(d, options, tcpLinkFactory(d, options))
    case 'ws':
    case 'wss':
      return new StreamSender(d, options, wsLinkFactory(d, options))
  }
}

/** FNV-1a, 32 bits, over the UTF-8 bytes of `key`. */
export function hashKey(key: string): number {
  let h = 0x811c9dc5
  const b = Buffer.from(key, 'utf8')
  for (let i = 0; i < b.length; i++) {
    h ^= b[i]
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

export class MultiSender extends EventEmitter<SenderEvents> implements HepSender {
  readonly senders: HepSender[]
  readonly balance: BalanceMode
  readonly destination: string
  private packets = 0
  private rr = 0
  private closed = false
  private closePromise: Promise<MultiSenderStats> | undefined

  constructor(destinations: Array<string | Destination>, options: MultiSenderOptions = {}) {
    super()
    const balance = options.balance ?? 'all'
    if (balance !== 'all' && balance !== 'call-id' && balance !== 'round-robin') {
      throw new RangeError(`balance must be 'all', 'call-id' or 'round-robin', got ${String(balance)}`)
    }
    if (destinations.length === 0) throw new NetError('no destination given')
    this.balance = balance
    this.senders = destinations.map((d) => createSender(d, options))
    this.destination = this.senders.map((s) => s.destination).join(',')
    for (const s of this.senders) {
      s.on('connect', (e) => this.emit('connect', e))
      s.on('disconnect', (e) => this.emit('disconnect', e))
      s.on('dropped', (e) => this.emit('dropped', e))
      s.on('failed', (e) => this.emit('failed', e))
      s.on('error', (e) => {
        if (this.listenerCount('error') > 0) this.emit('error', e)
      })
      s.on('drain', () => {
        if (!this.needDrain) this.emit('drain')
      })
    }
  }

  get connected(): boolean {
    return this.senders.every((s) => s.connected)
  }

  get queued(): number {
    return this.senders.reduce((n, s) => n + s.queued, 0)
  }

  get needDrain(): boolean {
    return this.senders.some((s) => s.needDrain)
  }

  /** Index of the destination for a packet (balance modes other than 'all'). */
  pick(key?: string): number {
    const n = this.senders.length
    if (this.balance === 'call-id' && key !== undefined && key !== '') return hashKey(key) % n
    const i = this.rr % n
    this.rr = (this.rr + 1) % n
    return i
  }

  send(bytes: Buffer, key?: string): boolean {
    if (this.closed) throw new NetError(`the sender to ${this.destination} is closed`, { reason: 'CLOSED' })
    this.packets++
    if (this.balance === 'all') {
      let ok = true
      for (const s of this.senders) ok = s.send(bytes) && ok
      return ok
    }
    return this.senders[this.pick(key)].send(bytes, key)
  }

  async sendAsync(bytes: Buffer, key?: string): Promise<boolean> {
    await this.ready()
    return this.send(bytes, key)
  }

  async ready(): Promise<void> {
    await Promise.all(this.senders.map((s) => s.ready()))
  }

  async flush(timeout?: number): Promise<boolean> {
    const r = await Promise.all(this.senders.map((s) => s.flush(timeout)))
    return r.every(Boolean)
  }

  async connect(): Promise<void> {
    await Promise.all(this.senders.map((s) => s.connect()))
  }

  close(options: { timeout?: number } = {}): Promise<MultiSenderStats> {
    if (this.closePromise) return this.closePromise
    this.closed = true
    this.closePromise = Promise.all(this.senders.map((s) => s.close(options))).then(() => {
      const s = this.stats()
      this.emit('close', s)
      return s
    })
    return this.closePromise
  }

  stats(): MultiSenderStats {
    const destinations = this.senders.map((s) => ({ destination: s.destination, ...s.stats() }))
    const total: MultiSenderStats = { packets: this.packets, ...emptySenderStats(), destinations }
    for (const d of destinations) for (const k of SENDER_COUNTERS) total[k] += d[k]
    return total
  }
}
