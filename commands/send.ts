import { readFileSync } from 'node:fs'
import { isIP, isIPv6 } from 'node:net'
import { Args, Flags } from '@oclif/core'
import { HepError } from '../src/errors.js'
import { payloadTypeFromName } from '../src/hep/constants.js'
import { parseIsoTime } from '../src/hep/json.js'
import type { HepPacket } from '../src/hep/packet.js'
import { msToMicros } from '../src/hep/time.js'
import { makeItem, type HepItem } from '../src/item/item.js'
import { SKIP_LABELS, skippedFor } from '../src/item/skip.js'
import { HEP_FORMATS, type HepFormat } from '../src/input/input.js'
import { readHepBatches } from '../src/read/read-hep.js'
import { parseDestination } from '../src/net/address.js'
import { checkTlsFiles } from '../src/net/pem.js'
import { createSender } from '../src/net/sender.js'
import type { HepSender } from '../src/net/sender-types.js'
import { sendItems, type SendStats } from '../src/send/send.js'
import type { CaptureItems } from '../src/capture/items.js'
import { BaseCommand, EXIT, STOP_FLUSH_MS } from './_base.js'
import { captureHints, plural } from './_hints.js'
import { pathsUsable } from './_paths.js'
import { destinationFlags, encodingOptionsFrom, hepEncodingFlags, timeByteOrderFlag } from './_hep-flags.js'

export default class Send extends BaseCommand<typeof Send> {
  static override summary = 'Encode and send HEP, from flags or from JSON lines, raw or hex'
  static override description = `One message from flags (--payload or --payload-file, --src, --dst, --type, --time), or a stream of packets from FILE or stdin in any format decode reads (jsonl, raw, hex, a pcap of HEP), so that hep listen --json | jq --unbuffered … | hep send --to tcp://127.0.0.1:9061 works end to end. Decoded packets go out byte for byte (unless an encoding option changes them); hand-written JSON is completed with what receivers need (family, protocol, time = now, type SIP). JSON lines with an "event" key (listen --events) or "summary": true are skipped. A capture of plain SIP is sent as HEP by hep replay, not by send.

Destinations: HOST:PORT (UDP), udp://, tcp://, tls://, ws://, wss:// URLs, [::1]:9060; --to is repeatable: every destination gets every packet, or --balance call-id keeps each call on one.

The summary counts sent, failed and dropped; they add up to the total. Over tcp/tls/ws a packet counts as sent once no failure of its connection can lose it (the receiver closed cleanly after ours at the end, or more than the kernel buffers were written after it); what a failed connection may have lost is sent again after reconnecting (resent: possible duplicates), or failed with --no-resend. Over UDP, sent means handed to the network: a receiver that is not there is not noticed.`

  static override examples = [
    `<%= config.bin %> send --to 127.0.0.1:9060 --payload 'OPTIONS sip:bob@example.com SIP/2.0' --src 10.0.0.1:5060 --dst 10.0.0.2:5060`,
    '<%= config.bin %> send fixtures/hep/hep-v3.hex --to tcp://127.0.0.1:9061',
    '<%= config.bin %> send fixtures/hep/hep-v3.hex --to 127.0.0.1:9060 --version 2 --capture-id 7',
    '<%= config.bin %> send fixtures/hep/hep-v3.hex --to 127.0.0.1:9060 --compress gzip',
    '<%= config.bin %> listen --udp 9060 --json | <%= config.bin %> send --to tcp://127.0.0.1:9061',
  ]

  static override args = {
    file: Args.string({
      description: 'packets to send ("-": stdin); omit to send one message from flags',
      ignoreStdin: true,
    }),
  }

