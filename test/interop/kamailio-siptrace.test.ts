/**
 * A REAL HEP sender -> `hep listen`: Kamailio 5.6 (siptrace module) proxies sipp calls and mirrors
 * every SIP message it receives or sends as HEP v1, v2 or v3 (UDP, and v3 over TCP) to our
 * listener. Per sipp call that is 13 packets (INVITE in/out, 100 out, 180 in/out, 200 in/out,
 * ACK in/out, BYE in/out, 200 in/out). The oracle is what sipp itself logged (-trace_msg): every
 * message on both legs, byte for byte, with the addresses and ports of each leg.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { siptraceCalls } from './kamailio.js'
import {
  bracket,
  failIfMissing,
  kamailioConfigProblem,
  peerGate,
  Peers,
  sipKey,
  sipSummary,
  jsonLines,
} from './peers.js'

const gate = peerGate('Kamailio siptrace -> hep listen', ['kamailio', 'sipp'], () =>
  kamailioConfigProblem('siptrace-proxy.cfg'),
)

interface Case {
  name: string
  version: 1 | 2 | 3
  transport: 'udp' | 'tcp'
  /** address of the SIP legs (sipp <-> Kamailio <-> sipp) */
  sipIp: string
  /** address HEP is sent to (our listener) */
  hepIp: string
  calls: number
}

const cases: Case[] = [
  { name: 'HEPv1 over UDP', version: 1, transport: 'udp', sipIp: '127.0.0.1', hepIp: '127.0.0.1', calls: 2 },
  { name: 'HEPv2 over UDP', version: 2, transport: 'udp', sipIp: '127.0.0.1', hepIp: '127.0.0.1', calls: 2 },
  { name: 'HEPv3 over UDP', version: 3, transport: 'udp', sipIp: '127.0.0.1', hepIp: '127.0.0.1', calls: 2 },
  { name: 'HEPv3 over TCP', version: 3, transport: 'tcp', sipIp: '127.0.0.1', hepIp: '127.0.0.1', calls: 2 },
  {
    name: 'HEPv2 over UDP, SIP legs on ::1',
    version: 2,
    transport: 'udp',
    sipIp: '::1',
    hepIp: '127.0.0.1',
    calls: 1,
  },
  {
    name: 'HEPv3 over UDP on ::1, SIP legs on ::1',
    version: 3,
    transport: 'udp',
    sipIp: '::1',
    hepIp: '::1',
    calls: 1,
  },
]

interface Received {
  version: number
  protocolFamily: number
  protocol: number
  srcIp: string
  srcPort: number
  dstIp: string
  dstPort: number
  timeSeconds?: number
  timeUseconds?: number
  payloadType: number
  captureId?: number
  payload: string
  via: { transport: string; remote: string; connection?: number }
}

const peers = new Peers()
afterAll(() => peers.stopAll())

failIfMissing(gate, 'Kamailio and sipp are installed')

