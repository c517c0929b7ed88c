/**
 * `hep send` -> a REAL HEP receiver: sngrep 1.6.0 listening for HEP (`-L udp:127.0.0.1:PORT`,
 * HEPv2 or v3 as set in its config: it only accepts that version, only over UDP, and has no HEPv1)
 * without a terminal (`-N -q`), writing the SIP it decapsulated to a pcap (`-O`). We read that pcap
 * back with our capture reader (`hep convert out.pcap x.jsonl`) and compare it with what we sent.
 *
 * sngrep quirks met here (1.6.0, capture_eep.c):
 *  - HEPv2: it takes the payload length from the header-length byte read as a big-endian u16
 *    (`ntohs(hdr.hp_l) - headers`): with the standard 16 (IPv4) it writes 4096 - 28 bytes, the
 *    message followed by zeros from its receive buffer. We compare after dropping trailing NULs.
 *  - its -O writer builds an IPv4 header whatever the family: IPv6 addresses become 0.0.0.0,
 *    so only IPv4 traffic is compared here.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { fixture, hep } from '../helpers/cli.js'
import {
  failIfMissing,
  freePort,
  jsonLines,
  pcapRecords,
  peerGate,
  Peers,
  sipSummary,
  sleep,
  waitBound,
} from './peers.js'

const gate = peerGate('hep send -> sngrep', ['sngrep'])

interface Msg {
  srcIp: string
  srcPort: number
  dstIp: string
  dstPort: number
  protocol: number
  timeSeconds: number
  timeUseconds: number
  payload: string
}

const peers = new Peers()
afterAll(() => peers.stopAll())

/** Runs sngrep as a HEP listener, has `send` deliver `expected` packets to it, returns what it wrote. */
async function throughSngrep(
  name: string,
  version: 2 | 3,
  expected: number,
  send: (port: number) => Promise<void>,
) {
  const dir = peers.dir(name)
  const conf = join(dir, 'sngreprc')
  writeFileSync(conf, `set eep.listen.version ${version}\n`)
  const out = join(dir, 'sngrep-out.pcap')
  const port = freePort()
  const sngrep = peers.start(
    'sngrep',
    'sngrep',
    ['-f', conf, '-N', '-q', '-L', `udp:127.0.0.1:${port}`, '-O', out],
    {
      env: { HOME: dir, TERM: 'dumb' },
    },
  )
  await waitBound('udp', port, sngrep)
  await send(port)
  // sngrep writes each message as it arrives; wait for all of them, then stop it (SIGINT)
  const end = Date.now() + 10_000
  while (pcapRecords(out) < expected && Date.now() < end && sngrep.running()) await sleep(50)
  await sngrep.stop('SIGINT')
  const r = await hep(['convert', out, join(dir, 'out.jsonl'), '-q'])
  expect(r.code, `reading sngrep's pcap: ${r.stderr}`).toBe(0)
  return jsonLines<Msg>(readFileSync(join(dir, 'out.jsonl'), 'utf8'))
}

const fields = (m: Msg) => ({
  src: `${m.srcIp}:${m.srcPort}`,
  dst: `${m.dstIp}:${m.dstPort}`,
  protocol: m.protocol,
  time: `${m.timeSeconds}.${String(m.timeUseconds).padStart(6, '0')}`,
  sip: `${sipSummary(m.payload).first} ${sipSummary(m.payload).callId} ${sipSummary(m.payload).cseq}`,
  payload: m.payload,
})

failIfMissing(gate, 'sngrep is installed')

describe.skipIf(!gate.ok)(
  'hep send -> sngrep (real HEP receiver), decapsulated SIP in its pcap',
  { timeout: 60_000 },
  () => {
    const watch = (name: string) => peers.watch(name)

    it('HEPv3: a SIP capture encoded by hep convert and sent by hep send comes out of sngrep intact', async () => {
      watch('sngrep v3')
      const dir = peers.dir('v3-input')
      const hex = join(dir, 'calls.hex')
      const c = await hep(['convert', fixture('captures/sip-udp.pcap'), hex, '--version', '3', '-q'])
      expect(c.code, c.stderr).toBe(0)
      const sent = jsonLines<Msg>((await hep(['decode', hex, '--json'])).stdout)
      expect(sent).toHaveLength(18)
      const got = await throughSngrep('sngrep-v3', 3, 18, async (port) => {
        const s = await hep(['send', hex, '--to', `127.0.0.1:${port}`])
        expect(s.code, s.stderr).toBe(0)
      })
      expect(got.map(fields)).toEqual(sent.map(fields))
      const calls = new Set(got.map((g) => sipSummary(g.payload).callId))
      expect(calls.size, 'the 3 calls of sip-udp.pcap').toBe(3)
    })

    it("HEPv2: Kamailio's packets re-encoded by hep send --version 2 come out of sngrep with the same SIP", async () => {
      watch('sngrep v2')
      const input = fixture('hep/hep-v3.hex')
      const sent = jsonLines<Msg>((await hep(['decode', input, '--json'])).stdout)
      expect(sent).toHaveLength(39)
      const got = await throughSngrep('sngrep-v2', 2, 39, async (port) => {
        const s = await hep([
          'send',
          input,
          '--to',
          `127.0.0.1:${port}`,
          '--version',
          '2',
          '--capture-id',
          '77',
        ])
        expect(s.code, s.stderr).toBe(0)
      })
      // sngrep's v2 quirk (see the top of this file): the message, then zeros up to 4096 - 28 bytes
      const trimmed = got.map((g) => ({ ...g, payload: g.payload.replace(/\0+$/, '') }))
      expect(trimmed.map(fields)).toEqual(sent.map(fields))
      expect(new Set(got.map((g) => sipSummary(g.payload).callId)).size).toBe(3)
    })
  },
)
