/**
 * `hep capture` on a real interface: a veth pair into a network namespace the test makes, sipp
 * calls over UDP and over TCP across it, tshark's dumpcap capturing the same interface alongside
 * (the oracle), and the HEP going to `hep listen` inside the namespace, across the very interface
 * being captured (so the filter must leave it out), and to Kamailio's sipcapture (every message
 * stored). Every SIP message tshark sees must arrive exactly once, with its addresses, ports,
 * capture time, capture id and payload.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN } from '../helpers/cli.js'
import { startSipcapture } from '../interop/kamailio.js'
import { jsonLines, Peers, sleep } from '../interop/peers.js'
import { inNs, makeNetns, netnsProblem, type Netns } from './netns.js'

const problem =
  netnsProblem() ??
  (spawnSync('sh', ['-c', 'command -v sipp && command -v tshark']).status !== 0
    ? 'sipp and tshark are needed'
    : undefined)
if (problem) console.warn(`skipping hep capture namespace tests: ${problem}`)

interface Wire {
  /** capture time, µs since the epoch */
  us: number
  src: string
  dst: string
  sport: number
  dport: number
  payload: string
  /** carried by TCP (else UDP) */
  tcp: boolean
}

interface Received {
  srcIp: string
  srcPort: number
  dstIp: string
  dstPort: number
  timeSeconds: number
  timeUseconds: number
  captureId: number
  payload: string
}

/** The SIP frames tshark reads in a capture: one per frame, its transport payload (all the SIP it carries). */
function tsharkSip(file: string): Wire[] {
  const r = spawnSync(
    'tshark',
    [
      '-r',
      file,
      // UDP: the SIP datagrams; TCP: every segment with bytes (a message cut in two shows as SIP only
      // in its last segment), less retransmissions
      '-Y',
      '(udp && sip) || (tcp.len > 0 && !tcp.analysis.retransmission)',
      '-T',
      'fields',
      '-E',
      'separator=/t',
      '-e',
      'frame.time_epoch',
      '-e',
      'ip.src',
      '-e',
      'ip.dst',
      '-e',
      'udp.srcport',
      '-e',
      'udp.dstport',
      '-e',
      'tcp.srcport',
      '-e',
      'tcp.dstport',
      '-e',
      'udp.payload',
      '-e',
      'tcp.payload',
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  )
  if (r.status !== 0) throw new Error(`tshark -r ${file}: ${r.stderr}`)
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [t, src, dst, us, ud, ts, td, up, tp] = l.split('\t')
      const [sec, frac = ''] = t.split('.')
      return {
        us: Number(sec) * 1e6 + Number(frac.padEnd(9, '0').slice(0, 6)),
        src,
        dst,
        sport: Number(us || ts),
        dport: Number(ud || td),
        payload: Buffer.from(up || tp, 'hex').toString('utf8'),
        tcp: ts !== undefined && ts !== '',
      }
    })
}

const peers = new Peers()
let net: Netns | undefined
beforeAll(() => {
  if (!problem) net = makeNetns(1)
})
afterAll(async () => {
  await peers.stopAll()
  net?.remove()
})

/** sipp calls from our end to a UAS inside the namespace; the capture of tshark's dumpcap alongside. */
async function calls(n: Netns, dir: string, transport: 'u1' | 't1', calls: number, hepArgs: string[]) {
  const wire = join(dir, `wire-${transport}.pcapng`)
  const sipPort = transport === 'u1' ? 5060 : 5070
  const oracle = peers.start('dumpcap (oracle)', 'dumpcap', [
    '-i',
    n.here,
    '-f',
    `port ${sipPort}`,
    '-w',
    wire,
  ])
  await oracle.waitLog(/Capturing on/)
  const capture = peers.start('hep capture', process.execPath, [BIN, 'capture', '-i', n.here, ...hepArgs], {
    env: { NODE_ENV: 'production' },
    foreground: true,
  })
  await capture.waitLog(/capturing on/)
  const [cmd, args] = inNs(n, 'sipp', [
    '-sn',
    'uas',
    '-i',
    n.thereIp,
    '-p',
    String(sipPort),
    '-t',
    transport,
    '-nostdin',
  ])
  const uas = peers.start(`sipp uas ${transport}`, cmd, args)
  await sleep(300)
  const uac = peers.start(`sipp uac ${transport}`, 'sipp', [
    '-sn',
    'uac',
    `${n.thereIp}:${sipPort}`,
    '-i',
    n.hereIp,
    '-p',
    String(sipPort + 1),
    '-t',
    transport,
    '-m',
    String(calls),
    '-r',
    '50',
    '-nostdin',
    '-timeout',
    '15s',
  ])
  expect(await uac.wait(20_000), uac.tail()).toBe(0)
  await sleep(300) // the last messages through the engines
  await oracle.stop('SIGINT')
  await uas.stop()
  const t = Date.now()
  expect(await capture.stop('SIGINT'), capture.tail()).toBe(0)
  expect(Date.now() - t, 'Ctrl-C ends hep capture within a second').toBeLessThan(1000)
  return { wire: tsharkSip(wire), capture }
}

/**
 * UDP: each wire frame matched by exactly one received message with its endpoints, its payload and
 * its time. TCP: a segment is not a message (sipp's writes may be cut or coalesced, and tshark's
 * tcp.payload is a segment's bytes), so per direction the messages received, in order, must be the
 * bytes that crossed the wire, in order, exactly once; and each message is stamped within 1 ms of a
 * segment of its direction. Two captures of the same packet may be stamped a few µs apart.
 */
