import { describe, expect, it } from 'vitest'
import { CaptureExtractor, type CapturedMessage } from '../../src/capture/extract.js'
import { fixture, hep, start, packetLines } from '../helpers/cli.js'

async function sipOf(name: string): Promise<CapturedMessage[]> {
  const out: CapturedMessage[] = []
  for await (const b of new CaptureExtractor(fixture(`captures/${name}`), { want: 'sip' }).batches()) {
    out.push(...b.map((m) => ({ ...m, payload: Buffer.from(m.payload) })))
  }
  return out
}

async function replayTo(name: string, extra: string[], expected: number) {
  const l = start([
    'listen',
    '--udp',
    '127.0.0.1:0',
    '--json',
    '--count',
    String(expected),
    '--duration',
    '20',
  ])
  const port = Number((await l.waitFor(/listening on udp [^ ]+:(\d+)/))[1])
  const r = await hep(['replay', fixture(`captures/${name}`), '--to', `127.0.0.1:${port}`, ...extra], {
    timeoutMs: 30000,
  })
  expect(await l.exited).toBe(0)
  const got = packetLines(l.stdout()).map((x) => JSON.parse(x))
  return { r, got }
}

describe('hep replay to a local hep listen', () => {
  it.each([
    ['sip-udp.pcapng', '3'],
    ['sip-udp.pcapng', '2'],
    ['sip-udp.pcapng', '1'],
    ['sip-tcp.pcap', '3'],
    ['sip-udp-ipv6.pcap', '3'],
    ['sip-udp-ipv4-frag.pcap', '3'],
    ['sip-tcp-segmented.pcap', '3'],
  ])(
    '%s as HEPv%s: every SIP message exactly once, fields right, order per call kept',
    async (name, version) => {
      const want = await sipOf(name)
      const { r, got } = await replayTo(
        name,
        ['--version', version, '--capture-id', '2002', '--max-gap', '0.02'],
        want.length,
      )
      expect(r.code).toBe(0)
      expect(r.stderr).toMatch(new RegExp(`packets sent\\s+│ ${want.length} `))
      expect(got).toHaveLength(want.length)
      const key = (ip: string, port: number, dip: string, dport: number, payload: string) =>
        `${ip}|${port}|${dip}|${dport}|${payload}`
      expect(got.map((g) => key(g.srcIp, g.srcPort, g.dstIp, g.dstPort, g.payload)).sort()).toEqual(
        want.map((m) => key(m.src, m.srcPort, m.dst, m.dstPort, m.payload.toString('utf8'))).sort(),
      )
      for (const g of got) {
        expect(g.version).toBe(Number(version))
        if (version !== '1') expect(g.captureId).toBe(2002)
        expect(g.protocol).toBe(name.includes('tcp') ? 6 : 17)
      }
      if (version !== '1') {
        // the capture's timestamps (µs) are kept
        const times = new Set(want.map((m) => `${m.seconds}.${Math.floor(m.nanos / 1000)}`))
        expect(got.every((g) => times.has(`${g.timeSeconds}.${g.timeUseconds}`))).toBe(true)
      }
      const perCall = (xs: { c: string; p: string }[]) => {
        const m = new Map<string, string[]>()
        for (const x of xs) m.set(x.c, [...(m.get(x.c) ?? []), x.p])
        return m
      }
      const callOf = (p: string) => /Call-ID: (.*)\r\n/i.exec(p)?.[1] ?? ''
      expect(perCall(got.map((g) => ({ c: callOf(g.payload), p: g.payload })))).toEqual(
        perCall(want.map((m) => ({ c: m.sip?.callId ?? '', p: m.payload.toString('utf8') }))),
      )
    },
  )
})

describe('hep replay options', () => {
  it('--dry-run --json prints the JSON form of each packet and sends nothing', async () => {
    const r = await hep([
      'replay',
      fixture('captures/sip-udp.pcapng'),
      '--dry-run',
      '--json',
      '--capture-id',
      '9',
      '--correlation-id',
      'auto',
    ])
    expect(r.code).toBe(0)
    const lines = packetLines(r.stdout).map((l) => JSON.parse(l))
    expect(lines).toHaveLength(18)
    expect(
      lines.every((l) => l.captureId === 9 && l.correlationId === /Call-ID: (.*)\r\n/.exec(l.payload)?.[1]),
    ).toBe(true)
  })

  it('--method keeps the requests of that method and the responses to them; --call-id one call', async () => {
    const inv = await hep([
      'replay',
      fixture('captures/sip-udp.pcapng'),
      '--dry-run',
      '--json',
      '--method',
      'INVITE',
    ])
    const lines = packetLines(inv.stdout).map((l) => JSON.parse(l))
    expect(lines).toHaveLength(9) // per call: INVITE, 180, 200
    expect(lines.every((l) => /CSeq: \d+ INVITE/.test(l.payload))).toBe(true)
    const one = await hep([
      'replay',
      fixture('captures/sip-udp.pcapng'),
      '--dry-run',
      '--json',
      '--call-id',
      '1-18356@127.0.0.1',
    ])
    expect(packetLines(one.stdout)).toHaveLength(6)
  })

  it('several files replay as one timeline merged by time; --limit and --loop', async () => {
    const r = await hep([
      'replay',
      fixture('captures/sip-misc-methods.pcap'),
      fixture('captures/sip-udp.pcap'),
      '--dry-run',
      '--json',
    ])
    const t = packetLines(r.stdout)
      .map((l) => JSON.parse(l))
      .map((l) => l.timeSeconds * 1e6 + l.timeUseconds)
    expect(t).toHaveLength(30)
    expect([...t].sort((a, b) => a - b)).toEqual(t)
    const lim = await hep(['replay', fixture('captures/sip-udp.pcap'), '--dry-run', '--json', '--limit', '5'])
    expect(packetLines(lim.stdout)).toHaveLength(5)
    const loop = await hep(['replay', fixture('captures/sip-udp.pcap'), '--dry-run', '--json', '--loop', '2'])
    expect(packetLines(loop.stdout)).toHaveLength(36)
  })

  it('--json gives the summary as one JSON object; --timestamps now shifts times to now', async () => {
    const l = start(['listen', '--udp', '127.0.0.1:0', '--json', '--count', '18'])
    const port = Number((await l.waitFor(/listening on udp [^ ]+:(\d+)/))[1])
    const before = Date.now() / 1000
    const r = await hep([
      'replay',
      fixture('captures/sip-udp.pcap'),
      '--to',
      `127.0.0.1:${port}`,
      '--json',
      '--timestamps',
      'now',
      '--speed',
      '4',
    ])
    expect(r.code).toBe(0)
    const s = JSON.parse(r.stdout.trim())
    expect(s).toMatchObject({ summary: true, sent: 18, failed: 0, dropped: 0 })
    expect(s.timing.count).toBe(18)
    await l.exited
    const got = packetLines(l.stdout()).map((x) => JSON.parse(x))
    expect(
      got.every((g) => g.timeSeconds >= Math.floor(before) && g.timeSeconds <= Date.now() / 1000 + 1),
    ).toBe(true)
  })

  it('bad flags are usage errors', async () => {
    expect((await hep(['replay', fixture('captures/sip-udp.pcap')])).code).toBe(2)
    expect(
      (
        await hep([
          'replay',
          fixture('captures/sip-udp.pcap'),
          '--to',
          '127.0.0.1:9',
          '--speed',
          '2',
          '--topspeed',
        ])
      ).code,
    ).toBe(2)
  })
})
