/**
 * listen(): what `hep listen` does, as a library call. It starts a HepServer on every spec, counts
 * and filters what arrives, saves it to the --write (pcap of the messages) and --write-hep (HEP as
 * received) outputs, pauses the inputs while an output is over its bound, and stops on a count, a
 * duration, a signal or `stop()`. Rendering (lines, JSON, the summary) is the caller's: it gets each
 * packet that passed the filter, every event, and at the end the statistics.
 *
 *   const l = await listen([{ transport: 'udp', port: 9060 }], { write: 'calls.pcap', count: 100 })
 *   await l.done
 *   const s = await l.stop()   // s.server.total.packets, s.dropped, l.stats.kinds()…
 */
import type { Writable } from 'node:stream'
import { HepError } from '../errors.js'
import type { HepPacket } from '../hep/packet.js'
import { formatFromExtension } from '../input/input.js'
import type { OutputError, OutputWriter, WriterOptions } from '../output/writer.js'
import { openSink, type OutputFormat, type PacketSink, type SinkTime } from '../convert/sinks.js'
import { HepServer } from '../net/server.js'
import type {
  ConnectionEvent,
  ListenOptions,
  Listener,
  MalformedEvent,
  ReceiveMeta,
  RejectedEvent,
  ServerOptions,
  ServerStats,
} from '../net/types.js'
import type { PacketFilter } from '../filter/filter.js'
import type { RelayStats } from '../relay/relay.js'
import { Deduplicator } from './dedup.js'
import { ListenStats } from './stats.js'

/** An output whose bound pauses the inputs: an OutputWriter, or the output thread (out-thread.ts). */
export type Watched = Pick<OutputWriter, 'name' | 'full' | 'drained'>

/** Where accepted packets are relayed (src/relay/relay.ts: `hep listen --to`). */
export interface PacketRelay {
  /** `owned`: `raw` is the packet's own buffer (a UDP datagram), not a view of a larger one */
  packet(p: HepPacket, raw: Buffer, owned: boolean): void
  close(timeout?: number): Promise<RelayStats>
}

export interface ListenHandlers {
  /** every packet received, before --dedup and the filter (metrics) */
  onReceived?: (p: HepPacket, meta: ReceiveMeta) => void
  /** a packet that passed the filter (called before it is saved) */
  onPacket?: (p: HepPacket, meta: ReceiveMeta, raw: Buffer) => void
  /** a listener is bound */
  onListening?: (l: Listener) => void
  onMalformed?: (ev: MalformedEvent) => void
  onRejected?: (ev: RejectedEvent) => void
  /** a connection accepted or closed (with its reason) */
  onConnection?: (ev: ConnectionEvent) => void
  /** a socket error (EMFILE…, or an InternalError: our bug); the server goes on */
  onError?: (e: Error, server: HepServer) => void
  /** an output went over its bound for the first time: inputs pause until it drains */
  onFull?: (who: string) => void
  /** an output failed (once per output); nothing more is saved to it */
  onOutputError?: (e: OutputError) => void
  /** a packet could not be saved (e.g. --write of a packet without addresses) */
  onNotSaved?: (e: HepError) => void
  /** a problem that does not stop an output */
  onWarning?: (msg: string) => void
}

export interface ListenSessionOptions extends ListenHandlers {
  /** the server's guards and decode options */
  server?: ServerOptions
  /** only packets passing this are shown, saved and counted in `shown` */
  filter?: PacketFilter
  /** stop after this many packets (after the filter) */
  count?: number
  /** stop after this many seconds */
  duration?: number
  /** stop taking packets when aborted (`done` resolves) */
  signal?: AbortSignal
  /** save the decapsulated messages as a pcap (their addresses, their HEP time) */
  write?: string | Writable
  /** save the HEP packets as received */
  writeHep?: string | Writable
  /** --write-hep's format (default: from the name: .pcap → hep-pcap, .hex, .jsonl, else raw) */
  writeHepFormat?: OutputFormat
  /** the outputs' bound in bytes (default 64 MiB) */
  maxBuffer?: number
  /** more outputs whose bound pauses the inputs (the caller's stdout) */
  watch?: Watched[]
  /** drop a packet equal to one seen within this many ms (dedup.ts) */
  dedup?: number
  /** relay every accepted packet (after --dedup and the filter) here; closed by stop() */
  relay?: PacketRelay
  /** makes the --write / --write-hep sinks (default openSink; rotate.ts makes rotating ones) */
  openSink?: typeof openSink
  /**
   * every UDP datagram, undecoded, instead of decoding, counting and filtering it here: listen's
   * output thread (out-thread.ts) does that; the filter, --dedup, outputs, relay and count are then
   * the caller's (leave them unset); the bound (`watch`) still pauses the inputs
   */
  onDatagram?: (raw: Buffer, meta: ReceiveMeta) => void
}

