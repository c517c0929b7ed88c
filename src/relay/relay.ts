/**
 * Relay: what `hep listen --to DEST` does with every packet it accepts. Each destination has its own
 * sender (UDP, TCP, TLS, WS) with its bounded memory queue and, with a spool, its disk spool behind
 * it (spool.ts): a packet goes to the memory queue while the destination is up and the queue has
 * room, else to the spool, and the spool is emptied, in order, into the queue as it drains; without a
 * spool, a packet past the full queue is dropped and counted. Packets go out byte for byte as they
 * were received unless an encoding option rewrites them (or a HEPv1/v2 packet must become HEP3 for a
 * TCP/TLS stream, which cannot frame v1/v2). Every destination gets every packet (fan-out), or with
 * balance 'call-id' each call stays on one destination.
 *
 * Counts add up per destination: in + recovered (found in the spool at the start) = sent + failed +
 * dropped + queued + inFlight + inSpool.
 */
import { countKind } from '../item/skip.js'
import { payloadOf } from '../hep/compress.js'
import { HepError } from '../errors.js'
import { encode } from '../hep/codec.js'
import {
  applyEncodingOptions,
  checkEncodingOptions,
  type HepEncodingOptions,
} from '../hep/encoding-options.js'
import type { HepPacket } from '../hep/packet.js'
import { parseDestination, type Destination } from '../net/address.js'
import { BaseSender } from '../net/base-sender.js'
import type { NetError } from '../net/errors.js'
import { createSender, hashKey } from '../net/sender.js'
import type { DisconnectEvent, FailedEvent, SenderOptions } from '../net/sender-types.js'
import { callIdOf } from '../sip/call-id.js'
import { DiskSpool, SpoolLimit } from './spool.js'

export const DEFAULT_SPOOL_LIMIT = 1024 ** 3

export interface RelayOptions {
  to: Array<string | Destination>
  /** 'all' (default): every destination gets every packet; 'call-id': each call goes to one */
  balance?: 'all' | 'call-id'
  /** rewrite the packets (version, capture id, node name, auth key, correlation id) */
  encoding?: HepEncodingOptions
  /** the senders' options (queueLimit is the memory queue per destination) */
  sender?: SenderOptions
  /** keep what cannot go out now on disk, in DIR/<destination>/ (limit: bytes of all, default 1 GiB) */
  spool?: { dir: string; limit?: number }
  onConnect?: (destination: string) => void
  onDisconnect?: (ev: DisconnectEvent) => void
  onFailed?: (ev: FailedEvent) => void
  /** a packet could not be encoded with the options (counted in notEncodable) */
  onNotEncodable?: (e: HepError) => void
  /**
   * the spool of a destination failed (disk full, a damaged file): told once; that destination then
   * goes on without it (memory queue, drops counted), what is on disk stays there
   */
  onSpoolError?: (destination: string, e: Error) => void
}

export interface RelayDestinationStats {
  destination: string
  transport: string
  connected: boolean
  /** packets given to this destination */
  in: number
  /** packets found in its spool at the start (left by an earlier run) */
  recovered: number
  sent: number
  failed: number
  /** dropped: the memory queue full without a spool, or the spool at its limit */
  dropped: number
  /** written again after a connection failed (possible duplicates) */
  resent: number
  queued: number
  inFlight: number
  /** packets written to the spool (this run) */
  spooled: number
  /** packets waiting in the spool now, and its size in bytes */
  inSpool: number
  spoolBytes: number
  connects: number
  disconnects: number
  /** capture id ('-': none) and payload type → packets given to this destination */
  kinds: Map<string, number>
}

export interface RelayStats {
  /** packets given to the relay */
  packets: number
  /** packets the encoding options could not be applied to (sent nowhere) */
  notEncodable: number
  destinations: RelayDestinationStats[]
}

/** A file-name-safe directory name for a destination URL. */
export function spoolName(url: string): string {
  return url.replace(/[^A-Za-z0-9.-]+/g, '_')
}

class Target {
  readonly sender: BaseSender
  readonly spool: DiskSpool | undefined
  readonly stream: boolean;
  in = 0
  spooled = 0
  refused = 0
  readonly kinds = new Map<string, number>()
  /** per packet handed to the sender, in order: did it come from the spool */
  private origins: boolean[] = []
  private originsHead = 0
  private resolved = 0
  private readonly limit: number

  /** the spool failed: not used any more */
  private spoolBroken = false

