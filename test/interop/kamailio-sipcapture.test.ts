/**
 * `hep send` -> a REAL HEP receiver: Kamailio 5.6 sipcapture, which decodes HEP v1/v2/v3 and stores
 * each SIP message as a row of its sqlite table sip_capture (Homer schema). Two Kamailio processes
 * from kamailio/sipcapture-receiver.cfg: the frontend takes UDP and TCP (HEP3 framing) where we
 * send and relays each packet untouched to the backend, which decodes and stores it (see the config
 * for why). The oracle is what we sent (`hep decode --json` of the input, with the options
 * applied); the stored rows must carry exactly those addresses, ports, times, capture ids,
 * correlation ids and messages.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BIN, fixture, hep } from '../helpers/cli.js'
import { startSipcapture } from './kamailio.js'
import {
  failIfMissing,
  jsonLines,
  kamailioConfigProblem,
  peerGate,
  Peers,
  sipSummary,
  sleep,
} from './peers.js'

const gate = peerGate(
  'hep send -> Kamailio sipcapture',
  ['kamailio', 'sqlite3'],
  () => kamailioConfigProblem('sipcapture-receiver.cfg', 'ROLE_BACKEND'),
  () => kamailioConfigProblem('sipcapture-receiver.cfg', 'ROLE_FRONTEND'),
)

const NODE = 'hep-interop'

interface Sent {
  version: number
  srcIp: string
  srcPort: number
  dstIp: string
  dstPort: number
  protocolFamily: number
  timeSeconds?: number
  timeUseconds?: number
  captureId?: number
  correlationId?: string
  payload: string
}

interface Row {
  micro_ts: number
  method: string
  reply_reason: string
  source_ip: string
  source_port: number
  destination_ip: string
  destination_port: number
  proto: number
  family: number
  node: string
  correlation_id: string
  callid: string
  cseq: string
  msg: string
}

const peers = new Peers()
afterAll(() => peers.stopAll())

/** The frontend (UDP and TCP)/backend pair on fresh ports with an empty database. */
async function startReceiver(dir: string) {
  const rx = await startSipcapture(peers, dir, { node: NODE, tcp: true })
  /**
   * waits for `n` messages (and no more: the backend logs each just before its row), stops both
   * processes, returns the stored rows
   */
  const rows = async (n: number, timeoutMs = 15_000): Promise<Row[]> => {
    await rx.settle(() => rx.logged() >= n, timeoutMs)
    const all = rx.rows<Row>(
      'select micro_ts, method, reply_reason, source_ip, source_port, destination_ip, destination_port, proto, family, node, correlation_id, callid, cseq, msg from sip_capture order by id',
    )
    if (all.length !== n)
      throw new Error(
        `Kamailio stored ${all.length} rows, expected ${n}; frontend saw ${(rx.frontend.log().match(/HEPRECV /g) ?? []).length} HEP packets, backend decoded ${rx.logged()} SIP messages`,
      )
    return all
  }
  return { port: rx.port, rows, frontend: rx.frontend }
}

/** what `hep decode --json FILE` says the file holds */
async function decoded(file: string): Promise<Sent[]> {
  const r = await hep(['decode', file, '--json'])
  expect(r.code, r.stderr).toBe(0)
  return jsonLines<Sent>(r.stdout)
}

/**
 * Each sent packet has exactly one stored row with its fields: matched by addresses + message,
 * then compared column by column.
 */
