/**
 * `hep replay CAPTURE --rtcp correlated` -> a REAL HEP receiver: Kamailio 5.6 sipcapture, which
 * stores each RTCP report (HEP payload type 5) with the correlation id it carries. The captures are
 * real linphone and baresip calls (fixtures/rtcp/, see its README); the oracle is tshark's decode of them
 * (fixtures/rtcp/*.oracle.json): every RTCP packet tshark decodes on a call's media endpoints must be
 * stored by Kamailio exactly once, under the call's Call-ID, with its addresses, ports and time.
 *
 * Two stores, both Kamailio's own (kamailio/sipcapture-receiver.cfg):
 * - the backend's default HEPv3 path (receive_logging_json_msg) puts a type-5 packet into the table
 *   rtcp_capture, addresses, ports and time from the HEP header, and refuses one without a
 *   correlation id ("no correlation id defined"), as heplify-server does;
 * - the frontend calls report_capture("report_capture", "$hep(0x011)", "$hep(0x00f)") for each
 *   type-5 packet: the report JSON into the table report_capture under its correlation id.
 */
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { hep } from '../helpers/cli.js'
import { ORACLES, RTCP_DIR } from '../helpers/rtcp-oracle.js'
import { startSipcapture } from './kamailio.js'
import { failIfMissing, jsonLines, kamailioConfigProblem, peerGate, Peers } from './peers.js'

const gate = peerGate(
  'hep replay --rtcp -> Kamailio sipcapture',
  ['kamailio', 'sqlite3'],
  () => kamailioConfigProblem('sipcapture-receiver.cfg', 'ROLE_BACKEND'),
  () => kamailioConfigProblem('sipcapture-receiver.cfg', 'ROLE_FRONTEND'),
)

const NODE = 'hep-rtcp'
const CAPTURE_ID = 2323