  static override flags = {
    ...destinationFlags,
    to: Flags.string({ description: destinationFlags.to.description, multiple: true, required: true }),
    from: Flags.option({ options: HEP_FORMATS, description: 'input format (default: detected)' })(),
    payload: Flags.string({ description: 'the message to send (text)', exclusive: ['payload-file'] }),
    'payload-file': Flags.string({ description: 'the message to send, from a file (bytes as they are)' }),
    src: Flags.string({ description: 'source IP:PORT of the message', default: '127.0.0.1:5060' }),
    dst: Flags.string({ description: 'destination IP:PORT of the message', default: '127.0.0.1:5060' }),
    type: Flags.string({ description: 'payload type: sip, log, rtcp… or a number', default: 'sip' }),
    time: Flags.string({ description: 'capture time: ISO 8601 or now', default: 'now' }),
    protocol: Flags.option({
      options: ['udp', 'tcp', 'sctp'] as const,
      default: 'udp' as const,
      description: 'IP protocol of the message',
    })(),
    ...hepEncodingFlags,
    'connect-timeout': Flags.integer({
      description: 'TCP/TLS/WS connect timeout, ms',
      default: 5000,
      min: 1,
    }),
    'write-timeout': Flags.integer({
      description: 'a write that does not complete in this many ms fails the connection',
      default: 10000,
      min: 1,
    }),
    'queue-limit': Flags.integer({
      description: 'packets queued per destination before backpressure',
      default: 1000,
      min: 1,
    }),
    resend: Flags.boolean({
      description:
        'tcp/tls/ws: after a connection fails, send again what it may have lost (duplicates possible, counted as resent); --no-resend counts it as failed',
      default: true,
      allowNo: true,
    }),
    'drop-when-full': Flags.boolean({
      description: 'drop packets when the queue is full instead of waiting',
      default: false,
    }),
    insecure: Flags.boolean({ description: 'tls/wss: accept any server certificate', default: false }),
    ca: Flags.string({ description: 'tls/wss: CA certificate file to trust' }),
    'time-byte-order': timeByteOrderFlag('of the input (what is sent is little-endian, as Kamailio sends)'),
  }

  public async run(): Promise<void> {
    const { args } = await this.parse(Send)
    const f = this.flags
    const enc = encodingOptionsFrom(f, (m) => this.note(`warning: ${m}`))
    for (const d of f.to) this.usage(() => parseDestination(d)) // bad text fails here (exit 2), before anything is sent
    this.usage(() => checkTlsFiles({ ca: f.ca }))
    if (args.file !== undefined && (f.payload !== undefined || f['payload-file'] !== undefined))
      this.error('send either FILE or one message from --payload/--payload-file, not both', {
        exit: EXIT.USAGE,
      })
    const fromFlags = args.file === undefined && (f.payload !== undefined || f['payload-file'] !== undefined)
    const inputs = fromFlags
      ? f['payload-file'] !== undefined
        ? [f['payload-file']]
        : []
      : [args.file ?? '-']
    if (!pathsUsable('send', inputs)) return
    let capture: CaptureItems | undefined
    const batches = fromFlags
      ? oneMessage(this.messageFromFlags(enc.version ?? 3))
      : this.stream(args.file ?? '-', (c) => (capture = c))
    const senderOptions = {
      balance: f.balance,
      connectTimeout: f['connect-timeout'],
      writeTimeout: f['write-timeout'],
      queueLimit: f['queue-limit'],
      onFull: f['drop-when-full'] ? ('drop' as const) : ('backpressure' as const),
      resend: f.resend,
      rejectUnauthorized: !f.insecure,
      ca: f.ca,
    }
    const sender: HepSender =
      f.to.length === 1 ? createSender(f.to[0], senderOptions) : createSender(f.to, senderOptions)
    const reported = new Set<string>()
    sender.on('failed', (ev) => {
      const k = `${ev.destination} ${ev.error.message}`
      if (!reported.has(k)) this.problem(`${ev.destination}: ${ev.error.message}`)
      reported.add(k)
    })
    sender.on('disconnect', (ev) => {
      if (ev.error && !reported.has(ev.error.message)) {
        reported.add(ev.error.message)
        this.note(
          this.cErr.yellow(
            `${ev.destination}: ${ev.error.message}${ev.reconnectIn ? `; retrying in ${ev.reconnectIn} ms` : ''}`,
          ),
        )
      }
    })
    sender.on('error', () => {})
    const stats = await sendItems(batches, sender, {
      ...enc,
      needCallId: f.balance === 'call-id',
      // big-endian v2 times in, the usual little-endian ones out
      reencode: f['time-byte-order'] === 'be',
      signal: this.stop.signal,
      stopFlushMs: STOP_FLUSH_MS,
      onSkip: (where, reason, error) =>
        this.problem(`${where}: ${reason}${error ? ': ' + error.message : ''}`),
    })
    const cap = capture as CaptureItems | undefined
    if (cap && !this.stopped) {
      const skipped = Object.entries(cap.stats.skipped).map(([r, n]) => `${n} ${r}`)
      if (skipped.length > 0)
        this.note(`${args.file}: ${plural(cap.stats.records, 'record')}; skipped: ${skipped.join(', ')}`)
      for (const h of captureHints('send', args.file ?? '-', cap.stats.skipped, stats.in, f.to[0]))
        this.note(h)
    }
    this.summary(stats)
    // the destination's failures first (3: nothing got through, 4: some did not), then what could
    // not be encoded (4), then what could not be read (1)
    const s = stats.sender
    if (s.failed > 0 || s.dropped > 0) process.exitCode = s.sent === 0 ? EXIT.NETWORK : EXIT.PARTIAL
    else if (skippedFor(stats.skipped, 'notEncodable')) process.exitCode = EXIT.PARTIAL
    // what a stop left unsent is no bad input
    else if (Object.keys(stats.skipped).some((k) => k !== SKIP_LABELS.stopped)) process.exitCode = EXIT.INPUT
  }

