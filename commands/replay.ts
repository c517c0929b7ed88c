import { Args, Flags } from '@oclif/core'
import { parsePortRanges } from '../src/capture/extract.js'
import { toJsonLine } from '../src/hep/json.js'
import type { HepPacket } from '../src/hep/packet.js'
import { createSender } from '../src/net/sender.js'
import { newRegistry, serveMetrics, type MetricsServer } from '../src/metrics/metrics.js'
import { SendMetrics } from '../src/metrics/send-metrics.js'
import { parseDestination } from '../src/net/address.js'
import type { HepSender } from '../src/net/sender-types.js'
import { skippedFor } from '../src/item/skip.js'
import { replay, type ReplayStats } from '../src/replay/replay.js'
import type { TimingMode } from '../src/replay/scheduler.js'
import { BaseCommand, EXIT, STOP_FLUSH_MS } from './_base.js'
import { pathsUsable } from './_paths.js'
import { encodingOptionsFrom, hepEncodingFlags, rtcpFlag } from './_hep-flags.js'
import { rtcpLine } from './_pretty.js'
import { SingleBar, Table } from './_lazy.js'

export default class Replay extends BaseCommand<typeof Replay> {
  static override summary = 'Re-send the SIP of captures as HEP at their original timing'
  static override description = `Takes the SIP messages of one or more captures (pcap, pcapng, gzip; UDP, TCP, WebSocket, SCTP,
IP fragments, VLANs, tunnels), re-encodes each as HEP with the chosen version and capture id, and sends
it as it happened. Every packet's send time is computed from the start of the replay, never from the
previous packet, so lateness never accumulates; a late packet goes at once. Several files replay as one
timeline, merged by time. The summary gives packets sent, skipped by reason, failed, the achieved rate
and the timing error the scheduler measured (median, p99, max). Ctrl-C stops with the summary.`

  static override examples = [
    '<%= config.bin %> replay fixtures/captures/sip-udp.pcap --to 127.0.0.1:9060 --version 3 --capture-id 2002',
    '<%= config.bin %> replay fixtures/captures/sip-tcp.pcap --to tcp://127.0.0.1:9060 --speed 10',
    '<%= config.bin %> replay fixtures/captures/sip-rtp.pcap --to 127.0.0.1:9060 --max-gap 1 --loop 3',
    '<%= config.bin %> replay fixtures/captures/sip-udp.pcapng --dry-run --json | jq -r .payload | head -1',
  ]

  static override args = {
    files: Args.string({ description: 'captures to replay', required: true, ignoreStdin: true }),
  }

  static override strict = false