interface Sent {
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

interface Row {
  micro_ts: number
  correlation_id: string
  source_ip: string
  source_port: number
  destination_ip: string
  destination_port: number
  proto: number
  family: number
  type: number
  node: string
  msg: string
}

const peers = new Peers()
afterAll(() => peers.stopAll())

/** The frontend/backend pair on fresh ports with empty databases (WAL: rows are counted while it stores). */
async function startReceiver(dir: string) {
  const rx = await startSipcapture(peers, dir, { node: NODE, wal: true })
  const received = (ptype: number) =>
    (rx.frontend.log().match(new RegExp(`HEPRECV v=3 .* ptype=${ptype} `, 'g')) ?? []).length
  const count = (which: 'backend' | 'frontend', table: string) =>
    rx.rows<{ n: number }>(`select count(*) as n from ${table}`, which)[0].n
  /**
   * Waits until all `want` rows are stored (the backend writes a report some time after the
   * frontend relayed it; on a busy machine that can be seconds), and a little more for anything
   * extra, stops both and returns the rows of the three tables.
   */
  const rows = async (want: { reports: number; sip: number }, timeoutMs = 20_000) => {
    const done = () =>
      count('backend', 'rtcp_capture') >= want.reports &&
      count('frontend', 'report_capture') >= want.reports &&
      count('backend', 'sip_capture') >= want.sip
    await rx.settle(done, timeoutMs, 100)
    const cols =
      'micro_ts, correlation_id, source_ip, source_port, destination_ip, destination_port, proto, family, type, node, msg'
    return {
      rtcp: rx.rows<Row>(`select ${cols} from rtcp_capture order by id`),
      report: rx.rows<Row>(`select ${cols} from report_capture order by id`, 'frontend'),
      sip: rx.rows<{ callid: string; correlation_id: string }>(
        'select callid, correlation_id from sip_capture',
      ),
      seen: { reports: received(5), sip: received(1) },
    }
  }
  return { port: rx.port, rows }
}

const key = (ip: string, port: number, ip2: string, port2: number, us: number) =>
  `${ip}:${port}>${ip2}:${port2}@${us}`

failIfMissing(gate, 'Kamailio and sqlite3 are installed')

describe.skipIf(!gate.ok)(
  'hep replay --rtcp correlated -> Kamailio sipcapture: every RTCP report stored under its Call-ID',
  { timeout: 60_000 },
  () => {
    it('every report of the seven real calls is stored once, with the Call-ID, addresses, ports and time', async () => {
      peers.watch('rtcp')
      const rx = await startReceiver(peers.dir('rtcp'))
      expect(ORACLES.map((o) => o.rtcp.length).reduce((a, b) => a + b)).toBeGreaterThan(50)
      const opts = ['--capture-id', String(CAPTURE_ID)]
      const inputs = ORACLES.map((o) => join(RTCP_DIR, o.file))
      // what replay sends (its dry run): SIP and the reports
      const dry = await Promise.all(
        inputs.map((input) => hep(['replay', input, '--dry-run', '--json', ...opts, '--rtcp', 'correlated'])),
      )
      for (const d of dry) expect(d.code, d.stderr).toBe(0)
      const sent = dry.flatMap((d) => jsonLines<Sent>(d.stdout))
      // the seven calls, and once more the first with --rtcp off: its SIP again, no reports
      const sends = await Promise.all([
        ...inputs.map((input) =>
          hep([
            'replay',
            input,
            '--to',
            `127.0.0.1:${rx.port}`,
            ...opts,
            '--rtcp',
            'correlated',
            '--max-gap',
            '0.02',
          ]),
        ),
        hep([
          'replay',
          inputs[0],
          '--to',
          `127.0.0.1:${rx.port}`,
          ...opts,
          '--rtcp',
          'off',
          '--max-gap',
          '0.02',
        ]),
      ])
      for (const r of sends) expect(r.code, r.stderr).toBe(0)
      const reports = sent.filter((s) => s.payloadType === 5)
      const sipSent = ORACLES.reduce((n, o) => n + o.sip.length, 0)
      const sipCount = sipSent + ORACLES[0].sip.length
      const oracleReports = ORACLES.flatMap((o) => o.rtcp)
      expect(reports).toHaveLength(oracleReports.length)
      expect(sent.filter((s) => s.payloadType === 1)).toHaveLength(sipSent)

      const got = await rx.rows({ reports: reports.length, sip: sipCount })
      expect(got.seen).toEqual({ reports: reports.length, sip: sipCount })
      expect(got.rtcp).toHaveLength(oracleReports.length)
      expect(got.report).toHaveLength(oracleReports.length)
      expect(got.sip).toHaveLength(sipCount)

      const stored = new Map(
        got.rtcp.map((r) => [
          key(r.source_ip, r.source_port, r.destination_ip, r.destination_port, r.micro_ts),
          r,
        ]),
      )
      const sentBy = new Map(
        reports.map((s) => [
          key(s.srcIp, s.srcPort, s.dstIp, s.dstPort, s.timeSeconds * 1e6 + s.timeUseconds),
          s,
        ]),
      )
      for (const o of oracleReports) {
        const k = key(o.src, o.srcPort, o.dst, o.dstPort, o.time.seconds * 1e6 + o.time.useconds)
        const row = stored.get(k)
        expect(row, `a row for RTCP frame ${o.frame} (${k})`).toBeDefined()
        expect(row).toMatchObject({
          correlation_id: o['sip.Call-ID'],
          family: o.family === 6 ? 10 : 2,
          proto: 1, // Kamailio's numbering: UDP
          type: 3, // sipcapture's type for HEP payload type 5
          node: `${NODE}:${CAPTURE_ID}`,
        })
        // the stored report is the JSON hep sent for that packet, and names the packet's sender SSRC
        const s = sentBy.get(k)
        expect(s, `hep sent frame ${o.frame}`).toBeDefined()
        expect(JSON.parse(row!.msg)).toEqual(JSON.parse(s!.payload))
        const first = o.packets[0]
        const ssrc = first['rtcp.senderssrc'] ?? first['rtcp.ssrc.identifier']
        expect((JSON.parse(row!.msg) as { ssrc: number }).ssrc).toBe(Array.isArray(ssrc) ? ssrc[0] : ssrc)
      }
      // report_capture(): the same reports under the same correlation ids
      const byCorr = (rows: { correlation_id: string; msg: string }[]) =>
        rows.map((r) => `${r.correlation_id} ${JSON.stringify(JSON.parse(r.msg))}`).sort()
      expect(byCorr(got.report)).toEqual(byCorr(got.rtcp))
      expect(new Set(got.rtcp.map((r) => r.correlation_id))).toEqual(new Set(ORACLES.flatMap((o) => o.calls)))
    })
  },
)
