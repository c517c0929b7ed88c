/**
 * The Kamailio harness of the interop tests (kamailio-*.test.ts, test/live/capture-netns.test.ts):
 *
 * - `startSipcapture`: the HEP receiver, Kamailio 5.6 sipcapture as the frontend/backend pair of
 *   kamailio/sipcapture-receiver.cfg (the frontend takes what we send and relays it untouched to the
 *   backend, which decodes it and stores a row per message in sqlite, Homer schema): fresh ports, empty
 *   databases, its own runtime directory per process; `settle` waits for what must be stored, stops both
 *   and only then are the rows read.
 * - `siptraceCalls`: a real HEP sender, Kamailio siptrace (kamailio/siptrace-proxy.cfg) proxying sipp
 *   calls and mirroring each SIP message as HEP; the oracle is what sipp itself logged on each leg.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  bracket,
  freePort,
  KAMAILIO_DIR,
  kamailioArgs,
  readSippMessages,
  sleep,
  sqliteExec,
  sqliteJson,
  waitBound,
  type Peer,
  type Peers,
  type SippMessage,
} from './peers.js'

// ---------------------------------------------------------------------------------------------
// sipcapture: the receiver

export interface Sipcapture {
  /** where HEP goes: the frontend's UDP port (and TCP, with `tcp`) on 127.0.0.1 */
  port: number
  frontend: Peer
  backend: Peer
  /** the backend's database: sip_capture, rtcp_capture... */
  db: string
  /** the frontend's database (sipcapture insists on one; report_capture() writes there) */
  frontDb: string
  /** SIP messages the backend decoded (one HEPSIP line each, logged just before the row is written) */
  logged(): number
  /**
   * Waits until `done()` (at most `timeoutMs`, while both processes run), a little more for anything
   * extra, then stops both: afterwards the databases can be read.
   */
  settle(done: () => boolean, timeoutMs?: number, pollMs?: number): Promise<void>
  /** `sqlite3 -json` on the backend's database (or the frontend's) */
  rows<T>(sql: string, which?: 'backend' | 'frontend'): T[]
}

export interface SipcaptureOptions {
  /** the backend's CAPTURE_NODE: rows carry "node" (HEPv1) or "node:captureId" */
  node: string
  /** the frontend takes TCP (HEP3 framing) on the same port too */
  tcp?: boolean
  /**
   * WAL journals: a reader never blocks Kamailio's writer (db_sqlite sets no busy timeout, so in the
   * default rollback mode an INSERT while we read fails), so rows can be counted while it stores.
   * Without it, read only after `settle`.
   */
  wal?: boolean
}

export async function startSipcapture(peers: Peers, dir: string, o: SipcaptureOptions): Promise<Sipcapture> {
  const schema = readFileSync(join(KAMAILIO_DIR, 'sip_capture.sql'), 'utf8')
  const db = join(dir, 'hep.sqlite')
  const frontDb = join(dir, 'frontend.sqlite')
  const init = o.wal ? `PRAGMA journal_mode=WAL;\n${schema}` : schema
  sqliteExec(db, init)
  sqliteExec(frontDb, init)
  const [port, backendPort] = [freePort(), freePort()]
  // each process its own runtime/working directory
  const [backDir, frontDir] = [join(dir, 'backend'), join(dir, 'frontend')]
  mkdirSync(backDir)
  mkdirSync(frontDir)
  const backend = peers.start(
    'kamailio sipcapture backend',
    'kamailio',
    kamailioArgs(
      'sipcapture-receiver.cfg',
      backDir,
      [`udp:127.0.0.1:${backendPort}`],
      ['ROLE_BACKEND', `DBURL="sqlite:///${db}"`, `CAPTURE_NODE="${o.node}"`],
    ),
  )
  const listen = [`udp:127.0.0.1:${port}`, ...(o.tcp ? [`tcp:127.0.0.1:${port}`] : [])]
  const frontend = peers.start(
    'kamailio sipcapture frontend',
    'kamailio',
    kamailioArgs('sipcapture-receiver.cfg', frontDir, listen, [
      'ROLE_FRONTEND',
      `BACKEND="sip:127.0.0.1:${backendPort}"`,
      `DBURL="sqlite:///${frontDb}"`,
    ]),
  )
  await waitBound('udp', backendPort, backend)
  await waitBound('udp', port, frontend)
  if (o.tcp) await waitBound('tcp', port, frontend)
  return {
    port,
    frontend,
    backend,
    db,
    frontDb,
    logged: () => (backend.log().match(/HEPSIP /g) ?? []).length,
    async settle(done, timeoutMs = 15_000, pollMs = 50) {
      const end = Date.now() + timeoutMs
      while (!done() && Date.now() < end && frontend.running() && backend.running()) await sleep(pollMs)
      await sleep(300) // the last INSERT, and anything extra, happen now
      await frontend.stop()
      await backend.stop()
    },
    rows: <T>(sql: string, which: 'backend' | 'frontend' = 'backend') =>
      sqliteJson<T>(which === 'backend' ? db : frontDb, sql),
  }
}

