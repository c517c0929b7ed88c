import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Args, Flags } from '@oclif/core'
import { matchedNothing } from '../src/filter/filter.js'
import { createSender } from '../src/net/sender.js'
import { newRegistry, serveMetrics, type MetricsServer } from '../src/metrics/metrics.js'
import { SendMetrics } from '../src/metrics/send-metrics.js'
import { parseDestination } from '../src/net/address.js'
import type { HepSender } from '../src/net/sender-types.js'
import { skippedFor } from '../src/item/skip.js'
import { replay, type ReplayStats } from '../src/replay/replay.js'
import { replayThreaded, twoThreadsFit } from '../src/replay/threaded.js'
import type { TimingMode } from '../src/replay/scheduler.js'
import { BaseCommand, EXIT, metricsExit, STOP_FLUSH_MS } from './_base.js'
import { filterFlags, filterFrom } from './_filter-flags.js'
import { pathsUsable } from './_paths.js'
import { destinationFlags, encodingOptionsFrom, hepEncodingFlags, rtcpFlag } from './_hep-flags.js'
import { captureHints, plural } from './_hints.js'
import { kvTable } from './_pretty.js'

/** The bundle's replay thread (dist/replay-worker.js, next to dist/hep.cjs); absent when running the sources. */
const WORKER_URL = new URL('./replay-worker.js', import.meta.url)

/** HEP_REPLAY_THREADS: 0 never two threads, 1 whenever replay can, else when it pays (threaded.ts) */
function threadsWanted(): 'auto' | 'always' | 'never' {
  const v = process.env.HEP_REPLAY_THREADS
  return v === '0' ? 'never' : v === '1' ? 'always' : 'auto'
}

export default class Replay extends BaseCommand<typeof Replay> {
  static override summary = 'Re-send the SIP of captures as HEP at their original timing'
  static override description = `Takes the SIP messages of one or more captures (pcap, pcapng, gzip; UDP, TCP, WebSocket, SCTP, IP fragments, VLANs, tunnels), re-encodes each as HEP with the chosen version and capture id, and sends it as it happened. "-" reads a capture from stdin, also a live pipe (tcpdump -w - | hep replay - …).

Every packet's send time is computed from the start of the replay, never from the previous packet, so lateness never accumulates; a late packet goes at once. Several files replay as one timeline, merged by time. The filters keep only the messages that pass all of them.

A progress line shows on a terminal. The summary gives packets sent, skipped by reason, failed, the achieved rate and the timing error the scheduler measured (median, p99, max). Ctrl-C stops with the summary.`

  static override examples = [
    '<%= config.bin %> replay fixtures/captures/sip-udp.pcap --to 127.0.0.1:9060 --version 3 --capture-id 2002',
    '<%= config.bin %> replay fixtures/captures/sip-tcp.pcap --to tcp://127.0.0.1:9060 --speed 10',
    '<%= config.bin %> replay fixtures/captures/sip-rtp.pcap --to 127.0.0.1:9060 --max-gap 1 --loop 2',
    '<%= config.bin %> replay fixtures/captures/sip-udp.pcapng --dry-run --method INVITE --not-method ACK',
    '<%= config.bin %> replay - --to 127.0.0.1:9060 < fixtures/captures/sip-udp.pcap',
  ]

  static override args = {
    files: Args.string({ description: 'captures to replay ("-": stdin)', required: true, ignoreStdin: true }),
  }

  static override strict = false

  static override flags = {
    ...destinationFlags,
    ...hepEncodingFlags,
    timestamps: Flags.option({
      options: ['original', 'now'] as const,
      default: 'original' as const,
      description: "HEP timestamps: the capture's, or shifted so the first packet is now",
    })(),
    speed: Flags.string({ description: 'play this many times faster (0.5 = half speed)' }),
    pps: Flags.integer({
      description: "a fixed rate of packets per second instead of the capture's timing",
      min: 1,
    }),
    topspeed: Flags.boolean({ description: 'as fast as possible', default: false }),
    'max-gap': Flags.string({ description: 'cap every idle gap of the capture at this many seconds' }),
    loop: Flags.integer({
      description: 'play the captures this many times (0 = until stopped)',
      default: 1,
      min: 0,
    }),
    limit: Flags.integer({ description: 'stop after this many packets', min: 1 }),
    ...filterFlags,
    rtcp: rtcpFlag,
    metrics: Flags.string({
      description: 'serve Prometheus metrics on [HOST:]PORT/metrics while replaying (default host 127.0.0.1)',
      helpValue: 'HOST:PORT',
    }),
    'dry-run': Flags.boolean({
      description:
        'print what would be sent, as decode prints it, and send nothing (with --json: the JSON form)',
      default: false,
    }),
    'queue-limit': Flags.integer({
      description: 'packets queued per destination before backpressure',
      default: 1000,
      min: 1,
    }),
    insecure: Flags.boolean({ description: 'tls/wss: accept any server certificate', default: false }),
  }

