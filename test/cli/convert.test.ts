import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fixture, haveTool, hep } from '../helpers/cli.js'

const tmp = () => mkdtempSync(join(tmpdir(), 'hep-convert-'))
const hexLines = (p: string) => readFileSync(p, 'utf8').trim().split('\n')

describe('hep convert between HEP formats', () => {
  it('hex -> jsonl -> raw -> hex gives back the same bytes', async () => {
    const d = tmp()
    for (const name of ['hep-v1.hex', 'hep-v2-sngrep.hex', 'hep-v3-extras.hex', 'hep-v3-hepjs.hex']) {
      expect((await hep(['convert', fixture(`hep/${name}`), join(d, 'a.jsonl'), '-q'])).code).toBe(0)
      if (name.includes('v3')) {
        expect((await hep(['convert', join(d, 'a.jsonl'), join(d, 'b.hep'), '-q'])).code).toBe(0)
        expect((await hep(['convert', join(d, 'b.hep'), join(d, 'c.hex'), '-q'])).code).toBe(0)
      } else {
        expect((await hep(['convert', join(d, 'a.jsonl'), join(d, 'c.hex'), '-q'])).code).toBe(0)
      }
      expect(hexLines(join(d, 'c.hex'))).toEqual(hexLines(fixture(`hep/${name}`)))
    }
  })

  it('re-encodes to another version with capture id and node name overrides', async () => {
    const d = tmp()
    const r = await hep([
      'convert',
      fixture('hep/hep-v3.hex'),
      join(d, 'v2.jsonl'),
      '--version',
      '2',
      '--capture-id',
      '7',
    ])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/in\s+│ 39/)
    const v2 = hexLines(join(d, 'v2.jsonl')).map((l) => JSON.parse(l))
    const v3 = (await hep(['decode', fixture('hep/hep-v3.hex'), '--json'])).stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(v2).toHaveLength(39)
    for (let i = 0; i < 39; i++) {
      expect(v2[i]).toMatchObject({
        version: 2,
        captureId: 7,
        srcIp: v3[i].srcIp,
        srcPort: v3[i].srcPort,
        timeSeconds: v3[i].timeSeconds,
        timeUseconds: v3[i].timeUseconds,
        payload: v3[i].payload,
      })
    }
    const back = await hep([
      'convert',
      join(d, 'v2.jsonl'),
      join(d, 'v3.jsonl'),
      '--version',
      '3',
      '--node-name',
      'edge-1',
      '--correlation-id',
      'auto',
    ])
    expect(back.code).toBe(0)
    const v3b = hexLines(join(d, 'v3.jsonl')).map((l) => JSON.parse(l))
    expect(v3b[0]).toMatchObject({
      version: 3,
      captureId: 7,
      nodeName: 'edge-1',
      correlationId: '1-20396@127.0.0.1',
    })
  })

  it('refuses a capture id HEPv2 cannot hold, before writing anything (exit 2)', async () => {
    const d = tmp()
    const r = await hep([
      'convert',
      fixture('hep/hep-v3.hex'),
      join(d, 'x.hex'),
      '--version',
      '2',
      '--capture-id',
      '70000',
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--capture-id 70000')
  })

  it('HEP -> pcap writes the decapsulated SIP that tshark reads with the original addresses and times', async () => {
    if (!haveTool('tshark')) return
    const d = tmp()
    const out = join(d, 'sip.pcap')
    expect((await hep(['convert', fixture('hep/hep-v2-ipv6.hex'), out, '-q'])).code).toBe(0)
    const ts = spawnSync(
      'tshark',
      [
        '-r',
        out,
        '-T',
        'fields',
        '-e',
        'frame.time_epoch',
        '-e',
        'ipv6.src',
        '-e',
        'udp.srcport',
        '-e',
        'sip.Call-ID',
      ],
      { encoding: 'utf8' },
    )
    const rows = ts.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t'))
    const json = (await hep(['decode', fixture('hep/hep-v2-ipv6.hex'), '--json'])).stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(rows).toHaveLength(39)
    for (let i = 0; i < 39; i++) {
      expect(rows[i][0]).toBe(`${json[i].timeSeconds}.${String(json[i].timeUseconds).padStart(6, '0')}000`)
      expect(rows[i][1]).toBe('::1')
      expect(Number(rows[i][2])).toBe(json[i].srcPort)
      expect(rows[i][3]).toMatch(/@::1$/)
    }
  })
})
