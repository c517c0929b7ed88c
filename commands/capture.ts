import { Flags } from '@oclif/core'
import { Table } from './_lazy.js'
import { buildFilter, destinationEndpoints } from '../src/live/bpf.js'
import { LiveCapture, type LiveStats } from '../src/live/capture.js'
import { CaptureSetupError, enginesToTry, listInterfaces } from '../src/live/engine.js'
import { parseDestination } from '../src/net/address.js'
import { createSender } from '../src/net/sender.js'
import { counterFrom, newRegistry, serveMetrics, type MetricsServer } from '../src/metrics/metrics.js'
import { SendMetrics } from '../src/metrics/send-metrics.js'
import { BaseCommand, EXIT, metricsExit, STOP_FLUSH_MS } from './_base.js'
import { filterFlags, filterFrom } from './_filter-flags.js'
import { pathsUsable } from './_paths.js'
import { destinationFlags, encodingOptionsFrom, hepEncodingFlags, rtcpFlag } from './_hep-flags.js'

export default class Capture extends BaseCommand<typeof Capture> {
  static override summary = 'Capture SIP live from network interfaces and send it as HEP (the capture agent)'
  static override description = `Runs a capture engine as a child process: tcpdump (--immediate-mode, each packet handed over
the moment it is captured) or Wireshark's dumpcap, so hep itself needs no root: the engine holds the
capture permission (see the README). Its capture is streamed through the same reader as hep replay
(SIP over UDP, TCP, SCTP, WebSocket; IP fragments, VLANs, tunnels) and every message is sent as HEP the
moment the packet that completes it is captured. The filter never captures the HEP it sends (traffic
to and from the --to destinations is left out). An engine that stops (an interface going down) is
started again; a destination that goes away is reconnected (TCP/TLS/WS) while the queue holds.
Ctrl-C or SIGTERM stops it with the summary: frames captured, SIP, RTCP, sent, failed, dropped, and the
packets the kernel dropped.`

  static override examples = [
    '<%= config.bin %> capture -i any --to 10.0.0.2:9060',
    '<%= config.bin %> capture -i eth0 --port-range 5060-5080 --to tcp://homer:9060 --capture-id 2002',
    "<%= config.bin %> capture -i eth0 -i eth1 --filter 'udp port 5060' --to 10.0.0.2:9060 --write sip.pcapng",
    '<%= config.bin %> capture --list-interfaces',
  ]

  static override flags = {
    interface: Flags.string({
      char: 'i',
      description: 'interface to capture on (repeatable; any = all)',
      multiple: true,
    }),
    ...destinationFlags,
    ...hepEncodingFlags,
    filter: Flags.string({
      description: 'capture filter (BPF, as tcpdump takes it); default: udp or tcp or sctp',
    }),
    rtcp: rtcpFlag,
    ...filterFlags,
    write: Flags.string({ description: 'also write what was captured to this pcapng file' }),
    duration: Flags.integer({ description: 'stop after this many seconds', min: 1 }),
    count: Flags.integer({
      description: 'stop after this many messages were handed to the sender (sent, failed or dropped)',
      min: 1,
    }),
    'list-interfaces': Flags.boolean({
      description: 'list the interfaces to capture on, and exit',
      default: false,
    }),
    'stats-interval': Flags.integer({
      description: 'print the counts on stderr every this many seconds',
      min: 1,
    }),
    engine: Flags.option({
      options: ['auto', 'tcpdump', 'dumpcap'] as const,
      default: 'auto' as const,
      description: 'capture engine: auto (tcpdump, else dumpcap), tcpdump or dumpcap',
    })(),
    buffer: Flags.integer({ description: 'kernel capture buffer per interface, MiB (default 64)', min: 1 }),
    'queue-limit': Flags.integer({
      description: 'packets queued per destination while it is slow or away',
      default: 10000,
      min: 1,
    }),
    insecure: Flags.boolean({ description: 'tls/wss: accept any server certificate', default: false }),
    metrics: Flags.string({
      description: 'serve Prometheus metrics on [HOST:]PORT/metrics while capturing (default host 127.0.0.1)',
      helpValue: 'HOST:PORT',
    }),
  }