describe.skipIf(!gate.ok)('Kamailio siptrace (real HEP sender) -> hep listen', { timeout: 60_000 }, () => {
  it.each(cases)(
    '$name: every mirrored message arrives with its addresses, time, capture id and bytes',
    async (c) => {
      peers.watch(c.name)
      const dir = peers.dir(c.name)
      const expected = 13 * c.calls
      const captureId = 2000 + Math.floor(Math.random() * 60000)
      const t0 = Date.now()

      // our listener first, on a port the kernel picks
      const listen = peers.hep('hep listen', [
        'listen',
        `--${c.transport}`,
        `${bracket(c.hepIp)}:0`,
        '--json',
        '--count',
        String(expected),
      ])
      const hepPort = Number((await listen.waitLog(new RegExp(`listening on ${c.transport} \\S+:(\\d+)`)))[1])

      // Kamailio between a sipp UAC and a sipp UAS, mirroring to our listener
      const hepUri = `sip:${bracket(c.hepIp)}:${hepPort}${c.transport === 'tcp' ? ';transport=tcp' : ''}`
      const sender = await siptraceCalls(peers, dir, {
        sipIp: c.sipIp,
        ipv6: c.sipIp !== '127.0.0.1' || c.hepIp !== '127.0.0.1',
        hepVersion: c.version,
        hepUri,
        captureId,
        calls: c.calls,
      })
      expect(sender.uacExit, 'sipp uac: every call succeeds').toBe(0)
      const { kam } = sender

      // listen --count N exits by itself once every packet is in
      let code: number | null
      try {
        code = await listen.wait(10_000)
      } catch (e) {
        await listen.stop('SIGINT')
        const n = jsonLines(listen.stdout()).length
        throw new Error(
          `hep listen got ${n} of ${expected} packets (sipp logged ${sender.wire().length} messages): ${(e as Error).message}`,
        )
      }
      const t1 = Date.now()
      expect(code, listen.stderr()).toBe(0)
      await sender.stop()

      const got = jsonLines<Received>(listen.stdout())
      expect(got).toHaveLength(expected)
      const wire = sender.wire()
      expect(wire, 'sipp logged 7 + 6 messages per call').toHaveLength(expected)

      // the same SIP messages, leg by leg (readable diff first: method/status, Call-ID, CSeq, ports)
      const line = (src: number, dst: number, payload: string) => `${src} -> ${dst} ${sipKey(payload)}`
      expect(got.map((g) => line(g.srcPort, g.dstPort, g.payload)).sort()).toEqual(
        wire.map((w) => line(w.src, w.dst, w.payload)).sort(),
      )
      // ... and byte for byte
      expect(got.map((g) => `${g.srcPort}>${g.dstPort}\n${g.payload}`).sort()).toEqual(
        wire.map((w) => `${w.src}>${w.dst}\n${w.payload}`).sort(),
      )
      expect(new Set(got.map((g) => sipSummary(g.payload).callId)).size).toBe(c.calls)

      const family = c.sipIp.includes(':') ? 10 : 2
      for (const g of got) {
        expect(g).toMatchObject({
          version: c.version,
          protocolFamily: family,
          protocol: 17,
          srcIp: c.sipIp,
          dstIp: c.sipIp,
          via: { transport: c.transport },
        })
        expect(g.via.remote).toMatch(c.hepIp.includes(':') ? /^\[::1\]:\d+$/ : /^127\.0\.0\.1:\d+$/)
      }
      if (c.transport === 'udp')
        expect(new Set(got.map((g) => g.via.remote))).toEqual(new Set([`${bracket(c.hepIp)}:${kam}`]))
      else expect(new Set(got.map((g) => g.via.connection)).size, 'one persistent TCP connection').toBe(1)

      if (c.version === 1) {
        // HEPv1: no time, no capture id
        for (const g of got) {
          expect(g.timeSeconds).toBeUndefined()
          expect(g.timeUseconds).toBeUndefined()
          expect(g.captureId).toBeUndefined()
        }
      } else {
        for (const g of got) {
          expect(g.captureId).toBe(captureId)
          if (c.version === 3) expect(g.payloadType).toBe(1)
          expect(Number.isInteger(g.timeUseconds) && g.timeUseconds! >= 0 && g.timeUseconds! < 1e6).toBe(true)
          const ms = g.timeSeconds! * 1000 + g.timeUseconds! / 1000
          expect(ms, 'HEP time within a second of the test wall clock').toBeGreaterThan(t0 - 1000)
          expect(ms).toBeLessThan(t1 + 1000)
          // ... and of when sipp logged the same message
          const w = wire.find((x) => x.payload === g.payload)!
          expect(Math.abs(ms - w.atMs), `${sipKey(g.payload)}: HEP time vs sipp's log`).toBeLessThan(1000)
        }
        expect(
          got.some((g) => g.timeUseconds! % 1000 !== 0),
          'microseconds, not milliseconds',
        ).toBe(true)
      }
    },
  )
})
