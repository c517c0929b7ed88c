import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CaptureExtractor, type CapturedMessage } from '../../src/capture/extract.js'
import { fixture, haveTool, hep, packetLines } from '../helpers/cli.js'

async function messages(path: string): Promise<CapturedMessage[]> {
  const out: CapturedMessage[] = []
  for await (const b of new CaptureExtractor(path, { want: 'sip' }).batches())
    out.push(...b.map((m) => ({ ...m, payload: Buffer.from(m.payload) })))
  return out
}

const key = (m: CapturedMessage) =>
  [m.src, m.srcPort, m.dst, m.dstPort, m.seconds, Math.floor(m.nanos / 1000), m.payload.toString('hex')].join(
    '|',
  )

describe('capture -> HEP -> capture round trip', () => {
  it.each([
    'sip-udp.pcapng',
    'sip-udp-ipv6-frag.pcap',
    'sip-udp-vlan100.pcap',
    'sip-misc-methods.pcap',
    'sip-udp-any-sll2.pcapng',
  ])('%s keeps payload bytes, addresses, ports and µs timestamps', async (name) => {
    const d = mkdtempSync(join(tmpdir(), 'hep-rt-'))
    const r1 = await hep([
      'convert',
      fixture(`captures/${name}`),
      join(d, 'x.hep.pcap'),
      '--capture-id',
      '2002',
      '--correlation-id',
      'auto',
    ])
    expect(r1.code).toBe(0)
    const r2 = await hep(['convert', join(d, 'x.hep.pcap'), join(d, 'back.pcap')])
    expect(r2.code).toBe(0)
    expect(r2.stderr).toMatch(/HEP packets found\s+│ \d+/)
    const orig = await messages(fixture(`captures/${name}`))
    const back = await messages(join(d, 'back.pcap'))
    expect(back.map(key)).toEqual(orig.map(key))
    // the HEP in between carries the options
    const json = packetLines((await hep(['decode', join(d, 'x.hep.pcap'), '--json'])).stdout).map((l) =>
      JSON.parse(l),
    )
    expect(json).toHaveLength(orig.length)
    expect(json.every((j, i) => j.captureId === 2002 && j.correlationId === orig[i].sip?.callId)).toBe(true)
    if (haveTool('tshark')) {
      const t = (f: string) =>
        spawnSync(
          'tshark',
          ['-r', f, '-Y', 'sip', '-T', 'fields', '-e', 'sip.Call-ID', '-e', 'sip.CSeq', '-e', 'udp.srcport'],
          { encoding: 'utf8' },
        ).stdout
      expect(t(join(d, 'back.pcap'))).toBe(t(fixture(`captures/${name}`)))
    }
  })

  it('a capture of HEP decodes to what the same packets decode to from their bytes', async () => {
    for (const name of ['hep-v1', 'hep-v2-sngrep', 'hep-v3-extras', 'hep-v3-over-ipv6', 'hep-v3-hepjs']) {
      const fromPcap = await hep(['decode', fixture(`captures/${name}.pcap`), '--json'])
      const fromHex = await hep(['decode', fixture(`hep/${name}.hex`), '--json'])
      expect(fromPcap.code).toBe(0)
      expect(fromPcap.stdout).toBe(fromHex.stdout)
      expect(fromPcap.stdout.length).toBeGreaterThan(1000)
    }
  })

  it('--port-range restricts which traffic is taken', async () => {
    const d = mkdtempSync(join(tmpdir(), 'hep-rt-'))
    const r = await hep([
      'convert',
      fixture('captures/sip-rtp.pcap'),
      join(d, 'x.jsonl'),
      '--port-range',
      '6000-7000',
    ])
    expect(r.code).toBe(0)
    expect(readFileSync(join(d, 'x.jsonl'), 'utf8')).toBe('')
    expect(r.stderr).toMatch(/filtered out\s+│ 6 /)
  })

  it('a truncated capture converts every record before the cut and exits 1 naming record 18', async () => {
    const d = mkdtempSync(join(tmpdir(), 'hep-rt-'))
    const r = await hep(['convert', fixture('captures/edge-sip-udp-truncated-file.pcap'), join(d, 'x.hex')])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/record 18 at byte \d+/)
    expect(readFileSync(join(d, 'x.hex'), 'utf8').trim().split('\n')).toHaveLength(17)
  })
})
