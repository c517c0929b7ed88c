/**
 * RTCP through `hep capture` from a real media stack: a sipp call across a veth pair into a
 * namespace the test makes, its SDP offer and answer naming the media ports (fixtures/sipp/sdp-*.xml),
 * and GStreamer (rtpsession, RFC 3550 RTCP on RTP port + 1) sending PCMU RTP with sender reports from
 * our end to the answer's port, the far end answering with receiver reports to the offer's RTCP
 * port. `hep capture -i <veth> --rtcp correlated` sends to `hep listen` inside the namespace; tshark
 * reads the same interface (dumpcap alongside). Every RTCP packet tshark sees arrives exactly once as
 * HEP type 5, with its addresses, ports and time, the call's Call-ID as correlation id, and its report
 * (SSRC, packet type) as tshark decoded it.
 */
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, fixture } from '../helpers/cli.js'
import { jsonLines, Peers, sleep } from '../interop/peers.js'
import { inNs, makeNetns, netnsProblem, type Netns } from './netns.js'

const problem =
  netnsProblem() ??
  (spawnSync('sh', ['-c', 'command -v sipp && command -v tshark && command -v gst-launch-1.0']).status !== 0
    ? 'sipp, tshark and gst-launch-1.0 (gstreamer1.0-tools, gstreamer1.0-plugins-good) are needed'
    : spawnSync('gst-inspect-1.0', ['rtpsession']).status !== 0
      ? 'the GStreamer rtpsession element (gstreamer1.0-plugins-good) is needed'
      : undefined)
if (problem) console.warn(`skipping hep capture RTCP namespace test: ${problem}`)

const peers = new Peers()
let net: Netns | undefined
beforeAll(() => {
  if (!problem) net = makeNetns(4)
})
afterAll(async () => {
  await peers.stopAll()
  net?.remove()
})

/** the offer's (our end) and the answer's (inside) RTP ports; RTCP on each + 1 */
const OFFER_RTP = 30_000
const ANSWER_RTP = 40_000
const SIP_PORT = 5090
const HEP_PORT = 9080

interface WireRtcp {
  us: number
  src: string
  sport: number
  dst: string
  dport: number
  /** tshark's rtcp.pt and rtcp.senderssrc of the compound's first packet */
  pt: number
  ssrc: number
}

function tsharkRtcp(file: string): WireRtcp[] {
  const r = spawnSync(
    'tshark',
    [
      '-r',
      file,
      '-d',
      `udp.port==${OFFER_RTP + 1},rtcp`,
      '-d',
      `udp.port==${ANSWER_RTP + 1},rtcp`,
      '-Y',
      'rtcp',
      '-T',
      'fields',
      '-E',
      'separator=/t',
      '-E',
      'occurrence=f',
      '-e',
      'frame.time_epoch',
      '-e',
      'ip.src',
      '-e',
      'udp.srcport',
      '-e',
      'ip.dst',
      '-e',
      'udp.dstport',
      '-e',
      'rtcp.pt',
      '-e',
      'rtcp.senderssrc',
    ],
    { encoding: 'utf8' },
  )
  if (r.status !== 0) throw new Error(`tshark -r ${file}: ${r.stderr}`)
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [t, src, sport, dst, dport, pt, ssrc] = l.split('\t')
      const [sec, frac = ''] = t.split('.')
      return {
        us: Number(sec) * 1e6 + Number(frac.padEnd(9, '0').slice(0, 6)),
        src,
        sport: Number(sport),
        dst,
        dport: Number(dport),
        pt: Number(pt),
        ssrc: Number(ssrc),
      }
    })
}

interface Received {
  payloadType: number
  srcIp: string
  srcPort: number
  dstIp: string
  dstPort: number
  timeSeconds: number
  timeUseconds: number
  correlationId?: string
  payload: string
}

/** gst-launch-1.0 arguments: an RTP session with RTCP every half second (RFC 3550's 5 s minimum, shortened). */
const session = ['rtpsession', 'name=s', 'rtcp-min-interval=500000000']

