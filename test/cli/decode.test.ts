import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, ROOT, fixture, hep, packetLines, summaryOf } from '../helpers/cli.js'

const hexLines = (name: string) =>
  readFileSync(fixture(`hep/${name}`), 'utf8')
    .trim()
    .split('\n')

describe('hep --help', () => {
  it('lists the five commands', async () => {
    const r = await hep(['--help'])
    expect(r.code).toBe(0)
    for (const c of ['listen', 'decode', 'send', 'replay', 'convert'])
      expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'))
  })
})

describe('hep decode', () => {
  it('--json prints one JSON object per packet on stdout, then the summary, and nothing else', async () => {
    const r = await hep(['decode', fixture('hep/hep-v3.hex'), '--json'])
    expect(r.code).toBe(0)
    const lines = packetLines(r.stdout)
    expect(lines).toHaveLength(39)
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(40)
    const objs = lines.map((l) => JSON.parse(l))
    // Kamailio's receiver: first packet INVITE 127.0.0.1:5070 -> :5060 at 1795437599.584087, capture id 2001
    expect(objs[0]).toMatchObject({
      version: 3,
      srcIp: '127.0.0.1',
      srcPort: 5070,
      dstPort: 5060,
      timeSeconds: 1795437599,
      timeUseconds: 584087,
      captureId: 2001,
      payloadType: 1,
    })
    expect(objs[0].payload.startsWith('INVITE sip:service@127.0.0.1:5060 SIP/2.0\r\n')).toBe(true)
    expect(summaryOf(r.stdout)).toEqual({ summary: true, packets: 39, malformed: 0 })
    expect(r.stderr).toBe('')
  })

  it('prints one pinned human line per packet', async () => {
    const r = await hep(['decode', fixture('hep/hep-v3.hex')])
    const first = r.stdout.split('\n')[0]
    expect(first).toBe(
      '#1 2026-11-23T12:39:59.584087Z v3 id 2001 127.0.0.1:5070 → 127.0.0.1:5060 UDP SIP INVITE sip:service@127.0.0.1:5060 SIP/2.0',
    )
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(39)
  })

  it('--chunks adds a table with every chunk in wire order, vendor chunks included', async () => {
    const r = await hep(['decode', fixture('hep/hep-v3-extras.hex'), '--chunks'])
    const table = r.stdout.split('#2 ')[0]
    const ids = [...table.matchAll(/│ 0x0000 │ (0x[0-9a-f]{4}) │/g)].map((m) => m[1])
    expect(ids).toEqual([
      '0x0001',
      '0x0002',
      '0x0003',
      '0x0004',
      '0x0007',
      '0x0008',
      '0x0009',
      '0x000a',
      '0x000b',
      '0x000c',
      '0x000e',
      '0x000f',
    ])
    expect(table).toContain('peers-secret')
  })

  it('reads binary HEP from stdin intact (a raw HEP3 stream)', async () => {
    const raw = Buffer.concat(hexLines('hep-v3-ipv6.hex').map((h) => Buffer.from(h, 'hex')))
    const r = await hep(['decode', '--json'], { input: raw })
    expect(r.code).toBe(0)
    const objs = packetLines(r.stdout).map((l) => JSON.parse(l))
    expect(objs).toHaveLength(39)
    expect(objs.every((o) => o.srcIp === '::1' && o.protocolFamily === 10)).toBe(true)
    // payload bytes survive stdin: re-encode and compare with the original packets
    const back = await hep(['convert', '-', '-', '--from', 'jsonl', '--into', 'hex', '-q'], {
      input: r.stdout,
    })
    expect(back.stdout.trimEnd().split('\n')).toEqual(hexLines('hep-v3-ipv6.hex'))
  })

  it('reports a malformed packet with its position, goes on, and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hep-'))
    const lines = hexLines('hep-v2.hex').slice(0, 3)
    const bad = '48455033ffff0001'
    const f = join(dir, 'mixed.hex')
    writeFileSync(f, [lines[0], bad, 'zz', lines[1], lines[2]].join('\n') + '\n')
    const r = await hep(['decode', f, '--json'])
    expect(r.code).toBe(1)
    expect(packetLines(r.stdout)).toHaveLength(3)
    expect(summaryOf(r.stdout)).toMatchObject({ packets: 3, malformed: 2 })
    expect(r.stderr).toContain(`${f} line 2: `)
    expect(r.stderr).toMatch(/line 2: .*total length/)
    expect(r.stderr).toMatch(/line 3: not hex at column 1/)
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/) // no stack trace
  })

  it('names a missing file without a stack trace', async () => {
    const r = await hep(['decode', '/nonexistent/x.hex'])
    expect(r.code).toBe(2) // checked before work starts: a usage mistake (issue #10)
    expect(r.stderr).toContain('/nonexistent/x.hex')
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('ends promptly when stdout is closed (| head -1)', async () => {
    // ~40 MB of JSON to write: without EPIPE handling this would run to the end or hang
    const dir = mkdtempSync(join(tmpdir(), 'hep-'))
    const f = join(dir, 'big.hep')
    const one = Buffer.concat(hexLines('hep-v3.hex').map((h) => Buffer.from(h, 'hex')))
    writeFileSync(f, Buffer.concat(Array.from({ length: 2000 }, () => one)))
    const started = Date.now()
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(
        'sh',
        ['-c', `node "${BIN}" decode "${f}" --json | head -1 > "${join(dir, 'first')}"`],
        { cwd: ROOT },
      )
      child.on('close', resolve)
    })
    expect(code).toBe(0)
    expect(Date.now() - started).toBeLessThan(8000)
    expect(JSON.parse(readFileSync(join(dir, 'first'), 'utf8')).captureId).toBe(2001)
  })
})
