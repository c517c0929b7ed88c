// --json summaries have one shape: a last stdout line {"summary":true,…} (BaseCommand.summaryOut).
import { createSocket } from 'node:dgram'
import { describe, expect, it } from 'vitest'
import { fixture, hep } from '../helpers/cli.js'

describe('--json summary', () => {
  it('send --json ends with {"summary":true,…} counting what was sent', async () => {
    const rx = createSocket('udp4')
    let got = 0
    rx.on('message', () => got++)
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r))
    const s = await hep([
      'send',
      fixture('hep/hep-v3-extras.hex'),
      '--to',
      `127.0.0.1:${rx.address().port}`,
      '--json',
    ])
    rx.close()
    expect(s.code).toBe(0)
    const last = JSON.parse(s.stdout.trimEnd().split('\n').pop()!)
    expect(last).toMatchObject({ summary: true, failed: 0, dropped: 0 })
    expect(last.sent).toBeGreaterThan(0)
    expect(last.in).toBe(last.sent)
    expect(s.stderr).toBe('')
  })
})

describe('--json summary on every command', () => {
  it('decode, convert and replay --dry-run end with {"summary":true,…} whose counts add up', async () => {
    const dir = (await import('node:fs')).mkdtempSync(`${(await import('node:os')).tmpdir()}/hep-sum-`)
    const [d, c, r] = await Promise.all([
      hep(['decode', fixture('captures/hep-v3.pcap'), '--json', '--not-method', 'INVITE']),
      hep(['convert', fixture('captures/sip-rtp.pcap'), `${dir}/x.jsonl`, '--json', '--rtcp', 'off']),
      hep(['replay', fixture('captures/sip-udp.pcap'), '--dry-run', '--json', '--method', 'BYE']),
    ])
    const last = (s: string) => JSON.parse(s.trimEnd().split('\n').pop()!)
    const ds = last(d.stdout)
    expect(ds).toMatchObject({ summary: true, malformed: 0 })
    expect(ds.packets + ds.filtered).toBe(39)
    expect(d.stdout.trimEnd().split('\n')).toHaveLength(ds.packets + 1)
    const cs = last(c.stdout)
    expect(cs.summary).toBe(true)
    const skipped = Object.values(cs.skipped as Record<string, number>).reduce((a, b) => a + b, 0)
    expect(cs.records).toBe(242)
    expect(cs.out).toBe(6)
    expect(cs.out + skipped).toBe(cs.records)
    const rs = last(r.stdout)
    expect(rs).toMatchObject({ summary: true, dryRun: true, packets: 6 })
    expect(rs.skipped['filtered out']).toBe(12)
    for (const x of [d, c, r]) expect(x.stderr).toBe('')
  })
})

describe('decode --json of a capture', () => {
  it('counts what it skipped, as its note on stderr does: the counts add up to the records', async () => {
    const [plain, mixed] = await Promise.all([
      hep(['decode', fixture('captures/sip-udp.pcap'), '--json']),
      hep(['decode', fixture('captures/hep-v3.pcap'), fixture('captures/sip-udp.pcap'), '--json']),
    ])
    const last = (s: string) => JSON.parse(s.trimEnd().split('\n').pop()!)
    expect(last(plain.stdout)).toEqual({
      summary: true,
      packets: 0,
      malformed: 0,
      skipped: { 'SIP (not HEP)': 18 },
    })
    // summed over the inputs; a file with nothing skipped adds nothing
    expect(last(mixed.stdout)).toMatchObject({ packets: 39, malformed: 0, skipped: { 'SIP (not HEP)': 18 } })
    // nothing skipped: no key (as `filtered` without a filter)
    const hepOnly = await hep(['decode', fixture('captures/hep-v3.pcap'), '--json'])
    expect(last(hepOnly.stdout)).toEqual({ summary: true, packets: 39, malformed: 0 })
  })
})

describe('no rate when nothing was sent', () => {
  it('replay --dry-run --json: the summary has no achieved rate (nothing went out)', async () => {
    const r = await hep(['replay', fixture('captures/sip-udp.pcap'), '--dry-run', '--topspeed', '--json'])
    expect(r.code).toBe(0)
    const last = JSON.parse(r.stdout.trimEnd().split('\n').pop()!)
    expect(last).toMatchObject({ summary: true, dryRun: true, sent: 0 })
    expect(last.packets).toBe(18)
    expect(last).not.toHaveProperty('rate')
  })
})