  public async run(): Promise<void> {
    const { argv } = await this.parse(Replay)
    const f = this.flags
    const files = argv as string[]
    const enc = encodingOptionsFrom(f, (m) => this.note(`warning: ${m}`))
    enc.version ??= 3
    // HEPv1/v2 carry SIP only: a type-5 report would arrive as a SIP message
    let rtcp = f.rtcp
    if (enc.version !== 3 && rtcp !== 'off') {
      if (this.argv.some((a) => a === '--rtcp' || a.startsWith('--rtcp=')))
        this.note(`warning: --rtcp: HEPv${enc.version} carries SIP only; RTCP reports need --version 3`)
      rtcp = 'off'
    }
    if (!f['dry-run'] && !f.to?.length)
      this.error('say where to send: --to HOST:PORT (or --dry-run)', { exit: EXIT.USAGE })
    for (const d of f.to ?? []) this.usage(() => parseDestination(d))
    if (!pathsUsable('replay', files)) return
    const mode = this.timingMode()
    const maxGap = f['max-gap'] === undefined ? undefined : this.positive(f['max-gap'], '--max-gap')
    const filter = this.usage(() => filterFrom(f))
    let sender: HepSender | undefined
    if (!f['dry-run']) {
      const to = f.to as string[]
      const o = { balance: f.balance, queueLimit: f['queue-limit'], rejectUnauthorized: !f.insecure }
      sender = to.length === 1 ? createSender(to[0], o) : createSender(to, o)
      const said = new Set<string>()
      sender.on('failed', (ev) => {
        if (!said.has(ev.error.message)) this.problem(`${ev.destination}: ${ev.error.message}`)
        said.add(ev.error.message)
      })
      sender.on('error', () => {})
    }
    let metrics: MetricsServer | undefined
    let sm: SendMetrics | undefined
    if (f.metrics !== undefined) {
      const registry = newRegistry()
      sm = new SendMetrics(registry, () => sender)
      try {
        metrics = await serveMetrics(f.metrics, registry)
      } catch (e) {
        this.error((e as Error).message, { exit: metricsExit(e) })
      }
      this.note(`metrics on http://${metrics.address.address}:${metrics.address.port}/metrics`)
    }
    const live = { packets: 0, elapsedMs: 0, captureMs: 0 }
    if (!f['dry-run'])
      await this.startProgress(
        () =>
          `replay: ${plural(live.packets, 'packet')} sent, ${(live.elapsedMs / 1000).toFixed(1)} s elapsed, ${(live.captureMs / 1000).toFixed(1)} s of capture time`,
      )
    let dry = 0
    const started = Date.now()
    const tick = setInterval(() => (live.elapsedMs = Date.now() - started), 100)
    tick.unref()
    const options: Parameters<typeof replay>[0] = {
      ...enc,
      files,
      stdin: this.stdin,
      timing: { mode, maxGap },
      loop: f.loop,
      needCallId: f.balance === 'call-id',
      limit: f.limit,
      timestamps: f.timestamps,
      filter,
      rtcp,
      signal: this.stop.signal,
      stopFlushMs: STOP_FLUSH_MS,
      onSkip: (where, reason, e) => this.problem(`${where}: ${reason}${e ? ': ' + e.message : ''}`),
      onPacket: f['dry-run']
        ? (p) => {
            sm?.packet(p)
            this.packetOut(p, f.json ? '' : `#${++dry}`)
          }
        : sm
          ? (p) => sm.packet(p)
          : undefined,
      onProgress: (pr) => {
        live.packets = pr.packets
        live.captureMs = pr.captureMs
      },
    }
    // at top speed from files: reading and encoding on a second thread, sending on this one
    const threaded =
      sender !== undefined &&
      twoThreadsFit(options, sender, threadsWanted()) &&
      existsSync(fileURLToPath(WORKER_URL))
    const stats = await (
      threaded && sender !== undefined ? replayThreaded(options, sender, WORKER_URL) : replay(options, sender)
    ).finally(() => this.endProgress()) // the line hides the cursor: shown again after an error too
    clearInterval(tick)
    await metrics?.close()
    await this.out.drained()
    const nothing = matchedNothing(filter, stats.packets + (stats.skipped['filtered out'] ?? 0))
    if (nothing) this.note(nothing)
    for (const h of captureHints(
      'replay',
      files.length === 1 ? files[0] : files.join(' '),
      stats.skipped,
      stats.packets,
      f.to?.[0],
    ))
      this.note(h)
    this.summary(stats)
    if (stats.failed > 0 || stats.dropped > 0)
      process.exitCode = stats.sent === 0 ? EXIT.NETWORK : EXIT.PARTIAL
    else if (skippedFor(stats.skipped, 'notEncodable')) process.exitCode = EXIT.PARTIAL
    // (a capture that cannot be read on comes as an unreadable item)
    else if (skippedFor(stats.skipped, 'unreadable')) process.exitCode = EXIT.INPUT
  }