  private stream(file: string, onCapture: (c: CaptureItems) => void): AsyncIterable<HepItem[]> {
    const f = this.flags
    return readHepBatches(file, {
      from: f.from as HepFormat | undefined,
      timeByteOrder: f['time-byte-order'],
      onCapture,
      stdin: this.stdin,
    })
  }

  private messageFromFlags(version: 1 | 2 | 3): HepPacket {
    const f = this.flags
    const payload =
      f['payload-file'] !== undefined ? readFileSync(f['payload-file']) : Buffer.from(f.payload ?? '', 'utf8')
    const src = this.usage(() => parseHostPort(f.src, '--src'))
    const dst = this.usage(() => parseHostPort(f.dst, '--dst'))
    const type = payloadTypeFromName(f.type)
    if (type === undefined)
      this.error(`--type ${f.type}: not a payload type name (sip, log, rtcp…) or number`, {
        exit: EXIT.USAGE,
      })
    const t = f.time === 'now' ? msToMicros(Date.now()) : parseIsoTime(f.time)
    if (!t) this.error(`--time ${f.time}: expected an ISO 8601 time or now`, { exit: EXIT.USAGE })
    return {
      version,
      protocolFamily: src.ip.includes(':') ? 10 : 2,
      protocol: f.protocol === 'tcp' ? 6 : f.protocol === 'sctp' ? 132 : 17,
      srcIp: src.ip,
      dstIp: dst.ip,
      srcPort: src.port,
      dstPort: dst.port,
      timeSeconds: t.seconds,
      timeUseconds: t.useconds,
      payloadType: type,
      payload,
    }
  }

  private summary(s: SendStats): void {
    this.summaryOut({ in: s.in, ...s.sender, skipped: s.skipped }, () => this.humanSummary(s))
  }

  private humanSummary(s: SendStats): void {
    const st = s.sender
    const skipped = Object.entries(s.skipped).map(([r, n]) => `, ${n} ${r}`)
    const resent = st.resent > 0 ? `; ${st.resent} resent (possible duplicates)` : ''
    // every packet read is sent, failed, dropped or skipped: the first figure is their sum
    process.stderr.write(
      `${plural(s.in, 'packet')}: ${st.sent} sent, ${st.failed} failed, ${st.dropped} dropped${skipped.join('')}${resent}\n`,
    )
  }
}

async function* oneMessage(p: HepPacket): AsyncGenerator<HepItem[]> {
  yield [makeItem(1, { source: 'flags' }, { packet: p })]
}

function parseHostPort(text: string, flag: string): { ip: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text)
  const bad = (why: string) => new HepError('HEP_ENCODE', `${flag} ${text}: ${why}`)
  if (!m) {
    if (/^\d+$/.test(text)) throw bad(`expected IP:PORT; did you mean 127.0.0.1:${text}?`)
    if (isIPv6(text.replace(/:\d+$/, ''))) throw bad('expected IP:PORT; write IPv6 addresses as [IPv6]:PORT')
    throw bad('expected IP:PORT or [IPv6]:PORT')
  }
  if (!isIP(m[1])) throw bad(`"${m[1]}" is not an IP address (HEP carries addresses, not names)`)
  if (Number(m[2]) > 65535) throw bad(`port ${m[2]} is out of range (0..65535)`)
  return { ip: m[1], port: Number(m[2]) }
}