describe.skipIf(Boolean(problem))('hep capture: RTCP of a real media stack', { timeout: 60_000 }, () => {
  it("every RTCP packet tshark sees arrives as HEP type 5 with the call's Call-ID", async () => {
    const n = net as Netns
    const dir = peers.dir('rtcp')
    const inf = join(dir, 'media.csv')
    writeFileSync(inf, `SEQUENTIAL\n${OFFER_RTP};${ANSWER_RTP};\n`)
    const [lc, la] = inNs(n, process.execPath, [BIN, 'listen', '--udp', `${n.thereIp}:${HEP_PORT}`, '--json'])
    const listen = peers.start('hep listen', lc, la, { env: { NODE_ENV: 'production' } })
    await listen.waitLog(/listening on udp/)
    const wire = join(dir, 'wire.pcapng')
    const oracle = peers.start('dumpcap (oracle)', 'dumpcap', [
      '-i',
      n.here,
      '-f',
      `udp port ${OFFER_RTP + 1} or udp port ${ANSWER_RTP + 1}`,
      '-w',
      wire,
    ])
    await oracle.waitLog(/Capturing on/)
    const cap = peers.start(
      'hep capture',
      process.execPath,
      [BIN, 'capture', '-i', n.here, '--to', `${n.thereIp}:${HEP_PORT}`, '--rtcp', 'correlated'],
      { env: { NODE_ENV: 'production' }, foreground: true },
    )
    await cap.waitLog(/capturing on/)
    const [uc, ua] = inNs(n, 'sipp', [
      '-sf',
      fixture('sipp/sdp-uas.xml'),
      '-inf',
      inf,
      '-i',
      n.thereIp,
      '-p',
      String(SIP_PORT),
      '-mi',
      n.thereIp,
      '-nostdin',
    ])
    const uas = peers.start('sipp uas', uc, ua)
    await sleep(300)
    const uac = peers.start('sipp uac', 'sipp', [
      '-sf',
      fixture('sipp/sdp-uac.xml'),
      '-inf',
      inf,
      `${n.thereIp}:${SIP_PORT}`,
      '-i',
      n.hereIp,
      '-mi',
      n.hereIp,
      '-p',
      String(SIP_PORT + 1),
      '-m',
      '1',
      '-d',
      '4000',
      '-nostdin',
      '-timeout',
      '20s',
    ])
    // the call is up (its 200 OK, with the answer's SDP, reached hep listen): media starts
    await listen.waitLog(/SIP\/2\.0 200 OK[^"]*INVITE/, 10_000)
    const [rc, ra] = inNs(n, 'gst-launch-1.0', [
      '-q',
      ...session,
      'udpsrc',
      `port=${ANSWER_RTP}`,
      'caps=application/x-rtp,media=audio,clock-rate=8000,encoding-name=PCMU,payload=0',
      '!',
      's.recv_rtp_sink',
      's.recv_rtp_src',
      '!',
      'rtppcmudepay',
      '!',
      'fakesink',
      'udpsrc',
      `port=${ANSWER_RTP + 1}`,
      '!',
      's.recv_rtcp_sink',
      's.send_rtcp_src',
      '!',
      'udpsink',
      `host=${n.hereIp}`,
      `port=${OFFER_RTP + 1}`,
      'sync=false',
      'async=false',
    ])
    const receiver = peers.start('gst receiver', rc, ra)
    await sleep(300)
    // PCMU in packets of 20 ms until enough reports went both ways (its end, an RTCP BYE, comes when
    // rtpsession's reconsideration decides: not waited for)
    const sender = peers.start('gst sender', 'gst-launch-1.0', [
      '-q',
      ...session,
      'audiotestsrc',
      'is-live=true',
      'samplesperbuffer=160',
      '!',
      'audio/x-raw,rate=8000,channels=1',
      '!',
      'mulawenc',
      '!',
      'rtppcmupay',
      '!',
      's.send_rtp_sink',
      's.send_rtp_src',
      '!',
      'udpsink',
      `host=${n.thereIp}`,
      `port=${ANSWER_RTP}`,
      's.send_rtcp_src',
      '!',
      'udpsink',
      `host=${n.thereIp}`,
      `port=${ANSWER_RTP + 1}`,
      'sync=false',
      'async=false',
    ])
    const reports = () => jsonLines<Received>(listen.stdout()).filter((p) => p.payloadType === 5)
    const enough = () => {
      const r = reports().map((p) => (JSON.parse(p.payload) as { type: number }).type)
      return r.filter((t) => t === 200).length >= 3 && r.filter((t) => t === 201).length >= 3
    }
    const end = Date.now() + 15_000
    while (!enough() && Date.now() < end) await sleep(50)
    await sender.stop('SIGINT')
    await receiver.stop('SIGINT')
    expect(await uac.wait(20_000), uac.tail()).toBe(0)
    await sleep(300)
    await oracle.stop('SIGINT')
    await uas.stop()
    expect(await cap.stop('SIGINT'), cap.tail()).toBe(0)
    await sleep(200)
    await listen.stop('SIGINT')

    const got = jsonLines<Received>(listen.stdout())
    const invite = got.find((p) => p.payloadType === 1 && p.payload.startsWith('INVITE '))
    const callId = /\r\nCall-ID:\s*(\S+)/i.exec(invite?.payload ?? '')?.[1]
    expect(callId, listen.tail()).toBeDefined()
    const rtcp = got.filter((p) => p.payloadType === 5)
    const onWire = tsharkRtcp(wire)
    // both directions, several reports each (a report every half second for 2.4 s)
    expect(onWire.filter((w) => w.pt === 200).length, 'sender reports on the wire').toBeGreaterThanOrEqual(3)
    expect(onWire.filter((w) => w.pt === 201).length, 'receiver reports on the wire').toBeGreaterThanOrEqual(
      2,
    )
    const unused = [...rtcp]
    const missing: string[] = []
    for (const w of onWire) {
      const i = unused.findIndex(
        (p) =>
          p.srcIp === w.src &&
          p.srcPort === w.sport &&
          p.dstIp === w.dst &&
          p.dstPort === w.dport &&
          Math.abs(p.timeSeconds * 1e6 + p.timeUseconds - w.us) <= 1000,
      )
      if (i < 0) {
        missing.push(`${w.src}:${w.sport} > ${w.dst}:${w.dport} ${w.us} pt ${w.pt}`)
        continue
      }
      const [p] = unused.splice(i, 1)
      expect(p.correlationId).toBe(callId)
      const report = JSON.parse(p.payload) as { type: number; ssrc: number }
      expect(report.type).toBe(w.pt)
      expect(report.ssrc).toBe(w.ssrc)
    }
    expect(missing, 'RTCP on the wire without its HEP').toEqual([])
    expect(unused, 'HEP type 5 of no RTCP on the wire (or twice)').toEqual([])
    expect(cap.stderr()).toMatch(
      new RegExp(`RTCP reports\\s*│\\s*${onWire.length} \\(of ${onWire.length} RTCP`),
    )
  })
})