  private positive(text: string, flag: string): number {
    const n = Number(text)
    if (!(n > 0) || !Number.isFinite(n))
      this.error(`${flag} ${text}: expected a positive number`, { exit: EXIT.USAGE })
    return n
  }

  private timingMode(): TimingMode {
    const f = this.flags
    const given = [f.speed !== undefined, f.pps !== undefined, f.topspeed].filter(Boolean).length
    if (given > 1) this.error('choose one of --speed, --pps and --topspeed', { exit: EXIT.USAGE })
    if (f.topspeed) return { kind: 'topspeed' }
    if (f.pps !== undefined) return { kind: 'pps', pps: f.pps }
    return { kind: 'original', speed: f.speed === undefined ? 1 : this.positive(f.speed, '--speed') }
  }

  private summary(s: ReplayStats): void {
    const f = this.flags
    const dry = f['dry-run']
    // no rate when nothing was sent (a dry run sends nothing)
    const { rate, ...rest } = s
    const json = { ...rest, ...(s.sent > 0 ? { rate } : {}), ...(dry ? { dryRun: true } : {}) }
    this.summaryOut(json, () => {
      const rows: [string, string][] = []
      const ms = (x: number) => `${x.toFixed(3)} ms`
      if (dry) rows.push(['packets (dry run)', String(s.packets)])
      else {
        // packets sent, failed and dropped add up to the packets handed to the sender
        rows.push(
          ['packets sent', String(s.sent)],
          ['failed', String(s.failed)],
          ['dropped', String(s.dropped)],
        )
        // a rate only for what went out
        if (s.sent > 0)
          rows.push([
            'achieved rate',
            `${s.rate.toFixed(1)} packets/s in ${(s.elapsedMs / 1000).toFixed(3)} s`,
          ])
        if (s.timing.count > 0 && s.sent > 0)
          rows.push([
            'timing error',
            `median ${ms(s.timing.median)}, p99 ${ms(s.timing.p99)}, max ${ms(s.timing.max)}`,
          ])
      }
      if (s.loops > 1) rows.push(['loops', String(s.loops)])
      if (s.rtcp) {
        rows.push(['RTCP packets found', String(s.rtcp.found)])
        rows.push([dry ? 'RTCP packets (dry run)' : 'RTCP packets sent', String(s.rtcp.sent)])
        // found = sent + uncorrelated + malformed (skipped rows below) + left out
        if (s.rtcp.leftOut > 0) rows.push(['RTCP left out (filters, encoding, stop)', String(s.rtcp.leftOut)])
      }
      for (const [r, n] of Object.entries(s.skipped)) rows.push([`skipped: ${r}`, String(n)])
      process.stderr.write(kvTable(rows, this.stderrColumns) + '\n')
    })
  }
}
