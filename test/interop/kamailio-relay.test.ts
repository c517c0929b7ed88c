/**
 * `hep listen --to` between two REAL peers: a UDP-only HEP sender (Kamailio 5.6 siptrace proxying
 * sipp calls, HEPv2 over UDP as old agents send) -> `hep listen --udp … --to tcp://…` -> Kamailio
 * sipcapture over TCP (the frontend/backend pair of kamailio/sipcapture-receiver.cfg, rows in
 * sqlite). The relay turns the HEPv2 datagrams into HEP3 on the TCP stream (a stream frames HEP3
 * only); every SIP message sipp logged (13 per call, both legs) must be stored, once, with its
 * addresses, ports, capture id and bytes.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { siptraceCalls, startSipcapture } from './kamailio.js'
import { failIfMissing, kamailioConfigProblem, peerGate, Peers, sipKey } from './peers.js'

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

failIfMissing(gate, 'Kamailio, sipp and sqlite3 are installed')

describe.skipIf(!gate.ok)(
  'Kamailio siptrace (UDP) -> hep listen --to tcp:// -> Kamailio sipcapture',
  { timeout: 60_000 },
  () => {
    it('every message sipp logged is stored once, with its ports, capture id and bytes', async () => {
      peers.watch('relay')
      const dir = peers.dir('relay')
      const calls = 2
      const expected = 13 * calls
      const captureId = 2000 + Math.floor(Math.random() * 60000)

      // the receiver: sipcapture frontend (TCP) -> backend -> sqlite
      const rx = await startSipcapture(peers, dir, { node: NODE, tcp: true })
      const capPort = rx.port

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
      const sender = await siptraceCalls(peers, dir, {
        sipIp: '127.0.0.1',
        hepVersion: 2,
        hepUri: `sip:127.0.0.1:${hepPort}`,
        captureId,
        calls,
      })
      expect(sender.uacExit, 'sipp uac: every call succeeds').toBe(0)

      // the relay stops by itself after --count packets, its TCP connection closed cleanly
      expect(await relay.wait(15_000), relay.stderr()).toBe(0)
      expect(relay.stderr()).toMatch(
        new RegExp(
          `relayed to tcp://127\\.0\\.0\\.1:${capPort}: ${expected} packets: ${expected} sent, 0 failed, 0 dropped`,
        ),
      )
      await sender.stop()

      // sqlite is read once the backend stopped (db_sqlite sets no busy timeout)
      await rx.settle(() => rx.logged() >= expected, 10_000)
      expect(
        (rx.frontend.log().match(/HEPRECV v=3 from=\S+\/tcp/g) ?? []).length,
        'HEP3 over TCP at the frontend',
      ).toBe(expected)
      const rows = rx.rows<Row>(
        'select source_port, destination_port, node, msg from sip_capture order by id',
      )

      const wire = sender.wire()
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
