/**
 * `hep listen --to` between two REAL peers: a UDP-only HEP sender (Kamailio 5.6 siptrace proxying
 * sipp calls, HEPv2 over UDP as old agents send) -> `hep listen --udp … --to tcp://…` -> Kamailio
 * sipcapture over TCP (the frontend/backend pair of kamailio/sipcapture-receiver.cfg, rows in
 * sqlite). The relay turns the HEPv2 datagrams into HEP3 on the TCP stream (a stream frames HEP3
 * only); every SIP message sipp logged (13 per call, both legs) must be stored, once, with its
 * addresses, ports, capture id and bytes.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it, onTestFailed } from 'vitest'
import {
  freePort,
  KAMAILIO_DIR,
  kamailioArgs,
  kamailioConfigProblem,
  peerGate,
  Peers,
  readSippMessages,
  sipKey,
  sleep,
  sqliteExec,
  sqliteJson,
  waitBound,
} from './peers.js'

const gate = peerGate(
  'Kamailio siptrace -> hep listen --to -> Kamailio sipcapture',
  ['kamailio', 'sipp', 'sqlite3'],
  () => kamailioConfigProblem('siptrace-proxy.cfg'),
  () => kamailioConfigProblem('sipcapture-receiver.cfg', 'ROLE_BACKEND'),
  () => kamailioConfigProblem('sipcapture-receiver.cfg', 'ROLE_FRONTEND'),
)

const NODE = 'hep-relay'
const peers = new Peers()
afterAll(() => peers.stopAll())

interface Row {
  source_port: number
  destination_port: number
  node: string
  msg: string
}

if (gate.failure) {
  it('Kamailio, sipp and sqlite3 are installed', () => {
    throw new Error(gate.failure)
  })
}

describe.skipIf(!gate.ok)(
  'Kamailio siptrace (UDP) -> hep listen --to tcp:// -> Kamailio sipcapture',
  { timeout: 60_000 },
  () => {
    it('every message sipp logged is stored once, with its ports, capture id and bytes', async () => {
      const from = peers.mark()
      onTestFailed(() => console.error(`\n=== relay: peer logs\n${peers.report(from)}`))
      const dir = peers.dir('relay')
      const calls = 2
      const expected = 13 * calls
      const captureId = 2000 + Math.floor(Math.random() * 60000)

      // the receiver: sipcapture frontend (TCP) -> backend -> sqlite
      const schema = readFileSync(join(KAMAILIO_DIR, 'sip_capture.sql'), 'utf8')
      const db = join(dir, 'hep.sqlite')
      const frontDb = join(dir, 'frontend.sqlite')
      sqliteExec(db, schema)
      sqliteExec(frontDb, schema)
      const [capPort, backendPort] = [freePort(), freePort()]
      mkdirSync(join(dir, 'backend'))
      mkdirSync(join(dir, 'frontend'))
      const backend = peers.start(
        'kamailio sipcapture backend',
        'kamailio',
        kamailioArgs(
          'sipcapture-receiver.cfg',
          join(dir, 'backend'),
          [`udp:127.0.0.1:${backendPort}`],
          ['ROLE_BACKEND', `DBURL="sqlite:///${db}"`, `CAPTURE_NODE="${NODE}"`],
        ),
      )
      const frontend = peers.start(
        'kamailio sipcapture frontend',
        'kamailio',
        kamailioArgs(
          'sipcapture-receiver.cfg',
          join(dir, 'frontend'),
          [`udp:127.0.0.1:${capPort}`, `tcp:127.0.0.1:${capPort}`],
          ['ROLE_FRONTEND', `BACKEND="sip:127.0.0.1:${backendPort}"`, `DBURL="sqlite:///${frontDb}"`],
        ),
      )
      await waitBound('udp', backendPort, backend)
      await waitBound('tcp', capPort, frontend)

      // the relay: UDP in, TCP out
      const relay = peers.hep('hep listen --to', [
        ...[
          'listen',
          '--udp',
          '127.0.0.1:0',
          '--to',
          `tcp://127.0.0.1:${capPort}`,
          '--count',
          String(expected),
        ],
      ])
      const hepPort = Number((await relay.waitLog(/listening on udp \S+:(\d+)/))[1])
      await relay.waitLog(/relaying to tcp:/)

      // the sender: Kamailio siptrace between two sipp, HEPv2 over UDP to the relay
      const [kam, uas, uac] = [freePort(), freePort(), freePort()]
      const kamailio = peers.start(
        'kamailio siptrace',
        'kamailio',
        kamailioArgs(
          'siptrace-proxy.cfg',
          dir,
          [`udp:127.0.0.1:${kam}`, `tcp:127.0.0.1:${kam}`],
          [
            'HEP_VERSION=2',
            `HEP_DST="sip:127.0.0.1:${hepPort}"`,
            `HEP_CAPTURE_ID=${captureId}`,
            `UAS_URI="sip:127.0.0.1:${uas}"`,
          ],
        ),
      )
      await waitBound('udp', kam, kamailio)
      const uasTrace = join(dir, 'uas-messages.log')
      const uacTrace = join(dir, 'uac-messages.log')
      const sippUas = peers.start('sipp uas', 'sipp', [
        ...[
          '-sn',
          'uas',
          '-i',
          '127.0.0.1',
          '-p',
          String(uas),
          '-nostdin',
          '-trace_msg',
          '-message_file',
          uasTrace,
        ],
      ])
      await waitBound('udp', uas, sippUas)
      const sippUac = peers.start('sipp uac', 'sipp', [
        ...['-sn', 'uac', `127.0.0.1:${kam}`, '-i', '127.0.0.1', '-p', String(uac), '-nostdin'],
        ...['-m', String(calls), '-r', '10', '-timeout', '20', '-max_retrans', '3'],
        ...['-trace_msg', '-message_file', uacTrace],
      ])
      expect(await sippUac.wait(25_000), 'sipp uac: every call succeeds').toBe(0)

      // the relay stops by itself after --count packets, its TCP connection closed cleanly
      expect(await relay.wait(15_000), relay.stderr()).toBe(0)
      expect(relay.stderr()).toMatch(
        new RegExp(
          `relayed to tcp://127\\.0\\.0\\.1:${capPort}: ${expected} packets: ${expected} sent, 0 failed, 0 dropped`,
        ),
      )
      await sippUas.stop()
      await kamailio.stop()

      // sqlite is read once the backend stopped (db_sqlite sets no busy timeout)
      const logged = () => (backend.log().match(/HEPSIP /g) ?? []).length
      for (let end = Date.now() + 10_000; logged() < expected && Date.now() < end;) await sleep(50)
      await sleep(300)
      await frontend.stop()
      await backend.stop()
      expect(
        (frontend.log().match(/HEPRECV v=3 from=\S+\/tcp/g) ?? []).length,
        'HEP3 over TCP at the frontend',
      ).toBe(expected)
      const rows = sqliteJson<Row>(
        db,
        'select source_port, destination_port, node, msg from sip_capture order by id',
      )

      const wire = [
        ...readSippMessages(uacTrace).map((m) => ({
          ...m,
          src: m.dir === 'sent' ? uac : kam,
          dst: m.dir === 'sent' ? kam : uac,
        })),
        ...readSippMessages(uasTrace).map((m) => ({
          ...m,
          src: m.dir === 'sent' ? uas : kam,
          dst: m.dir === 'sent' ? kam : uas,
        })),
      ]
      expect(wire).toHaveLength(expected)
      expect(rows.map((r) => `${r.source_port} -> ${r.destination_port} ${sipKey(r.msg)}`).sort()).toEqual(
        wire.map((w) => `${w.src} -> ${w.dst} ${sipKey(w.payload)}`).sort(),
      )
      expect(rows.map((r) => `${r.source_port}>${r.destination_port}\n${r.msg}`).sort()).toEqual(
        wire.map((w) => `${w.src}>${w.dst}\n${w.payload}`).sort(),
      )
      for (const r of rows) expect(r.node).toBe(`${NODE}:${captureId}`)
    })
  },
)