function expectRows(
  rows: Row[],
  sent: Sent[],
  want: { version: number; captureId?: number; correlationId?: string; window?: [number, number] },
): void {
  const key = (src: string, sport: number, dst: string, dport: number, msg: string) =>
    `${src}:${sport} -> ${dst}:${dport} ${sipSummary(msg).first} ${sipSummary(msg).callId} ${sipSummary(msg).cseq}`
  // readable first: the same messages between the same endpoints
  expect(
    rows.map((r) => key(r.source_ip, r.source_port, r.destination_ip, r.destination_port, r.msg)).sort(),
  ).toEqual(sent.map((s) => key(s.srcIp, s.srcPort, s.dstIp, s.dstPort, s.payload)).sort())
  const byKey = new Map(
    rows.map((r) => [`${r.source_ip}:${r.source_port}>${r.destination_port}\n${r.msg}`, r]),
  )
  for (const s of sent) {
    const r = byKey.get(`${s.srcIp}:${s.srcPort}>${s.dstPort}\n${s.payload}`)
    expect(
      r,
      `a row with the exact message ${sipSummary(s.payload).first} ${s.srcPort}->${s.dstPort}`,
    ).toBeDefined()
    const sip = sipSummary(s.payload)
    const reply = /^\d{3}$/.test(sip.first)
    expect(r).toMatchObject({
      source_ip: s.srcIp,
      source_port: s.srcPort,
      destination_ip: s.dstIp,
      destination_port: s.dstPort,
      family: s.protocolFamily,
      proto: 1, // Kamailio's numbering: 1 = UDP (the SIP leg's transport, from the HEP header)
      method: sip.first,
      callid: sip.callId,
      cseq: sip.cseq,
      node: want.version === 1 ? NODE : `${NODE}:${want.captureId}`,
      correlation_id: want.correlationId ?? sip.callId,
      msg: s.payload,
    })
    if (reply) expect(r!.reply_reason).not.toBe('')
    if (want.version === 1) {
      // HEPv1 has no time: Kamailio stores the arrival time
      expect(r!.micro_ts / 1000).toBeGreaterThan(want.window![0] - 1000)
      expect(r!.micro_ts / 1000).toBeLessThan(want.window![1] + 1000)
    } else {
      expect(r!.micro_ts, 'micro_ts = HEP seconds * 1e6 + microseconds').toBe(
        s.timeSeconds! * 1_000_000 + s.timeUseconds!,
      )
    }
  }
}

failIfMissing(gate, 'Kamailio and sqlite3 are installed')

