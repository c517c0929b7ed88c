/**
 * Test helpers for the socket layer: bounded waits, an event recorder for HepServer, loopback TCP
 * clients, and a throwaway self-signed certificate made with openssl.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encode, type HepPacket } from '../../src/hep/index.js'
import type {
  ConnectionClosedEvent,
  ConnectionEvent,
  HepServer,
  MalformedEvent,
  PacketEvent,
  RejectedEvent,
} from '../../src/net/index.js'

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Polls `cond` every 5 ms; throws with `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(5)
  }
}

/** Everything a HepServer emitted. */
export interface Recorder {
  packets: PacketEvent[]
  malformed: MalformedEvent[]
  rejected: RejectedEvent[]
  connections: ConnectionEvent[]
  errors: Error[]
  closed(): ConnectionClosedEvent[]
  closedBy(reason: string): ConnectionClosedEvent[]
  fromPort(port: number): PacketEvent[]
}

export function record(server: HepServer): Recorder {
  const r: Recorder = {
    packets: [],
    malformed: [],
    rejected: [],
    connections: [],
    errors: [],
    closed: () => r.connections.filter((c): c is ConnectionClosedEvent => c.type === 'closed'),
    closedBy: (reason) => r.closed().filter((c) => c.reason === reason),
    fromPort: (port) => r.packets.filter((p) => p.remote.port === port),
  }
  server.on('packet', (e) => r.packets.push(e))
  server.on('malformed', (e) => r.malformed.push(e))
  server.on('rejected', (e) => r.rejected.push(e))
  server.on('connection', (e) => r.connections.push(e))
  server.on('error', (e) => r.errors.push(e))
  return r
}

export type TestSocket = Socket & {
  errors: Error[]
  /** the local port, kept after the socket closes */
  port: number
}

/** A connected TCP client (Nagle off); errors are recorded, never thrown. */
export function tcpConnect(port: number, host = '127.0.0.1'): Promise<TestSocket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host, noDelay: true }) as TestSocket
    s.errors = []
    s.once('connect', () => {
      s.port = s.localPort!
      s.off('error', reject)
      s.on('error', (e) => s.errors.push(e))
      resolve(s)
    })
    s.once('error', reject)
  })
}

/** Writes and waits for the write callback. */
export function write(s: Socket, b: Buffer): Promise<void> {
  return new Promise((resolve, reject) => s.write(b, (e) => (e ? reject(e) : resolve())))
}

export function closedPromise(s: Socket): Promise<void> {
  return new Promise((resolve) => (s.destroyed && s.closed ? resolve() : s.once('close', () => resolve())))
}

export interface TestCert {
  dir: string
  cert: string
  key: string
  cleanup(): void
}

/** A self-signed certificate for localhost, 127.0.0.1 and ::1, made with openssl in a temp dir. */
export function makeCert(): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'hep-net-cert-'))
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
    ],
    { stdio: 'ignore', timeout: 10_000 },
  )
  return { dir, cert, key, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A HEP3 SIP packet from 10.0.0.1:5060 to 10.0.0.2:5060 (UDP), the fields in `extra` replaced. */
export function sipPacket(payload: string | Buffer, extra: Partial<HepPacket> = {}): HepPacket {
  return {
    version: 3,
    protocolFamily: 2,
    protocol: 17,
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.2',
    srcPort: 5060,
    dstPort: 5060,
    timeSeconds: 1_700_000_000,
    timeUseconds: 1,
    payloadType: 1,
    captureId: 2001,
    payload: Buffer.from(payload),
    ...extra,
  }
}

/** A HEP3 packet with a SIP-like payload; `size` pads the payload so the packet is exactly that long. */
export function hep3(payload: string | Buffer, extra: Partial<HepPacket> = {}, size?: number): Buffer {
  const p = sipPacket(payload, extra)
  if (size !== undefined) {
    const base = encode({ ...p, payload: Buffer.alloc(0) }).length
    p.payload = Buffer.alloc(size - base, 'x')
  }
  return encode(p)
}