  constructor(
    readonly dest: Destination,
    opts: SenderOptions,
    spool: { dir: string; limit: SpoolLimit } | undefined,
    private readonly onSpoolError?: (destination: string, e: Error) => void,
  ) {
    const s = createSender(dest, { ...opts, onFull: spool ? 'backpressure' : 'drop' })
    if (!(s instanceof BaseSender)) throw new Error('a single destination has a BaseSender')
    this.sender = s
    this.stream = dest.transport === 'tcp' || dest.transport === 'tls'
    this.limit = opts.queueLimit ?? 1000
    this.spool = spool ? new DiskSpool(`${spool.dir}/${spoolName(dest.url)}`, spool.limit) : undefined
  }

  /** the memory queue may take a packet now */
  private open(): boolean {
    return this.sender.connected && this.sender.queued < this.limit && !this.sender.needDrain
  }

  push(bytes: Buffer, kind: string): void {
    this.in++
    countKind(this.kinds, kind)
    const spool = this.spool
    if (spool === undefined || this.spoolBroken) {
      if (this.spoolBroken && this.sender.queued >= this.limit) this.refused++
      else this.hand(bytes, false)
      return
    }
    if (spool.packets > 0 || !this.open()) {
      try {
        if (spool.append(bytes)) this.spooled++
        else this.refused++
      } catch (e) {
        this.refused++
        this.broken(e as Error)
      }
      return
    }
    this.hand(bytes, false)
  }

  private broken(e: Error): void {
    if (this.spoolBroken) return
    this.spoolBroken = true
    // no spool to release from any more: what is owed to it is forgotten (it would only grow)
    this.origins.length = 0
    this.onSpoolError?.(this.dest.url, e)
  }

  private hand(bytes: Buffer, fromSpool: boolean): void {
    if (this.spool && !this.spoolBroken) this.origins.push(fromSpool)
    this.sender.send(bytes)
  }

  /** Moves spooled packets into the memory queue while it has room; releases what was confirmed. */
  pump(): void {
    const spool = this.spool
    if (spool === undefined || this.spoolBroken) return
    try {
      this.settle()
      while (spool.packets > 0 && this.open()) {
        const b = spool.shift()
        if (b === undefined) break
        this.hand(b, true)
      }
    } catch (e) {
      this.broken(e as Error)
    }
  }

  /** Releases the spool's place of the packets the sender has settled (sent or failed), in order. */
  private settle(): void {
    const spool = this.spool!
    const s = this.sender.stats()
    const r = s.sent + s.failed + s.dropped
    let n = r - this.resolved
    this.resolved = r
    let fromSpool = 0
    while (n-- > 0 && this.originsHead < this.origins.length)
      if (this.origins[this.originsHead++]) fromSpool++
    if (this.originsHead > 4096 && this.originsHead * 2 > this.origins.length) {
      this.origins = this.origins.slice(this.originsHead)
      this.originsHead = 0
    }
    if (fromSpool > 0) spool.commit(fromSpool)
  }

  async close(timeout: number): Promise<void> {
    const spool = this.spool
    if (spool === undefined || this.spoolBroken) {
      await this.sender.close({ timeout })
      return
    }
    // what the memory queue still holds goes back to the disk, ahead of what is spooled
    if (this.sender.connected) await this.sender.flush(timeout / 2)
    const taken = this.sender.takeQueued()
    // what was written and is not confirmed when the connection ends goes back too (sent again
    // after the restart: duplicates possible, nothing lost)
    const unsent: Buffer[] = []
    this.sender.keepUnsent((bufs) => unsent.push(...bufs))
    await this.sender.close({ timeout: timeout / 2 })
    try {
      spool.prepend([...unsent, ...taken])
      if (unsent.length + taken.length === 0) this.settle()
      spool.close()
    } catch (e) {
      this.refused += unsent.length + taken.length
      this.broken(e as Error)
    }
  }

  stats(): RelayDestinationStats {
    const s = this.sender.stats()
    return {
      destination: this.dest.url,
      transport: this.dest.transport,
      connected: this.sender.connected,
      in: this.in,
      recovered: this.spool?.recovered ?? 0,
      sent: s.sent,
      failed: s.failed,
      dropped: s.dropped + this.refused,
      resent: s.resent,
      queued: s.queued,
      inFlight: s.inFlight,
      spooled: this.spooled,
      inSpool: this.spool?.packets ?? 0,
      spoolBytes: this.spool?.bytes ?? 0,
      connects: s.connects,
      disconnects: s.disconnects,
      kinds: this.kinds,
    }
  }
}