describe.skipIf(!gate.ok)(
  'hep send -> Kamailio sipcapture (real HEP receiver), rows in sqlite',
  { timeout: 60_000 },
  () => {
    const watch = (name: string) => peers.watch(name)

    it('HEPv1 over UDP (Kamailio capture re-encoded by hep send --version 1): every packet stored', async () => {
      watch('v1')
      const rx = await startReceiver(peers.dir('v1'))
      const input = fixture('hep/hep-v3.hex')
      const t0 = Date.now()
      const s = await hep(['send', input, '--to', `127.0.0.1:${rx.port}`, '--version', '1'])
      expect(s.code, s.stderr).toBe(0)
      expect(s.stderr).toContain('39 packets: 39 sent, 0 failed, 0 dropped')
      const rows = await rx.rows(39)
      expectRows(rows, await decoded(input), { version: 1, window: [t0, Date.now()] })
      expect(rx.frontend.log().match(/HEPRECV v=1 from=127\.0\.0\.1:\d+\/udp/g)).toHaveLength(39)
    })

    it('HEPv2 over UDP with --capture-id: times, addresses and the capture id stored', async () => {
      watch('v2')
      const rx = await startReceiver(peers.dir('v2'))
      const input = fixture('hep/hep-v3.hex')
      const captureId = 1000 + Math.floor(Math.random() * 60000)
      const s = await hep([
        'send',
        input,
        '--to',
        `udp://127.0.0.1:${rx.port}`,
        '--version',
        '2',
        '--capture-id',
        String(captureId),
      ])
      expect(s.code, s.stderr).toBe(0)
      expectRows(await rx.rows(39), await decoded(input), { version: 2, captureId })
      expect(rx.frontend.log().match(/HEPRECV v=2 /g)).toHaveLength(39)
    })

    it('HEPv3 over UDP from a SIP capture (hep convert pcap -> jsonl -> hep send) with a correlation id', async () => {
      watch('v3')
      const dir = peers.dir('v3')
      const rx = await startReceiver(dir)
      const jsonl = join(dir, 'calls.jsonl')
      const c = await hep(['convert', fixture('captures/sip-udp.pcap'), jsonl, '-q'])
      expect(c.code, c.stderr).toBe(0)
      const captureId = 100_000 + Math.floor(Math.random() * 1_000_000) // more than 16 bits: v3 only
      const corr = `interop-${captureId}`
      const s = await hep([
        ...['send', jsonl, '--to', `127.0.0.1:${rx.port}`],
        ...['--capture-id', String(captureId), '--correlation-id', corr],
      ])
      expect(s.code, s.stderr).toBe(0)
      const sent = await decoded(jsonl)
      expect(sent).toHaveLength(18)
      expectRows(await rx.rows(18), sent, { version: 3, captureId, correlationId: corr })
      // the raw chunks as Kamailio's $hep() read them
      const chunkLines = rx.frontend.log().match(/HEPRECV v=3 .*/g) ?? []
      expect(chunkLines).toHaveLength(18)
      for (const l of chunkLines) expect(l).toContain(`capid=${captureId} authkey=[] corr=[${corr}]`)
    })

    it('HEPv3 with IPv6 addresses (chunks 5/6) over UDP', async () => {
      watch('v3-ipv6')
      const rx = await startReceiver(peers.dir('v3-ipv6'))
      const input = fixture('hep/hep-v3-ipv6.hex')
      const s = await hep(['send', input, '--to', `127.0.0.1:${rx.port}`, '--capture-id', '4242'])
      expect(s.code, s.stderr).toBe(0)
      const sent = await decoded(input)
      expect(sent[0]).toMatchObject({ srcIp: '::1', protocolFamily: 10 })
      expectRows(await rx.rows(39), sent, { version: 3, captureId: 4242 })
    })

    it('HEPv3 over TCP: the HEP packets of a capture (hep send FILE.pcap --to tcp://)', async () => {
      watch('v3-tcp')
      const rx = await startReceiver(peers.dir('v3-tcp'))
      const input = fixture('captures/hep-v3-tcp.pcap')
      const s = await hep(['send', input, '--to', `tcp://127.0.0.1:${rx.port}`])
      expect(s.code, s.stderr).toBe(0)
      expect(s.stderr).toContain('39 packets: 39 sent, 0 failed, 0 dropped')
      const sent = await decoded(input)
      expect(sent).toHaveLength(39)
      expectRows(await rx.rows(39), sent, { version: 3, captureId: 2001 })
      const froms = new Set(rx.frontend.log().match(/HEPRECV v=3 from=\S+\/tcp/g))
      expect(froms.size, 'one TCP connection, 39 packets on it').toBe(1)
      expect(rx.frontend.log().match(/HEPRECV v=3 from=\S+\/tcp/g)).toHaveLength(39)
    })

    it.each([1, 2, 3])(
      'hep replay of a SIP capture as HEPv%i: every message stored exactly once, with its capture time',
      async (v) => {
        watch(`replay-v${v}`)
        const rx = await startReceiver(peers.dir(`replay-v${v}`))
        const captureId = 3000 + v
        const input = fixture('captures/sip-udp.pcapng')
        const opts = ['--version', String(v), '--capture-id', String(captureId)]
        const t0 = Date.now()
        const r = await hep(['replay', input, '--to', `127.0.0.1:${rx.port}`, ...opts, '--max-gap', '0.05'])
        expect(r.code, r.stderr).toBe(0)
        const t1 = Date.now()
        // the oracle: what replay says it sends (its dry run), which the receiver must have stored
        const dry = await hep(['replay', input, '--dry-run', '--json', ...opts])
        const sent = jsonLines<Sent>(dry.stdout)
        expect(sent).toHaveLength(18)
        expectRows(await rx.rows(18), sent, { version: v, captureId, window: [t0, t1] })
      },
    )

    it('the pipeline hep listen --json | hep send --version 3 --to tcp:// turns HEPv2 into stored HEPv3 rows', async () => {
      watch('pipeline')
      const dir = peers.dir('pipeline')
      const rx = await startReceiver(dir)
      const errFile = join(dir, 'listen.err')
      const sendErr = join(dir, 'send.err')
      writeFileSync(errFile, '')
      const pipe = peers.start('listen | send', 'sh', [
        '-c',
        `"${process.execPath}" "${BIN}" listen --udp 127.0.0.1:0 --json --count 39 2>"${errFile}" | ` +
          `"${process.execPath}" "${BIN}" send --to tcp://127.0.0.1:${rx.port} --version 3 2>"${sendErr}"`,
      ])
      let udpPort = 0
      for (let i = 0; i < 200 && !udpPort; i++) {
        const m = /listening on udp \S+:(\d+)/.exec(readFileSync(errFile, 'utf8'))
        if (m) udpPort = Number(m[1])
        else await sleep(25)
      }
      expect(udpPort, `listen did not start: ${readFileSync(errFile, 'utf8')}`).toBeGreaterThan(0)
      const input = fixture('hep/hep-v2.hex')
      const s = await hep(['send', input, '--to', `127.0.0.1:${udpPort}`])
      expect(s.code, s.stderr).toBe(0)
      expect(await pipe.wait(20_000), readFileSync(sendErr, 'utf8')).toBe(0)
      expect(readFileSync(sendErr, 'utf8')).toContain('39 packets: 39 sent, 0 failed, 0 dropped')
      const sent = await decoded(input)
      expect(sent[0].version).toBe(2)
      expectRows(await rx.rows(39), sent, { version: 3, captureId: 2001 })
      expect(rx.frontend.log().match(/HEPRECV v=3 from=\S+\/tcp/g), 'HEPv3 over TCP').toHaveLength(39)
    })
  },
)
