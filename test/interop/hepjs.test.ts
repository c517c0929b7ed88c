/**
 * hep-js 1.0.22 (sipcapture's HEP3 library, the project's devDependency) decodes what `hep send`
 * puts on the wire and what `hep convert` writes: a UDP socket / TCP server in this test receives
 * from `hep send` and hands every packet to hep-js `decapsulate`. The fields hep-js reads must be
 * the ones we sent (our own decode of the input, with the options applied).
 * hep-js limits: HEP3 only, IPv4 only (chunks 5/6 ignored), payload as a UTF-8 string.
 * (test/hep/hepjs.test.ts checks the codec in-process; this is the CLI over real sockets.)
 */
import { createSocket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { fixture, hep } from '../helpers/cli.js'
import { failIfMissing, hepJsProblem, jsonLines, peerGate, Peers, sleep } from './peers.js'
import type { HepJsRcinfo } from '../helpers/fixtures.js'

const gate = peerGate('hep send/convert -> hep-js', [], hepJsProblem)

type Decapsulate = (buf: Buffer) => { rcinfo: HepJsRcinfo; payload?: string } | false | undefined

interface Sent {
  protocolFamily: number
  protocol: number
  srcIp: string
  dstIp: string
  srcPort: number
  dstPort: number
  timeSeconds: number
  timeUseconds: number
  payloadType: number
  captureId?: number
  payload: string
}

const peers = new Peers()
afterAll(() => peers.stopAll())

/** what hep-js should read from our encoding of `s` with the given options */
function rcinfoOf(s: Sent, extra: HepJsRcinfo): HepJsRcinfo {
  return {
    protocolFamily: s.protocolFamily,
    protocol: s.protocol,
    srcIp: s.srcIp,
    dstIp: s.dstIp,
    srcPort: s.srcPort,
    dstPort: s.dstPort,
    timeSeconds: s.timeSeconds,
    timeUseconds: s.timeUseconds,
    payloadType: s.payloadType,
    captureId: s.captureId,
    ...extra,
  }
}

/** HEP3 frames of a stream (4-byte "HEP3", u16 total length) */
function frames(stream: Buffer): Buffer[] {
  const out: Buffer[] = []
  let off = 0
  while (off + 6 <= stream.length) {
    expect(stream.toString('latin1', off, off + 4), `HEP3 magic at byte ${off}`).toBe('HEP3')
    const len = stream.readUInt16BE(off + 4)
    out.push(stream.subarray(off, off + len))
    off += len
  }
  expect(off, 'the stream ends on a frame boundary').toBe(stream.length)
  return out
}

async function decoded(file: string): Promise<Sent[]> {
  const r = await hep(['decode', file, '--json'])
  expect(r.code, r.stderr).toBe(0)
  return jsonLines<Sent>(r.stdout)
}

failIfMissing(gate, 'hep-js is installed')

describe.skipIf(!gate.ok)(
  'hep-js (real HEP3 decoder) reads what hep send and hep convert emit',
  { timeout: 60_000 },
  () => {
    const decapsulate = (): Decapsulate =>
      (createRequire(import.meta.url)('hep-js') as { decapsulate: Decapsulate }).decapsulate

    it('hep send over UDP: a SIP capture as HEPv3 with capture id, auth key, node name and correlation id', async () => {
      const dir = peers.dir('hepjs-udp')
      const jsonl = join(dir, 'calls.jsonl')
      const c = await hep(['convert', fixture('captures/sip-udp.pcap'), jsonl, '-q'])
      expect(c.code, c.stderr).toBe(0)
      const sent = await decoded(jsonl)
      expect(sent).toHaveLength(18)

      const sock = createSocket('udp4')
      const got: Buffer[] = []
      sock.on('message', (m) => got.push(m))
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r))
      try {
        const port = (sock.address() as AddressInfo).port
        const s = await hep([
          ...['send', jsonl, '--to', `127.0.0.1:${port}`, '--capture-id', '31337'],
          ...['--auth-key', 'interop-key', '--node-name', 'interop-node', '--correlation-id', 'auto'],
        ])
        expect(s.code, s.stderr).toBe(0)
        for (let i = 0; i < 200 && got.length < sent.length; i++) await sleep(10)
      } finally {
        sock.close()
      }
      expect(got).toHaveLength(18)
      const dec = decapsulate()
      got.forEach((bytes, i) => {
        const d = dec(bytes)
        expect(d, `datagram ${i + 1}`).toBeTruthy()
        if (!d) return
        const callId = /^Call-ID:\s*(.*?)\r$/im.exec(sent[i].payload)![1]
        expect(d.rcinfo, `datagram ${i + 1}`).toEqual(
          rcinfoOf(sent[i], {
            captureId: 31337,
            capturePass: 'interop-key',
            hepNodeName: 'interop-node',
            correlation_id: callId,
          }),
        )
        expect(d.payload).toBe(sent[i].payload)
      })
    })

    it('hep send over TCP: HEPv2 from Kamailio re-encoded as HEPv3 (--version 3), one frame per packet', async () => {
      const input = fixture('hep/hep-v2.hex')
      const sent = await decoded(input)
      expect(sent).toHaveLength(39)
      const chunks: Buffer[] = []
      let connections = 0
      let ended!: () => void
      const peerClosed = new Promise<void>((r) => (ended = r))
      const server = createServer((sock) => {
        connections++
        sock.on('data', (d) => chunks.push(d))
        sock.on('end', () => ended())
      })
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      try {
        const port = (server.address() as AddressInfo).port
        const s = await hep(['send', input, '--to', `tcp://127.0.0.1:${port}`, '--version', '3'])
        expect(s.code, s.stderr).toBe(0)
        // hep send has exited: its connection ends once everything it wrote is here
        await Promise.race([peerClosed, sleep(5000)])
      } finally {
        server.close()
      }
      expect(connections).toBe(1)
      const fs = frames(Buffer.concat(chunks))
      expect(fs).toHaveLength(39)
      const dec = decapsulate()
      fs.forEach((bytes, i) => {
        const d = dec(bytes)
        expect(d, `frame ${i + 1}`).toBeTruthy()
        if (!d) return
        expect(d.rcinfo, `frame ${i + 1}`).toEqual(rcinfoOf(sent[i], {}))
        expect(d.payload).toBe(sent[i].payload)
      })
    })

    it('hep convert: HEPv1 (no time, no capture id) written as a raw HEPv3 stream', async () => {
      const dir = peers.dir('hepjs-convert')
      const raw = join(dir, 'v3.raw')
      const input = fixture('hep/hep-v1.hex')
      const c = await hep(['convert', input, raw, '--into', 'raw', '--version', '3', '--capture-id', '9'])
      expect(c.code, c.stderr).toBe(0)
      const sent = await decoded(input)
      const fs = frames(readFileSync(raw))
      expect(fs).toHaveLength(sent.length)
      const dec = decapsulate()
      fs.forEach((bytes, i) => {
        const d = dec(bytes)
        expect(d, `packet ${i + 1}`).toBeTruthy()
        if (!d) return
        expect(d.rcinfo).toMatchObject({
          protocolFamily: 2,
          protocol: 17,
          srcIp: sent[i].srcIp,
          dstIp: sent[i].dstIp,
          srcPort: sent[i].srcPort,
          dstPort: sent[i].dstPort,
          captureId: 9,
        })
        expect(d.payload).toBe(sent[i].payload)
      })
    })
  },
)