  public async run(): Promise<void> {
    const f = this.flags
    if (f['list-interfaces']) return this.list()
    const enc = encodingOptionsFrom(f, (m) => this.note(`warning: ${m}`))
    enc.version ??= 3
    // HEPv1/v2 carry SIP only: a type-5 report would arrive as a SIP message
    const rtcp = enc.version === 3 ? f.rtcp : 'off'
    if (rtcp !== f.rtcp && this.argv.some((a) => a === '--rtcp' || a.startsWith('--rtcp=')))
      this.note(`warning: --rtcp: HEPv${enc.version} carries SIP only; RTCP reports need --version 3`)
    if (!f.interface?.length)
      this.error('say where to capture: --interface IF (or -i any)', { exit: EXIT.USAGE })
    if (!f.to?.length) this.error('say where to send: --to HOST:PORT', { exit: EXIT.USAGE })
    const dests = f.to.map((d) => this.usage(() => parseDestination(d)))
    // --write: a directory, or in a missing folder, is said before the engine starts
    if (f.write !== undefined && !pathsUsable('capture', [], [f.write])) return
    const packetFilter = this.usage(() => filterFrom(f))
    const portRanges = packetFilter.opts.ports
    const filter = buildFilter({
      filter: f.filter,
      portRanges,
      exclude: await destinationEndpoints(dests),
      vlan: !f.interface.includes('any'),
    })
    const o = {
      balance: f.balance,
      queueLimit: f['queue-limit'],
      rejectUnauthorized: !f.insecure,
      onFull: 'drop' as const,
    }
    const sender = f.to.length === 1 ? createSender(f.to[0], o) : createSender(f.to, o)
    const said = new Set<string>()
    sender.on('failed', (ev) => {
      if (!said.has(ev.error.message)) this.problem(`${ev.destination}: ${ev.error.message}`)
      said.add(ev.error.message)
    })
    // a connection lost (TCP/TLS/WS) is said once, with when it is tried again; the queue holds meanwhile
    sender.on('disconnect', (ev) => {
      if (!ev.error || said.has(ev.error.message)) return
      said.add(ev.error.message)
      this.problem(
        `${ev.destination}: ${ev.error.message}` +
          (ev.reconnectIn !== undefined ? `; reconnecting in ${ev.reconnectIn} ms, queueing meanwhile` : ''),
      )
    })
    sender.on('connect', (ev) => {
      if (said.size > 0) this.note(`${ev.destination}: connected again`)
      said.clear()
    })
    sender.on('error', () => {})
    let metrics: MetricsServer | undefined
    let sm: SendMetrics | undefined
    // eslint-disable-next-line prefer-const -- read by the metrics callbacks, set just below
    let cap: LiveCapture | undefined
    if (f.metrics !== undefined) {
      const registry = newRegistry()
      sm = new SendMetrics(registry, () => sender)
      const live = (name: string, help: string, read: (s: LiveStats) => number) =>
        counterFrom(registry, name, help, [], () => (cap ? [[{}, read(cap.stats())]] : []))
      live('hep_capture_frames_total', 'frames the capture engine delivered', (s) => s.captured)
      live('hep_capture_sip_total', 'SIP messages found that passed the filters', (s) => s.sip)
      live('hep_capture_rtcp_total', 'RTCP reports found that passed the filters', (s) => s.rtcp)
      live(
        'hep_capture_filtered_total',
        'SIP messages and RTCP reports left out by the filters',
        (s) => s.filtered,
      )
      live(
        'hep_capture_kernel_drops_total',
        'packets the kernel dropped (as the engine reported them)',
        (s) => s.kernelDrops,
      )
      live('hep_capture_engine_drops_total', 'packets the engine dropped', (s) => s.engineDrops)
      live(
        'hep_capture_restarts_total',
        'times the engine stopped by itself and was started again',
        (s) => s.restarts,
      )
      try {
        metrics = await serveMetrics(f.metrics, registry)
      } catch (e) {
        this.error((e as Error).message, { exit: metricsExit(e) })
      }
      this.note(`metrics on http://${metrics.address.address}:${metrics.address.port}/metrics`)
    }
    const captureId = enc.captureId
    cap = new LiveCapture(
      {
        ...enc,
        interfaces: f.interface,
        filter,
        engine: f.engine,
        bufferMiB: f.buffer,
        portRanges,
        rtcp,
        packetFilter,
        needCallId: f.balance === 'call-id',
        senderDrops: true,
        count: f.count,
        durationMs: f.duration === undefined ? undefined : f.duration * 1000,
        write: f.write,
        signal: this.stop.signal,
        stopFlushMs: STOP_FLUSH_MS,
        onSkip: (where, reason, e) => this.problem(`${where}: ${reason}${e ? ': ' + e.message : ''}`),
        onPacket: sm ? (it) => sm.kind(captureId ?? it.packet?.captureId, it.packet?.payloadType) : undefined,
        onEvent: (e) => {
          const ifs = e.kind === 'fallback' ? '' : e.interfaces.join(', ')
          if (e.kind === 'started')
            this.note(
              `${e.again ? 'capturing again' : 'capturing'} on ${ifs} with ${e.engine} (filter: ${filter})`,
            )
          else if (e.kind === 'stopped')
            this.problem(
              `${e.engine} on ${ifs} stopped: ${e.reason}; starting it again in ${e.retryInMs / 1000} s`,
            )
          else this.note(`${e.from} may not capture (${e.reason}); trying ${e.to}`)
        },
      },
      sender,
    )
    // on a terminal, the counts as a live line (cleared for each note and for the summary)
    await this.startProgress(() => statsLine(cap.stats()))
    let ticker: NodeJS.Timeout | undefined
    if (f['stats-interval'] !== undefined)
      ticker = setInterval(() => this.note(statsLine(cap.stats())), f['stats-interval'] * 1000)
    let stats: LiveStats
    try {
      stats = await cap.run()
    } catch (e) {
      if (e instanceof CaptureSetupError) {
        process.stderr.write(`hep capture: ${e.message}\n`)
        process.exitCode = e.kind === 'interface' || e.kind === 'filter' ? EXIT.USAGE : EXIT.NETWORK
        return
      }
      throw e
    } finally {
      if (ticker) clearInterval(ticker)
      await metrics?.close()
    }
    await this.out.drained()
    this.summaryOut(stats, () => this.summary(stats))
    if (stats.failed > 0 || stats.dropped > 0)
      process.exitCode = stats.sent === 0 ? EXIT.NETWORK : EXIT.PARTIAL
  }