/** The statistics at the end: the server's (connections closed by reason included) and ours. */
export interface ListenResult {
  stats: ListenStats
  /** HepServer.stats() after the close, with `dropped` read before it (the kernel's count needs the sockets) */
  server: ServerStats
  /** one of the listeners was UDP (drops apply) */
  udp: boolean
  /** the relay's counts after its close (--to) */
  relay?: RelayStats
}

export interface SavedOutput {
  sink: PacketSink
  /** the path, or the writer's name */
  what: string
}

export interface ListenSession {
  readonly server: HepServer
  readonly stats: ListenStats
  /** --write and --write-hep */
  readonly outputs: readonly SavedOutput[]
  /** resolves when listening should end: the signal, the count or the duration */
  readonly done: Promise<'signal' | 'count' | 'duration'>
  /**
   * Stops taking packets, closes the server (waiting at most `within` ms, default 5000, for
   * connections to close), the relay (its queues get `relayWithin` ms, default `within`, to flush;
   * with a spool what is left goes there) and the outputs (flushed); never rejects on an output error.
   */
  stop(opts?: { within?: number; relayWithin?: number }): Promise<ListenResult>
}

/** --write-hep's format from the file name. */
export function hepSinkFormat(path: string): OutputFormat {
  const fmt = formatFromExtension(path)
  return fmt === 'pcap' || fmt === 'hep-pcap' ? 'hep-pcap' : fmt === 'hex' || fmt === 'jsonl' ? fmt : 'raw'
}

export async function listen(
  specs: ListenOptions[],
  opts: ListenSessionOptions = {},
): Promise<ListenSession> {
  const s = new Session(opts)
  try {
    for (const spec of specs) {
      const l = await s.server.listen(spec) // not inside `onListening?.()`: that would skip it when unset
      opts.onListening?.(l)
    }
  } catch (e) {
    await s.server.close()
    await opts.relay?.close(0)
    await s.closeOutputs()
    throw e
  }
  s.start()
  return s
}

class Session implements ListenSession {
  readonly server: HepServer
  readonly stats = new ListenStats()
  readonly outputs: SavedOutput[] = []
  readonly done: Promise<'signal' | 'count' | 'duration'>
  private finish!: (why: 'signal' | 'count' | 'duration') => void
  /** no more packets are taken */
  private halted = false
  private timer: NodeJS.Timeout | undefined
  private pcapSink?: PacketSink
  private hepSink?: PacketSink
  /** inputs paused because an output is over its bound */
  private paused = false
  private saidFull = false
  private readonly watch: Watched[]
  private readonly filter: PacketFilter | undefined
  readonly dedup: Deduplicator | undefined

  constructor(private readonly opts: ListenSessionOptions) {
    this.done = new Promise((resolve) => (this.finish = resolve))
    this.watch = opts.watch ?? []
    this.filter = opts.filter && !opts.filter.empty ? opts.filter : undefined
    this.dedup = opts.dedup !== undefined ? new Deduplicator(opts.dedup) : undefined
    const output = { maxBuffer: opts.maxBuffer, onError: opts.onOutputError }
    if (opts.write !== undefined) this.pcapSink = this.open('pcap', opts.write, output)
    if (opts.writeHep !== undefined) {
      const fmt =
        opts.writeHepFormat ?? (typeof opts.writeHep === 'string' ? hepSinkFormat(opts.writeHep) : 'raw')
      this.hepSink = this.open(fmt, opts.writeHep, output)
    }
    const tap = opts.onDatagram
    const server = (this.server = new HepServer(
      tap ? { ...opts.server, onDatagram: (raw, meta) => this.datagram(tap, raw, meta) } : opts.server,
    ))
    server.on('error', (e) => opts.onError?.(e, server))
    server.on('packet', (ev) => this.packet(ev.packet, ev, ev.raw))
    server.on('malformed', (ev) => opts.onMalformed?.(ev))
    server.on('rejected', (ev) => opts.onRejected?.(ev))
    server.on('connection', (ev) => opts.onConnection?.(ev))
  }

  start(): void {
    const { signal, duration } = this.opts
    if (signal?.aborted) this.end('signal')
    else signal?.addEventListener('abort', () => this.end('signal'), { once: true })
    if (duration !== undefined) this.timer = setTimeout(() => this.end('duration'), duration * 1000)
  }