export class Relay {
  private readonly targets: Target[]
  private readonly enc: HepEncodingOptions
  private readonly plain: boolean
  private readonly anyStream: boolean
  private readonly balance: 'all' | 'call-id'
  private packets = 0
  private notEncodable = 0
  private rr = 0
  private timer: NodeJS.Timeout | undefined
  private closing: Promise<RelayStats> | undefined

  /** Throws HepError for options that cannot work (a bad destination, v1/v2 onto a stream, a spool directory that cannot be used). */
  constructor(private readonly opts: RelayOptions) {
    if (opts.to.length === 0) throw new HepError('HEP_ENCODE', 'no destination given')
    const dests = opts.to.map((d) => (typeof d === 'string' ? parseDestination(d) : d))
    this.enc = opts.encoding ?? {}
    checkEncodingOptions(this.enc)
    const v = this.enc.version
    for (const d of dests) {
      if (v !== undefined && v !== 3 && (d.transport === 'tcp' || d.transport === 'tls'))
        throw new HepError(
          'HEP_ENCODE',
          `--version ${v} cannot go to ${d.url}: a ${d.transport} stream carries HEP3 only (its length frames it); use udp:// or --version 3`,
        )
    }
    this.plain =
      v === undefined &&
      this.enc.captureId === undefined &&
      this.enc.nodeName === undefined &&
      this.enc.authKey === undefined &&
      this.enc.correlationId === undefined
    this.balance = opts.balance ?? 'all'
    const sender: SenderOptions = { reconnectMaxDelay: 1000, ...opts.sender }
    const limit = opts.spool ? new SpoolLimit(opts.spool.limit ?? DEFAULT_SPOOL_LIMIT) : undefined
    const spool = opts.spool && limit ? { dir: opts.spool.dir, limit } : undefined
    this.targets = dests.map((d) => new Target(d, sender, spool, opts.onSpoolError))
    this.anyStream = this.targets.some((t) => t.stream)
    for (const t of this.targets) {
      const s = t.sender
      s.on('error', () => {}) // told through the events below
      s.on('connect', () => {
        opts.onConnect?.(s.destination)
        t.pump()
      })
      s.on('disconnect', (ev) => opts.onDisconnect?.(ev))
      s.on('failed', (ev) => opts.onFailed?.(ev))
      s.on('drain', () => t.pump())
      // a sender connects (and keeps reconnecting) from the start, not at its first packet
      s.connect().catch((_e: NetError) => {})
    }
    this.timer = setInterval(() => {
      for (const t of this.targets) t.pump()
    }, 100)
    this.timer.unref()
    for (const t of this.targets) t.pump()
  }

  /** Relays one accepted packet; `raw` its bytes as received (copied when `owned` is false). */
  packet(p: HepPacket, raw: Buffer, owned = false): void {
    if (this.closing) return
    this.packets++
    let bytes: Buffer
    let v3: Buffer | undefined
    try {
      if (this.plain) {
        bytes = owned ? raw : Buffer.from(raw)
        if (p.version !== 3 && this.anyStream) v3 = encode(applyEncodingOptions(p, { version: 3 }))
      } else {
        const q = applyEncodingOptions(p, this.enc, callIdOf)
        bytes = encode(q)
        if (q.version !== 3 && this.anyStream) v3 = encode(applyEncodingOptions(q, { version: 3 }))
      }
    } catch (e) {
      if (!(e instanceof HepError)) throw e
      this.notEncodable++
      this.opts.onNotEncodable?.(e)
      return
    }
    const kind = `${p.captureId ?? '-'} ${p.payloadType ?? 1}`
    const targets = this.targets
    if (this.balance === 'all' || targets.length === 1) {
      for (const t of targets) t.push(t.stream && v3 ? v3 : bytes, kind)
      return
    }
    const payload = payloadOf(p) // inflated when compressed
    const key = p.correlationId ?? (payload !== undefined ? callIdOf(payload) : undefined)
    const i = key ? hashKey(key) % targets.length : this.rr++ % targets.length
    const t = targets[i]
    t.push(t.stream && v3 ? v3 : bytes, kind)
  }

  stats(): RelayStats {
    return {
      packets: this.packets,
      notEncodable: this.notEncodable,
      destinations: this.targets.map((t) => t.stats()),
    }
  }

  /**
   * Stops: with a spool, what the memory queues still hold goes back to the spool (sent after the next
   * start); without one, the queues get `timeout` ms to flush and what is left is failed.
   */
  close(timeout = 5000): Promise<RelayStats> {
    this.closing ??= (async () => {
      if (this.timer) clearInterval(this.timer)
      await Promise.all(this.targets.map((t) => t.close(timeout)))
      return this.stats()
    })()
    return this.closing
  }
}