  // a note or problem while the progress line is shown: the line is cleared first (it is drawn again
  // below the message at its next redraw), so the two never share a line
  protected override note(msg: string): void {
    if (this.progress && !this.flags.quiet) process.stderr.write('\r\x1b[K')
    super.note(msg)
  }

  protected override problem(msg: string): void {
    if (this.progress) process.stderr.write('\r\x1b[K')
    super.problem(msg)
  }

  private async list(): Promise<void> {
    try {
      const [engine] = enginesToTry(this.flags.engine)
      for (const i of await listInterfaces(engine)) {
        if (this.flags.json) this.out.line(JSON.stringify(i))
        else this.out.line(i.description ? `${i.name}  ${i.description}` : i.name)
      }
    } catch (e) {
      if (!(e instanceof CaptureSetupError)) throw e
      process.stderr.write(`hep capture: ${e.message}\n`)
      process.exitCode = EXIT.NETWORK
    }
  }

  private summary(s: LiveStats): void {
    const t = new Table({ style: { head: [], border: [], compact: true } })
    t.push(
      { 'frames captured': String(s.captured) },
      { 'SIP messages': String(s.sip) },
      { 'RTCP reports': `${s.rtcp} (of ${s.rtcpFound} RTCP packets found)` },
    )
    // the filters' count: SIP and RTCP above are what passed them
    if (s.filtered > 0) t.push({ 'filtered out': String(s.filtered) })
    t.push(
      { sent: String(s.sent) },
      { failed: String(s.failed) },
      { dropped: String(s.dropped) },
      { 'kernel drops': String(s.kernelDrops) },
    )
    if (s.engineDrops > 0) t.push({ 'engine drops': String(s.engineDrops) })
    if (s.restarts > 0) t.push({ 'engine restarts': String(s.restarts) })
    if (s.written !== undefined) t.push({ 'frames written': String(s.written) })
    if (s.writeDropped) t.push({ 'frames not written (file too slow)': String(s.writeDropped) })
    for (const [r, n] of Object.entries(s.skipped)) t.push({ [`skipped: ${r}`]: String(n) })
    process.stderr.write(t.toString() + '\n')
  }
}

function statsLine(s: LiveStats): string {
  return (
    `capture: ${(s.elapsedMs / 1000).toFixed(0)} s, ${s.captured} frames, ${s.sip} SIP, ${s.rtcp} RTCP, ` +
    (s.filtered ? `${s.filtered} filtered out, ` : '') +
    `${s.sent} sent, ${s.failed} failed, ${s.dropped} dropped` +
    (s.kernelDrops ? `, ${s.kernelDrops} kernel drops` : '') +
    (s.restarts ? `, ${s.restarts} engine restarts` : '')
  )
}