  private end(why: 'signal' | 'count' | 'duration'): void {
    this.halted = true
    if (this.timer) clearTimeout(this.timer)
    this.finish(why)
  }

  private open(format: OutputFormat, target: string | Writable, output: WriterOptions): PacketSink {
    const sink = (this.opts.openSink ?? openSink)(format, target, { warn: this.opts.onWarning, output })
    this.outputs.push({ sink, what: typeof target === 'string' ? target : sink.out.name })
    return sink
  }

  private packet(p: HepPacket, meta: ReceiveMeta, raw: Buffer): void {
    if (this.halted || this.opts.signal?.aborted) return
    const stats = this.stats
    stats.packet(p)
    this.opts.onReceived?.(p, meta)
    if (this.dedup?.duplicate(p, meta.receivedAt)) {
      stats.deduplicated++
      return
    }
    if (this.filter !== undefined && !this.filter.matches(p)) {
      stats.filtered++
      return
    }
    stats.shown++
    this.opts.onPacket?.(p, meta, raw)
    this.opts.relay?.packet(p, raw, meta.transport === 'udp')
    if (this.outputs.length > 0) this.save(p, meta, raw)
    this.checkBound()
    if (this.opts.count !== undefined && stats.shown >= this.opts.count) this.end('count')
  }

  private datagram(tap: (raw: Buffer, meta: ReceiveMeta) => void, raw: Buffer, meta: ReceiveMeta): void {
    if (this.halted || this.opts.signal?.aborted) return
    tap(raw, meta)
    this.checkBound()
  }

  /** Writes the packet to --write (stamped with its HEP time, else its arrival) and --write-hep (its arrival). */
  private save(p: HepPacket, meta: ReceiveMeta, raw: Buffer): void {
    const at = meta.receivedAt
    const time: SinkTime = { seconds: Math.floor(at / 1000), nanos: Math.round((at % 1000) * 1e6) }
    try {
      if (this.pcapSink && p.payload !== undefined) {
        const t =
          p.timeSeconds !== undefined ? { seconds: p.timeSeconds, nanos: (p.timeUseconds ?? 0) * 1000 } : time
        this.pcapSink.write(p, raw, t)
      }
      this.hepSink?.write(p, raw, time, {
        src: meta.remote.address,
        srcPort: meta.remote.port,
        dst: meta.local.address,
        dstPort: meta.local.port,
      })
    } catch (e) {
      if (!(e instanceof HepError)) throw e
      this.opts.onNotSaved?.(e)
    }
    if ((this.stats.shown & 63) === 0) for (const o of this.outputs) void o.sink.maybeFlush()
  }

  private anyFull(): boolean {
    for (const w of this.watch) if (w.full) return true
    for (const o of this.outputs) if (o.sink.full) return true
    return false
  }

  /**
   * Over the output bound (a watched output or a file not taking what is written fast enough):
   * stream inputs pause and UDP datagrams are dropped and counted, until every output has drained.
   */
  private checkBound(): void {
    if (this.paused || !this.anyFull()) return
    this.paused = true
    this.server.pauseInput()
    if (!this.saidFull) {
      this.saidFull = true
      const w = this.watch.find((x) => x.full)
      this.opts.onFull?.(w ? w.name : (this.outputs.find((o) => o.sink.full)?.what ?? 'an output'))
    }
    void (async () => {
      for (;;) {
        for (const w of this.watch) await w.drained()
        for (const o of this.outputs) await o.sink.maybeFlush()
        if (!this.anyFull()) break
      }
      this.paused = false
      if (!this.halted && !this.opts.signal?.aborted) this.server.resumeInput()
    })()
  }

  async closeOutputs(): Promise<void> {
    for (const { sink, what } of this.outputs) {
      try {
        await sink.close()
      } catch (e) {
        this.opts.onWarning?.(`${what}: ${(e as Error).message}`)
      }
    }
  }

  private stopping: Promise<ListenResult> | undefined

  stop(opts: { within?: number; relayWithin?: number } = {}): Promise<ListenResult> {
    this.end('signal')
    this.stopping ??= (async () => {
      const dropped = this.server.stats().dropped // the kernel's count is read before the sockets close
      // bounded: a peer that never finishes its handshake must not hold the stop back
      const within = opts.within ?? 5000
      await Promise.race([this.server.close(), new Promise((r) => setTimeout(r, within).unref())])
      const relay = await this.opts.relay?.close(opts.relayWithin ?? within)
      await this.closeOutputs()
      const udp = this.server.getListeners().some((l) => l.transport === 'udp')
      return { stats: this.stats, server: { ...this.server.stats(), dropped }, udp, relay }
    })()
    return this.stopping
  }
}
