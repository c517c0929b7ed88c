import { Flags } from '@oclif/core'
import { existsSync, fstatSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { InternalError } from '../src/errors.js'
import { matchedNothing, type PacketFilter } from '../src/filter/filter.js'
import { payloadTypeName } from '../src/hep/constants.js'
import type { HepPacket } from '../src/hep/packet.js'
import { listen, type ListenResult, type ListenSession, type SavedOutput } from '../src/listen/listen.js'
import { OutThread } from '../src/listen/out-thread.js'
import { endpoint, fittedTable } from './_pretty.js'
import { parseListenAddress } from '../src/net/address.js'
import { checkTlsFiles } from '../src/net/pem.js'
import type {
  ConnectionEvent,
  Endpoint,
  ListenOptions,
  ListenTransport,
  ReceiveMeta,
} from '../src/net/types.js'
import { BaseCommand, EXIT, metricsExit, STOP_FLUSH_MS, outputBufferFlag } from './_base.js'
import { captureIdFilterFlag, filterFlags, filterFrom } from './_filter-flags.js'
import { LiveCalls } from './_calls-live.js'
import { timeByteOrderFlag } from './_hep-flags.js'
import { plural } from './_hints.js'
import { pathsUsable } from './_paths.js'
import { Relay, relayFlags, relayOptionsFrom, relaySummary, rotateFrom } from './_relay.js'
import { rotatingOpenSink } from '../src/convert/rotate.js'
import { ListenMetrics } from '../src/metrics/listen-metrics.js'
import { newRegistry, serveMetrics, type MetricsServer } from '../src/metrics/metrics.js'

const addr = (e: Endpoint) => endpoint(e.address, e.port)

/**
 * The UDP receive buffer asked for by default: 8 MiB holds ~3,500 datagrams of 1 kB (the kernel's
 * default 208 KiB holds ~90, and a 50,000 packets/s stream lost about 1 % with it). Linux caps the
 * request at net.core.rmem_max and reports twice what it keeps.
 */
const DEFAULT_RECV_BUFFER = 8 * 1024 * 1024

/** The output thread's bound: what it has not written yet, at most this much (it drains within the stop's second). */
const THREAD_MAX_BUFFER = 16 * 1024 * 1024

/** The bundle's worker (dist/listen-worker.js, next to dist/hep.cjs); absent when running the sources. */
const WORKER_URL = new URL('./listen-worker.js', import.meta.url)

/** a kind's payload type in the summary (-1: packets whose kind is not known, see out-thread.ts) */
const kindType = (t: number): string => (t < 0 ? 'unknown' : payloadTypeName(t))

export default class Listen extends BaseCommand<typeof Listen> {
  static override summary = 'Receive HEP on UDP, TCP, TLS and WebSocket and show it'
  static override description = `Listens on every address given (several at once), decodes each HEP v1/v2/v3 packet and prints it as decode does: one line per packet, --chunks for a chunk table, --full for the whole payload, --json for JSON lines (the JSON form plus "via": how it arrived). Compressed payloads are shown inflated. Connection events (accepted, closed with the reason) go to stderr, and into the stream with --events. The filters keep only the packets that pass all of them. Ctrl-C or SIGTERM stops: outputs are flushed and closed, the summary is printed, and the exit code is 0.

Each line is written to stdout as the packet arrives, also into a pipe; in a pipeline, a program that buffers its own output (jq: use jq --unbuffered) holds lines back until it has a buffer full.

Guards with capture-server defaults protect honest senders from the others: a TCP peer whose packet takes more than --max-reads-per-packet reads is dropped (OpenSIPS hep_max_msg_chunks), bad framing closes that connection only, idle connections close after --idle-timeout seconds.`

  static override examples = [
    '<%= config.bin %> listen --udp 9060',
    '<%= config.bin %> listen --udp 9060 --tcp 9060 --json | jq --unbuffered -c .payload',
    "<%= config.bin %> listen --udp '[::]:9060' --write calls.pcap --count 100",
    '<%= config.bin %> listen --tcp 9061 --ws 9062 --events --json',
    '<%= config.bin %> listen --udp 9060 --method INVITE --not-method OPTIONS --duration 60 --full',
    "<%= config.bin %> listen --udp 9060 --json | jq --unbuffered -c 'select(.srcPort == 5060)' | <%= config.bin %> send --to tcp://127.0.0.1:9061",
    '<%= config.bin %> listen --udp 9060 --to tcp://127.0.0.1:9061 --spool /tmp/hep-spool --quiet',
    '<%= config.bin %> listen --udp 9060 --dedup 500 --write calls.pcap --rotate-seconds 3600 --rotate-keep 24 --metrics 127.0.0.1:9100',
  ]

  static override flags = {
    udp: Flags.string({ description: 'UDP listen address [HOST:]PORT (repeatable)', multiple: true }),
    tcp: Flags.string({ description: 'TCP listen address [HOST:]PORT (repeatable)', multiple: true }),
    tls: Flags.string({
      description: 'TLS listen address [HOST:]PORT (repeatable; needs --cert and --key)',
      multiple: true,
    }),
    ws: Flags.string({ description: 'WebSocket listen address [HOST:]PORT (repeatable)', multiple: true }),
    wss: Flags.string({
      description: 'WebSocket over TLS listen address (needs --cert and --key)',
      multiple: true,
    }),
    cert: Flags.string({ description: 'TLS certificate chain (PEM file)' }),
    key: Flags.string({ description: 'TLS private key (PEM file)' }),
    chunks: Flags.boolean({ description: 'add a table of every chunk of each packet', default: false }),
    full: Flags.boolean({
      description: 'add the whole payload: SIP with its headers and body, JSON pretty-printed',
      default: false,
    }),
    calls: Flags.boolean({
      description:
        'one row per call (as hep calls) instead of one line per packet: each call once it is over, the rest at stop; on a terminal a table redrawn every 2 s',
      default: false,
    }),
    events: Flags.boolean({
      description: 'with --json: connection events as JSON lines in the stream too',
      default: false,
    }),
    write: Flags.string({
      description: 'save the decapsulated messages as a pcap (original addresses and times)',
    }),
    'write-hep': Flags.string({
      description:
        'save the HEP packets as received: FILE.pcap (HEP over UDP frames), .hex, .jsonl, else raw',
    }),
    count: Flags.integer({ description: 'stop after this many packets (after filters)', min: 1 }),
    duration: Flags.integer({ description: 'stop after this many seconds', min: 1 }),
    ...filterFlags,
    ...captureIdFilterFlag,
    'auth-key': Flags.string({ description: 'reject packets whose auth key (chunk 0x000e) is not this' }),
    'max-connections': Flags.integer({
      description:
        'connections per TCP/TLS/WS listener; a new one evicts the one longest without a packet (default 1024; 0 = no limit)',
      min: 0,
    }),
    'handshake-timeout': Flags.integer({
      description:
        'close a connection whose TLS/WebSocket handshake and first packet take longer than this many seconds (default 10; 0 = no limit)',
      min: 0,
    }),
    'idle-timeout': Flags.integer({
      description: 'close a connection idle this many seconds (default 120; 0 = never)',
      min: 0,
    }),
    'max-lifetime': Flags.integer({
      description: 'close a connection open this many seconds (default: no limit)',
      min: 0,
    }),
    keepalive: Flags.integer({
      description: 'TCP keepalive after this many idle seconds (default: off)',
      min: 0,
    }),
    'max-reads-per-packet': Flags.integer({
      description: 'drop a TCP/TLS peer whose packet takes more reads than this (default 32; 0 = off)',
      min: 0,
    }),
    'recv-buffer': Flags.integer({
      description:
        'UDP receive buffer size in bytes (the kernel caps it at twice net.core.rmem_max; the size got is reported)',
      min: 1,
      default: DEFAULT_RECV_BUFFER,
    }),
    'output-buffer': outputBufferFlag,
    'time-byte-order': timeByteOrderFlag(),
    ...relayFlags,
  }

  private session?: ListenSession

  public async run(): Promise<void> {
    const f = this.flags
    const specs = this.listenSpecs()
    const filter = this.filter()
    const outputs = [f.write, f['write-hep']].filter((o): o is string => o !== undefined)
    if (!pathsUsable('listen', [], outputs)) return
    const rotate = this.usage(() => rotateFrom(f, outputs.length > 0))
    const relayOpts = this.usage(() => relayOptionsFrom(f, (m) => this.note(`warning: ${m}`)))
    const relay = relayOpts ? this.usage(() => this.makeRelay(relayOpts)) : undefined
    let metrics: MetricsServer | undefined
    const registry = f.metrics !== undefined ? newRegistry() : undefined
    const lm = registry
      ? new ListenMetrics(registry, {
          stats: () => this.session?.stats,
          server: () => this.session?.server.stats(),
          relay: () => relay?.stats(),
        })
      : undefined
    if (registry && f.metrics !== undefined) {
      try {
        metrics = await serveMetrics(f.metrics, registry)
      } catch (e) {
        await relay?.close(0)
        this.error((e as Error).message, { exit: metricsExit(e) })
      }
      this.note(`metrics on http://${endpoint(metrics.address.address, metrics.address.port)}/metrics`)
    }
    // with --to, --quiet also stops the packet lines: a quiet relay
    const show = !(f.quiet && relay)
    const live = f.calls ? this.liveCalls() : undefined
    const mode =
      show && !live ? this.twoThreads(specs, filter, outputs.length > 0 || relay !== undefined) : undefined
    const thread = mode ? this.outThread(mode === 'decodes') : undefined
    const decodes = mode === 'decodes'
    this.thread = thread
    if (thread && /\bthreads\b/.test(process.env.HEP_DEBUG ?? ''))
      this.note(`JSON lines written on a second thread${decodes ? ', which decodes and counts too' : ''}`)
    const session = await listen(specs, {
      server: {
        authKey: f['auth-key'],
        maxConnections: f['max-connections'],
        handshakeTimeout: f['handshake-timeout'],
        idleTimeout: f['idle-timeout'],
        maxLifetime: f['max-lifetime'],
        keepalive: f.keepalive,
        maxReadsPerPacket: f['max-reads-per-packet'],
        decode: { timeByteOrder: f['time-byte-order'] },
      },
      filter,
      count: decodes ? undefined : f.count, // the thread counts
      duration: f.duration,
      signal: this.stop.signal,
      write: f.write,
      writeHep: f['write-hep'],
      maxBuffer: this.maxBuffer,
      watch: thread ? [this.out, thread] : [this.out],
      dedup: f.dedup,
      relay,
      openSink: rotate ? rotatingOpenSink(rotate) : undefined,
      onDatagram: decodes ? (raw, meta) => this.toThread(thread!, raw, meta) : undefined,
      onReceived: lm ? (p, meta) => lm.received(p, meta) : undefined,
      onPacket: live
        ? (p) => live.packet(p)
        : thread
          ? (_p, meta, raw) => this.toThread(thread, raw, meta)
          : show
            ? (p, meta) => this.show(p, meta)
            : undefined,
      onListening: (l) => {
        const buf = l.getRecvBufferSize()
        this.note(
          `listening on ${l.transport} ${addr(l.local)}${buf !== undefined ? ` (receive buffer ${buf} bytes)` : ''}`,
        )
        const asked = f['recv-buffer']
        if (l.transport === 'udp' && buf !== undefined && buf < asked)
          this.note(
            `udp ${addr(l.local)}: asked for a receive buffer of ${asked} bytes, the kernel gave ${buf}; ` +
              `bursts may be dropped: raise its cap with \`sysctl -w net.core.rmem_max=${asked}\``,
          )
      },
      onError: (e, server) => {
        const r = (e as { reason?: string }).reason
        if (r === 'EMFILE' || r === 'ENFILE') {
          const limit = server.stats().descriptors.limit
          this.problem(
            `${e.message}; raise \`ulimit -n\`${limit ? ` (now ${limit})` : ''} or lower --max-connections`,
          )
        } else if (e instanceof InternalError)
          this.problem(`internal error (a bug: please report it with HEP_DEBUG=1 output): ${e.message}`)
        else this.problem(`socket: ${e.message}`)
      },
      onMalformed: (ev) =>
        this.problem(
          `${ev.transport} ${addr(ev.remote)}${ev.connectionId ? ` #${ev.connectionId}` : ''}: ${ev.error.message}`,
        ),
      onRejected: (ev) =>
        this.note(
          this.cErr.yellow(`rejected (${ev.reason}) ${ev.transport} ${addr(ev.remote)}: ${ev.detail}`),
        ),
      onConnection: (ev) => this.connectionEvent(ev),
      onFull: (who) =>
        this.note(
          this.cErr.yellow(
            who === thread?.name
              ? `${who} is not keeping up (its ${Math.round(thread.maxBuffer / 1024)} KiB queue is full): UDP packets are dropped and counted until it drains`
              : `${who} is not keeping up (over --output-buffer ${Math.round(this.maxBuffer / 1048576)} MiB): TCP/TLS/WebSocket inputs pause and UDP packets are dropped and counted until it drains`,
          ),
        ),
      onOutputError: (e) => {
        this.problem(`cannot write ${e.path}: ${e.reason}; nothing more is saved to it`)
        process.exitCode = EXIT.OUTPUT
      },
      onNotSaved: (e) => this.problem(`not saved: ${e.message}`),
      onWarning: (m) => this.note(`warning: ${m}`),
    })
    this.session = session
    const ended = await Promise.race([
      session.done,
      new Promise<void>((resolve) => {
        if (this.stopped) resolve()
        else this.stop.signal.addEventListener('abort', () => resolve(), { once: true })
      }),
    ])
    if (!this.stopped) this.requestStop('signal') // --count or --duration: stop as Ctrl-C does
    // bounded (shortly after Ctrl-C): a peer that never finishes its handshake must not hold the summary
    // back; --duration is a deadline too: a destination that is down or slow gets the same short flush
    // (what it did not take goes to the spool, or is counted failed)
    const short = this.signalled || ended === 'duration'
    const result = await session.stop({
      within: short ? STOP_FLUSH_MS : 5000,
      relayWithin: short ? STOP_FLUSH_MS : 5000,
    })
    await metrics?.close()
    live?.end()
    // everything received is written before the summary (within the stop's second after Ctrl-C)
    await thread?.end(this.signalled ? STOP_FLUSH_MS : 10_000)
    const counted = thread?.counts()
    if (counted) {
      // what the output thread decoded and counted, as the session would have
      const { stats, server } = result
      stats.received += counted.received
      stats.shown += counted.shown
      stats.addRows(counted.kinds)
      server.total.packets += counted.received
      server.total.malformed += counted.malformed
    }
    // a stalled reader does not hold the stop: what it has not taken within a second is counted, not waited for
    // under --json the summary is stdout's last line: written before stdout ends
    const onStdout = f.json && this.stopReason !== 'pipe' && !this.out.error && !thread?.error
    if (onStdout) this.summary(result, session.outputs, filter, true)
    await this.out.endWithin(1000)
    if (!onStdout) this.summary(result, session.outputs, filter, false)
    else if (this.notPrinted > 0) this.note(this.notPrintedText())
    if (process.exitCode !== EXIT.OUTPUT && result.server.total.malformed > 0 && result.stats.shown === 0)
      process.exitCode = EXIT.INPUT
    const lost = result.relay?.destinations.some((d) => d.failed > 0 || d.dropped > 0)
    if (lost && process.exitCode === undefined) process.exitCode = EXIT.PARTIAL
    // writes a stalled reader never takes would keep the process alive after the summary
    if (this.out.abandoned > 0) process.exit()
  }

  /** the output thread (two-thread path), if taken */
  private thread?: OutThread

  /**
   * The two-thread path (out-thread.ts): JSON lines into a file (or /dev/null), UDP listeners only,
   * one line per packet (not --calls). Without a filter, --dedup, --auth-key, --metrics, --write,
   * --write-hep or --to the output thread also decodes and counts ('decodes': the main thread only
   * receives); with them the main thread decodes, counts, filters, saves and relays, the output
   * thread writes ('writes'). Elsewhere (a terminal, a pipe, text lines, stream listeners with their
   * events) one thread. HEP_LISTEN_THREADS=1 keeps one thread; =writes keeps decoding on the main one.
   */
  private twoThreads(
    specs: ListenOptions[],
    filter: PacketFilter,
    outputs: boolean,
  ): 'decodes' | 'writes' | undefined {
    const f = this.flags
    const want = process.env.HEP_LISTEN_THREADS
    if (!f.json || want === '1') return undefined
    if (!specs.every((s) => s.transport === 'udp') || process.stdout.isTTY) return undefined
    if (!existsSync(fileURLToPath(WORKER_URL))) return undefined
    try {
      const st = fstatSync(1)
      if (!st.isFile() && !st.isCharacterDevice()) return undefined
    } catch {
      return undefined
    }
    const light =
      filter.empty && !f.dedup && !f['auth-key'] && f.metrics === undefined && !outputs && want !== 'writes'
    return light ? 'decodes' : 'writes'
  }

  private outThread(decodes: boolean): OutThread {
    const crash = process.env.HEP_TEST_LISTEN_WORKER_CRASH
    return new OutThread({
      workerUrl: WORKER_URL,
      fd: 1,
      name: 'stdout',
      decode: { timeByteOrder: this.flags['time-byte-order'] },
      maxBuffer: Math.min(this.maxBuffer, THREAD_MAX_BUFFER),
      onError: (e) => this.outputFailed(e),
      onCrash: (e) => {
        this.problem(
          `internal error (a bug: please report it with HEP_DEBUG=1 output): the output thread failed: ${e.message}`,
        )
        process.exitCode = EXIT.INTERNAL
        this.requestStop('signal')
      },
      crashAfter: crash !== undefined ? Number(crash) : undefined,
      decodes,
      count: this.flags.count,
      onCount: () => this.requestStop('signal'),
      onMalformed: (remote, message) => this.problem(`udp ${remote}: ${message}`),
    })
  }

  /** packets shown that never reached stdout: not taken within 1 s of the stop, or lost with the output thread */
  private get notPrinted(): number {
    return this.out.abandoned + (this.thread?.notWritten ?? 0)
  }

  private notPrintedText(): string {
    return this.thread?.crash
      ? `not printed: ${this.notPrinted} (lost with the output thread)`
      : `not printed: ${this.notPrinted} (stdout did not take them within 1 s of the stop)`
  }

  private liveCalls(): LiveCalls {
    const o = process.stdout
    return new LiveCalls({
      json: this.flags.json,
      tty: Boolean(o.isTTY),
      // a terminal that does not say its size (0): 80 × 24
      width: o.isTTY ? o.columns || 80 : undefined,
      height: (o.isTTY && o.rows) || 24,
      c: this.c,
      line: (l) => this.out.line(l),
    })
  }

  private makeRelay(o: NonNullable<ReturnType<typeof relayOptionsFrom>>): Relay {
    const told = new Set<string>()
    const once = (k: string, say: () => void) => {
      if (!told.has(k)) say()
      told.add(k)
    }
    return new Relay({
      ...o,
      onConnect: (d) => {
        told.clear() // a later failure is told again
        this.note(this.cErr.dim(`relaying to ${d}`))
      },
      onDisconnect: (ev) => {
        if (ev.error)
          once(`d ${ev.destination}`, () =>
            this.note(
              this.cErr.yellow(
                `${ev.destination}: ${ev.error!.message}; ${o.spool ? 'spooling to ' + o.spool.dir : 'queueing in memory'} and retrying`,
              ),
            ),
          )
      },
      onFailed: (ev) =>
        once(`f ${ev.destination} ${ev.error.message}`, () =>
          this.problem(`${ev.destination}: ${ev.error.message}`),
        ),
      onSpoolError: (d, e) => {
        this.problem(`${d}: the spool failed (${e.message}); going on without it`)
        process.exitCode = EXIT.OUTPUT
      },
      onNotEncodable: (e) => once(`e ${e.message}`, () => this.problem(`not relayed: ${e.message}`)),
    })
  }

  private listenSpecs(): ListenOptions[] {
    const f = this.flags
    const specs: ListenOptions[] = []
    const add = (transport: ListenTransport, list: string[] | undefined) => {
      for (const a of list ?? []) {
        this.usage(() => parseListenAddress(a)) // a bad address fails here (exit 2), before anything is bound
        const spec: ListenOptions = {
          transport,
          address: a,
          recvBufferSize: transport === 'udp' ? f['recv-buffer'] : undefined,
        }
        if (transport === 'tls' || transport === 'wss') {
          if (!f.cert || !f.key) this.error(`--${transport} needs --cert and --key`, { exit: EXIT.USAGE })
          this.usage(() => checkTlsFiles({ cert: f.cert, key: f.key }))
          spec.tls = { cert: f.cert, key: f.key }
        }
        specs.push(spec)
      }
    }
    add('udp', f.udp)
    add('tcp', f.tcp)
    add('tls', f.tls)
    add('ws', f.ws)
    add('wss', f.wss)
    if (specs.length === 0)
      this.error('say where to listen: --udp PORT, --tcp PORT, --tls PORT or --ws PORT', { exit: EXIT.USAGE })
    return specs
  }

  private filter(): PacketFilter {
    return this.usage(() => filterFrom(this.flags, true))
  }

  private lastRemote?: Endpoint
  private lastRemoteText = ''
  private lastVia = Buffer.alloc(0)
  private viaRemote?: Endpoint
  private viaConn?: number
  private viaTransport?: string

  /**
   * "via" as JSON text, made once per sender and connection rather than per packet: the new text
   * when it changed since the previous packet, else undefined (the previous one's, in `lastVia`).
   */
  private viaOf(meta: ReceiveMeta): Buffer | undefined {
    if (
      meta.remote === this.viaRemote &&
      meta.connectionId === this.viaConn &&
      meta.transport === this.viaTransport
    )
      return undefined
    this.viaRemote = meta.remote
    this.viaConn = meta.connectionId
    this.viaTransport = meta.transport
    this.lastVia = Buffer.from(
      ',"via":' +
        JSON.stringify({
          transport: meta.transport,
          remote: addr(meta.remote),
          connection: meta.connectionId,
        }),
    )
    return this.lastVia
  }

  /** A datagram to the output thread; a sender's "via" that did not get there is said again next time. */
  private toThread(thread: OutThread, raw: Uint8Array, meta: ReceiveMeta): void {
    if (!thread.packet(raw, this.viaOf(meta))) this.viaRemote = undefined
  }

  private show(p: HepPacket, meta: ReceiveMeta): void {
    const f = this.flags
    if (f.json) {
      this.viaOf(meta)
      this.packetOut(p, '', this.lastVia)
    } else {
      if (meta.remote !== this.lastRemote) {
        this.lastRemote = meta.remote
        this.lastRemoteText = addr(meta.remote)
      }
      const tag = this.c.dim(
        `[${meta.transport} ${this.lastRemoteText}${meta.connectionId ? ' #' + meta.connectionId : ''}]`,
      )
      this.packetOut(p, tag)
    }
  }

  private connectionEvent(ev: ConnectionEvent): void {
    const who = `${ev.transport} ${addr(ev.remote)} #${ev.connectionId}`
    if (ev.type === 'accepted') this.note(this.cErr.dim(`accepted ${who}`))
    else {
      const msg = `closed ${who}: ${ev.reason}${ev.detail ? ` (${ev.detail})` : ''}, ${ev.packets} packets`
      if (ev.reason === 'peer' || ev.reason === 'shutdown') this.note(this.cErr.dim(msg))
      else this.note(this.cErr.yellow(msg))
    }
    if (this.flags.json && this.flags.events) {
      const { error, ...rest } = ev as ConnectionEvent & { error?: Error }
      this.out.line(
        JSON.stringify({
          event: ev.type,
          ...rest,
          remote: addr(ev.remote),
          local: addr(ev.local),
          at: new Date(ev.at).toISOString(),
          ...(error ? { error: error.message } : {}),
        }),
      )
    }
  }

  private summary(
    result: ListenResult,
    outputs: readonly SavedOutput[],
    filter: PacketFilter,
    onStdout: boolean,
  ): void {
    const { stats: s, server: st, udp } = result
    const secs = (Date.now() - s.startedAt) / 1000
    const rejectedBy = st.total.rejectedBy as Record<string, number>
    const dropped = st.dropped
    const nothing = s.received > 0 ? matchedNothing(filter, s.received) : undefined
    if (nothing) this.note(nothing)
    const conns = st.total.connections
    const fd = st.descriptors
    const json = {
      seconds: Number(secs.toFixed(3)),
      received: s.received,
      shown: s.shown,
      filtered: s.filtered,
      ...(this.flags.dedup ? { deduplicated: s.deduplicated } : {}),
      malformed: st.total.malformed,
      rejected: rejectedBy,
      ...(udp ? { dropped: { output: dropped.output, kernel: dropped.kernel ?? null } } : {}),
      kinds: s
        .kinds()
        .map((k) => ({ captureId: k.captureId, type: kindType(k.payloadType), packets: k.packets })),
      ...(conns.accepted > 0 ? { connections: { accepted: conns.accepted, closed: conns.closed } } : {}),
      ...(fd.hits > 0 || fd.pauses > 0
        ? {
            descriptors: { admittedByEviction: fd.hits - fd.refused, refused: fd.refused, pauses: fd.pauses },
          }
        : {}),
      ...(this.notPrinted > 0 ? { notPrinted: this.notPrinted } : {}),
      ...(result.relay ? { relay: result.relay } : {}),
    }
    this.summaryOut(json, () => this.humanSummary(result, outputs, secs), onStdout)
    if (onStdout) {
      // the JSON line is stdout's; what went wrong with the outputs is still said on stderr
      for (const { sink, what } of outputs) if (sink.error) this.outputNote(sink, what)
    }
  }

  private outputNote(sink: SavedOutput['sink'], what: string): void {
    this.note(
      sink.out.confirmed === 0
        ? `${what}: nothing saved (${sink.error?.reason})`
        : `${what}: ${plural(sink.out.confirmedItems, 'packet')} saved, then ${sink.error?.reason}; it ends on a whole packet`,
    )
  }

  private humanSummary(result: ListenResult, outputs: readonly SavedOutput[], secs: number): void {
    const { stats: s, server: st, udp } = result
    const rejectedBy = st.total.rejectedBy as Record<string, number>
    const rejected = Object.values(rejectedBy).reduce((a, b) => a + b, 0)
    const dropped = st.dropped
    const kernel = dropped.kernel === undefined ? 'unknown' : String(dropped.kernel)
    process.stderr.write(
      `listened ${secs.toFixed(1)} s: ${plural(s.received, 'packet')} (${s.shown} shown, ${s.filtered} filtered out${this.flags.dedup ? `, ${s.deduplicated} duplicates` : ''}), ${st.total.malformed} malformed, ${rejected} rejected\n` +
        (udp ? `dropped: ${dropped.output} by us (output full), ${kernel} by the kernel\n` : ''),
    )
    if (result.relay) process.stderr.write(relaySummary(result.relay))
    if (this.notPrinted > 0) process.stderr.write(this.notPrintedText() + '\n')
    for (const { sink, what } of outputs) if (sink.error) this.outputNote(sink, what)
    if (s.received > 0) {
      const rows = s.kinds().map((k) => [k.captureId, kindType(k.payloadType), String(k.packets)])
      process.stderr.write(fittedTable(rows, this.stderrColumns, ['capture id', 'type', 'packets']) + '\n')
    }
    for (const [r, n] of Object.entries(rejectedBy)) process.stderr.write(`rejected (${r}): ${n}\n`)
    const conns = st.total.connections
    if (conns.accepted > 0) {
      const closed = Object.entries(conns.closed)
        .map(([r, n]) => `${r} ${n}`)
        .join(', ')
      process.stderr.write(`connections: ${conns.accepted} accepted; closed: ${closed || 'none'}\n`)
    }
    const fd = st.descriptors
    if (fd.hits > 0 || fd.pauses > 0) {
      process.stderr.write(
        `out of file descriptors: ${fd.hits - fd.refused} connections admitted by evicting another, ${fd.refused} refused, accepting paused ${fd.pauses} times\n`,
      )
    }
  }
}