// ---------------------------------------------------------------------------------------------
// siptrace: a real HEP sender between two sipp

/** One SIP message on a leg, as sipp logged it, with the leg's ports. */
export interface Leg extends SippMessage {
  src: number
  dst: number
}

export interface SiptraceOptions {
  /** address of the SIP legs (sipp <-> Kamailio <-> sipp) */
  sipIp: string
  /** Kamailio also listens on ::1 (SIP legs or HEP over IPv6) */
  ipv6?: boolean
  hepVersion: 1 | 2 | 3
  /** where Kamailio sends HEP: a SIP URI ("sip:127.0.0.1:PORT;transport=tcp") */
  hepUri: string
  captureId: number
  calls: number
}

export interface SiptraceRun {
  /** Kamailio's SIP port, the UAS's and the UAC's */
  kam: number
  uas: number
  uac: number
  /** sipp uac's exit code: 0 when every call succeeded */
  uacExit: number | null
  /** what went over each SIP leg, from sipp's own logs (read again at each call) */
  wire(): Leg[]
  /** stops the UAS and Kamailio */
  stop(): Promise<void>
}

/** Kamailio siptrace between a sipp UAC and a sipp UAS, `calls` calls, mirrored as HEP to `hepUri`. */
export async function siptraceCalls(peers: Peers, dir: string, o: SiptraceOptions): Promise<SiptraceRun> {
  const [kam, uas, uac] = [freePort(), freePort(), freePort()]
  const sip = bracket(o.sipIp)
  const listenOn = [`udp:127.0.0.1:${kam}`, `tcp:127.0.0.1:${kam}`]
  if (o.ipv6) listenOn.push(`udp:[::1]:${kam}`, `tcp:[::1]:${kam}`)
  const kamailio = peers.start(
    'kamailio siptrace',
    'kamailio',
    kamailioArgs('siptrace-proxy.cfg', dir, listenOn, [
      `HEP_VERSION=${o.hepVersion}`,
      `HEP_DST="${o.hepUri}"`,
      `HEP_CAPTURE_ID=${o.captureId}`,
      `UAS_URI="sip:${sip}:${uas}"`,
    ]),
  )
  await waitBound('udp', kam, kamailio)
  await waitBound('tcp', kam, kamailio)
  const uasTrace = join(dir, 'uas-messages.log')
  const uacTrace = join(dir, 'uac-messages.log')
  const sippUas = peers.start('sipp uas', 'sipp', [
    ...['-sn', 'uas', '-i', o.sipIp, '-p', String(uas), '-nostdin'],
    ...['-trace_msg', '-message_file', uasTrace],
  ])
  await waitBound('udp', uas, sippUas)
  const sippUac = peers.start('sipp uac', 'sipp', [
    ...['-sn', 'uac', `${sip}:${kam}`, '-i', o.sipIp, '-p', String(uac), '-nostdin'],
    ...['-m', String(o.calls), '-r', '10', '-timeout', '20', '-max_retrans', '3'],
    ...['-trace_msg', '-message_file', uacTrace],
  ])
  const uacExit = await sippUac.wait(25_000)
  const leg = (file: string, own: number) =>
    readSippMessages(file).map((m) => ({
      ...m,
      src: m.dir === 'sent' ? own : kam,
      dst: m.dir === 'sent' ? kam : own,
    }))
  return {
    kam,
    uas,
    uac,
    uacExit,
    wire: () => [...leg(uacTrace, uac), ...leg(uasTrace, uas)],
    async stop() {
      await sippUas.stop()
      await kamailio.stop()
    },
  }
}