function expectExactlyOnce(wire: Wire[], got: Received[], captureId: number) {
  const key = (src: string, sport: number, dst: string, dport: number) => `${src}:${sport}>${dst}:${dport}`
  for (const g of got) expect(g.captureId).toBe(captureId)
  const usOf = (g: Received) => g.timeSeconds * 1e6 + g.timeUseconds
  const tcpEnds = new Set(wire.filter((w) => w.tcp).map((w) => key(w.src, w.sport, w.dst, w.dport)))
  const udpGot = got.filter((g) => !tcpEnds.has(key(g.srcIp, g.srcPort, g.dstIp, g.dstPort)))
  const used = new Set<Received>()
  const missing: string[] = []
  for (const w of wire.filter((x) => !x.tcp)) {
    const ends = key(w.src, w.sport, w.dst, w.dport)
    const m = udpGot.find(
      (g) =>
        !used.has(g) &&
        key(g.srcIp, g.srcPort, g.dstIp, g.dstPort) === ends &&
        Math.abs(usOf(g) - w.us) <= 1000 &&
        g.payload === w.payload,
    )
    if (m) used.add(m)
    else missing.push(`${ends} ${w.us} ${w.payload.slice(0, 40)}`)
  }
  const extra = udpGot.filter((g) => !used.has(g)).map((g) => `${g.srcPort}>${g.dstPort} ${usOf(g)}`)
  expect({ missing, extra }, 'UDP: wire frames without their HEP; HEP of no wire frame (or twice)').toEqual({
    missing: [],
    extra: [],
  })
  for (const ends of tcpEnds) {
    const segs = wire.filter((w) => w.tcp && key(w.src, w.sport, w.dst, w.dport) === ends)
    const msgs = got.filter((g) => key(g.srcIp, g.srcPort, g.dstIp, g.dstPort) === ends)
    expect(msgs.map((g) => g.payload).join(''), `TCP ${ends}: the messages are the bytes on the wire`).toBe(
      segs.map((w) => w.payload).join(''),
    )
    const unstamped = msgs.filter((g) => !segs.some((w) => Math.abs(usOf(g) - w.us) <= 1000))
    expect(
      unstamped.map((g) => `${usOf(g)} ${g.payload.slice(0, 40)}`),
      `TCP ${ends}: stamped as a segment`,
    ).toEqual([])
  }
}

describe.skipIf(Boolean(problem))(
  'hep capture on a veth, sipp calls, tshark as the oracle',
  { timeout: 60_000 },
  () => {
    it('UDP and TCP calls: every SIP message tshark sees reaches hep listen (across the captured interface) exactly once', async () => {
      const n = net as Netns
      const dir = peers.dir('listen')
      const port = 9060
      const [cmd, args] = inNs(n, process.execPath, [
        BIN,
        'listen',
        '--udp',
        `${n.thereIp}:${port}`,
        '--json',
      ])
      const listen = peers.start('hep listen', cmd, args, { env: { NODE_ENV: 'production' } })
      await listen.waitLog(/listening on udp/)
      const hepArgs = ['--to', `${n.thereIp}:${port}`, '--capture-id', '2002']
      const udp = await calls(n, dir, 'u1', 10, hepArgs)
      const tcp = await calls(n, dir, 't1', 10, hepArgs)
      await sleep(200)
      await listen.stop('SIGINT')
      const got = jsonLines<Received>(listen.stdout())
      const wire = [...udp.wire, ...tcp.wire]
      expect(udp.wire.length, 'sipp made 10 UDP calls of 6 messages').toBe(60)
      expect(tcp.wire.length).toBeGreaterThanOrEqual(60)
      expectExactlyOnce(wire, got, 2002)
      // over UDP every frame captured was a SIP message: none was our own HEP (which crossed the same
      // interface to hep listen) — the filter left it out
      expect(udp.capture.stderr()).toMatch(new RegExp(`frames captured\\s*│\\s*${udp.wire.length}\\s`))
      // the summary counts what was sent, and nothing was lost
      for (const c of [udp.capture, tcp.capture]) {
        const sent = Number(/sent\s*│\s*(\d+)/.exec(c.stderr())?.[1])
        expect(sent).toBeGreaterThan(0)
        expect(c.stderr()).toMatch(/failed\s*│\s*0/)
        expect(c.stderr()).toMatch(/kernel drops\s*│\s*0/)
      }
    })

    it('into Kamailio sipcapture: every message tshark sees is stored', async () => {
      const n = net as Netns
      const dir = peers.dir('kamailio')
      const rx = await startSipcapture(peers, dir, { node: 'hep-capture' })
      const udp = await calls(n, dir, 'u1', 5, ['--to', `127.0.0.1:${rx.port}`, '--capture-id', '7'])
      const want = udp.wire.length
      await rx.settle(() => rx.logged() >= want, 10_000)
      const rows = rx.rows<{
        source_ip: string
        source_port: number
        destination_ip: string
        destination_port: number
        micro_ts: number
        node: string
        msg: string
      }>(
        'select source_ip, source_port, destination_ip, destination_port, micro_ts, node, msg from sip_capture order by id',
      )
      const k = (s: string, sp: number, d: string, dp: number, m: string) => `${s}:${sp}>${d}:${dp} ${m}`
      expect(
        rows.map((r) => k(r.source_ip, r.source_port, r.destination_ip, r.destination_port, r.msg)).sort(),
      ).toEqual(udp.wire.map((w) => k(w.src, w.sport, w.dst, w.dport, w.payload)).sort())
      // Kamailio stores the HEP time: the capture's, within 1 ms of the oracle's own stamp
      for (const w of udp.wire) {
        const r = rows.find((x) => x.msg === w.payload && x.source_port === w.sport)
        expect(Math.abs(r!.micro_ts - w.us)).toBeLessThanOrEqual(1000)
      }
      for (const r of rows) expect(r.node).toBe('hep-capture:7')
    })
  },
)
