// `hep decode` / `hep convert` on stream captures (the built CLI, as users run it).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fixture, hep, packetLines } from '../helpers/cli.js'
import { loadTcpSegments } from '../helpers/fixtures.js'

describe('the CLI on stream captures', () => {
  it('hep decode hep-v3-tcp.pcap: the 39 packets of the HEP-over-TCP connection, as from its raw bytes', async () => {
    const d = mkdtempSync(join(tmpdir(), 'hep-streams-'))
    const raw = join(d, 'conn.hep')
    writeFileSync(raw, Buffer.concat(loadTcpSegments()))
    const fromPcap = await hep(['decode', fixture('captures/hep-v3-tcp.pcap'), '--json'])
    const fromRaw = await hep(['decode', raw, '--json'])
    expect(fromPcap.code).toBe(0)
    const lines = packetLines(fromPcap.stdout)
    expect(lines).toHaveLength(39)
    expect(fromPcap.stdout).toBe(fromRaw.stdout)
  })

  it('hep convert sip-tcp.pcap x.jsonl: its 18 SIP messages, HEP protocol 6 (TCP)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'hep-streams-'))
    const out = join(d, 'x.jsonl')
    const r = await hep(['convert', fixture('captures/sip-tcp.pcap'), out])
    expect(r.code).toBe(0)
    const json = readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(json).toHaveLength(18)
    expect(json.every((j) => j.protocol === 6 && j.payloadType === 1)).toBe(true)
    expect(json[0]).toMatchObject({
      srcPort: 5070,
      dstPort: 5060,
      timeSeconds: 1795437526,
      timeUseconds: 696357,
    })
    expect(json[0].payload).toMatch(/^INVITE sip:service@127\.0\.0\.1:5060 SIP\/2\.0\r\n/)
  })

  it('hep convert of SCTP and WebSocket captures: protocol 132 and 6', async () => {
    const d = mkdtempSync(join(tmpdir(), 'hep-streams-'))
    for (const [name, n, proto] of [
      ['sctp-sip.pcap', 6, 132],
      ['ws-sip.pcap', 5, 6],
    ] as const) {
      const out = join(d, `${name}.jsonl`)
      const r = await hep(['convert', fixture(`streams/${name}`), out])
      expect(r.code).toBe(0)
      const json = readFileSync(out, 'utf8').trimEnd().split('\n')
      expect(json).toHaveLength(n)
      expect(json.every((l) => JSON.parse(l).protocol === proto)).toBe(true)
    }
  })
})