  static override flags = {
    to: Flags.string({
      description: 'destination (repeatable): HOST:PORT (UDP) or udp/tcp/tls/ws/wss:// URL',
      multiple: true,
    }),
    balance: Flags.option({
      options: ['all', 'call-id'] as const,
      default: 'all' as const,
      description: 'several --to: all get every packet, or one per call',
    })(),
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
    'port-range': Flags.string({
      description: 'only traffic to or from these ports, e.g. 5060 or 5060-5080,5090',
    }),
    rtcp: rtcpFlag,
    'call-id': Flags.string({ description: 'only this call, its SIP and RTCP (repeatable)', multiple: true }),
    method: Flags.string({
      description: 'only this method: requests by method, responses by their CSeq (repeatable)',
      multiple: true,
    }),
    metrics: Flags.string({
      description: 'serve Prometheus metrics on [HOST:]PORT/metrics while replaying (default host 127.0.0.1)',
      helpValue: 'HOST:PORT',
    }),
    'dry-run': Flags.boolean({
      description: 'print what would be sent, send nothing (with --json: the JSON form)',
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
    let portRanges: [number, number][] | undefined
    if (f['port-range'] !== undefined) {
      portRanges = parsePortRanges(f['port-range'])
      if (!portRanges)
        this.error(`--port-range ${f['port-range']}: expected PORT, LO-HI or a list`, { exit: EXIT.USAGE })
    }
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
        this.error((e as Error).message, { exit: EXIT.NETWORK })
      }
      this.note(`metrics on http://${metrics.address.address}:${metrics.address.port}/metrics`)
    }
    const bar = this.bar()
    const stats = await replay(
      {
        ...enc,
        files,
        stdin: this.stdin,
        timing: { mode, maxGap },
        loop: f.loop,
        needCallId: f.balance === 'call-id',
        limit: f.limit,
        timestamps: f.timestamps,
        portRanges,
        rtcp,
        callIds: f['call-id'],
        methods: f.method,
        signal: this.stop.signal,
        stopFlushMs: STOP_FLUSH_MS,
        onSkip: (where, reason, e) => this.problem(`${where}: ${reason}${e ? ': ' + e.message : ''}`),
        onPacket: f['dry-run']
          ? (p) => {
              sm?.packet(p)
              this.out.line(
                f.json
                  ? toJsonLine(p)
                  : `${p.version} ${p.srcIp}:${p.srcPort} → ${p.dstIp}:${p.dstPort} ${rtcpText(p) ?? firstLine(p.payload)}`,
              )
            }
          : sm
            ? (p) => sm.packet(p)
            : undefined,
        onProgress: (pr) =>
          bar?.update(pr.packets, {
            elapsed: (pr.elapsedMs / 1000).toFixed(1),
            capture: (pr.captureMs / 1000).toFixed(1),
          }),
      },
      sender,
    ).finally(() => bar?.stop()) // the bar hides the cursor: shown again after an error too
    await metrics?.close()
    await this.out.drained()
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

  private bar(): SingleBar | undefined {
    if (this.flags.quiet || this.flags['dry-run'] || !process.stderr.isTTY) return undefined
    const bar = new SingleBar({
      format: 'replay {value} packets | {elapsed} s elapsed, {capture} s of capture time',
      stream: process.stderr,
      hideCursor: true,
    })
    bar.start(0, 0, { elapsed: '0.0', capture: '0.0' })
    return bar
  }

  private summary(s: ReplayStats): void {
    const f = this.flags
    if (f.json && !f['dry-run']) {
      this.out.line(JSON.stringify({ summary: true, ...s }))
      return
    }
    if (f.quiet) return
    const t = new Table({ style: { head: [], border: [], compact: true } })
    const ms = (x: number) => `${x.toFixed(3)} ms`
    t.push({
      [f['dry-run'] ? 'packets (dry run)' : 'packets sent']: String(f['dry-run'] ? s.packets : s.sent),
    })
    if (!f['dry-run']) {
      t.push({ failed: String(s.failed) }, { dropped: String(s.dropped) })
      t.push({ 'achieved rate': `${s.rate.toFixed(1)} packets/s in ${(s.elapsedMs / 1000).toFixed(3)} s` })
      if (s.timing.count > 0)
        t.push({
          'timing error': `median ${ms(s.timing.median)}, p99 ${ms(s.timing.p99)}, max ${ms(s.timing.max)}`,
        })
    }
    if (s.loops > 1) t.push({ loops: String(s.loops) })
    if (s.rtcp) {
      t.push({ 'RTCP packets found': String(s.rtcp.found) })
      t.push({ [f['dry-run'] ? 'RTCP packets (dry run)' : 'RTCP packets sent']: String(s.rtcp.sent) })
    }
    for (const [r, n] of Object.entries(s.skipped)) t.push({ [`skipped: ${r}`]: String(n) })
    process.stderr.write(t.toString() + '\n')
  }
}

function rtcpText(p: HepPacket): string | undefined {
  const line = rtcpLine(p)
  return line === undefined ? undefined : `RTCP ${line}`
}

function firstLine(b: Buffer | undefined): string {
  if (!b) return ''
  const i = b.indexOf(13)
  return b.toString('utf8', 0, i >= 0 ? Math.min(i, 120) : Math.min(b.length, 120))
}
