// A replay that stops early (--limit, Ctrl-C) still counts what it read: records, the skip tally
// (RTP, STUN...), the RTCP found and what the stop left. Every count is true and they add up, in the
// --json summary and the text one. (They were taken only when a loop ran to its end: a stop gave
// records 0, no RTP, and fewer RTCP found than sent.)
import { createSocket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { fixture, hep, start, type Running } from '../helpers/cli.js'

/** 109 records, all UDP: 7 SIP, 12 RTCP of the call, 81 RTP, 9 STUN; 9 s long */
const LINPHONE = fixture('rtcp/linphone-ipv4.pcap')
const RECORDS = 109

interface Summary {
  packets: number
  sent: number
  failed: number
  dropped: number
  records: number
  skipped: Record<string, number>
  rtcp: { found: number; sent: number; uncorrelated: number; malformed: number; leftOut: number }
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0)

/** The relations a summary keeps, for UDP captures (one record, one message) read without filters. */
function addsUp(s: Summary, dry: boolean): void {
  if (!dry) expect(s.sent + s.failed + s.dropped).toBe(s.packets)
  // every record read was sent or skipped for one reason
  expect(s.packets + sum(s.skipped)).toBe(s.records)
  expect(s.rtcp.sent + s.rtcp.uncorrelated + s.rtcp.malformed + s.rtcp.leftOut).toBe(s.rtcp.found)
  expect(s.rtcp.sent).toBeLessThanOrEqual(s.packets)
}

function summaryLine(stdout: string): Summary {
  const line = stdout.trimEnd().split('\n').at(-1) ?? ''
  expect(line.startsWith('{"summary":true')).toBe(true)
  return JSON.parse(line) as Summary
}

/** The rows of a text summary table (│ name │ value │). */
function rows(stderr: string): Map<string, number> {
  const m = new Map<string, number>()
  for (const r of stderr.matchAll(/│ ([^│]+?) +│ (\d+) +│/g)) m.set(r[1], Number(r[2]))
  return m
}

const running: Running[] = []
const closers: (() => void)[] = []
afterEach(() => {
  for (const r of running.splice(0)) r.child.kill('SIGKILL')
  for (const c of closers.splice(0)) c()
})

describe('replay --limit: the counts of what was read add up', () => {
  it.each([1, 6, 12])('--limit %i, --json', async (n) => {
    const r = await hep(['replay', LINPHONE, '--dry-run', '--topspeed', '--json', '--limit', String(n)])
    expect(r.code).toBe(0)
    const s = summaryLine(r.stdout)
    expect(s.packets).toBe(n)
    addsUp(s, true)
    expect(s.records).toBe(RECORDS) // the capture fits one read: all of it was read
    expect(s.skipped.RTP).toBe(81)
    expect(s.skipped['left by the stop']).toBe(19 - n)
    expect(s.rtcp.found).toBe(12)
  })

  it('a run to the end leaves nothing "left by the stop"', async () => {
    const r = await hep(['replay', LINPHONE, '--dry-run', '--topspeed', '--json'])
    const s = summaryLine(r.stdout)
    addsUp(s, true)
    expect(s.packets).toBe(19)
    expect(s.skipped['left by the stop']).toBeUndefined()
    expect(s.rtcp).toMatchObject({ found: 12, sent: 12, leftOut: 0 })
  })

  it('two captures merged by time, --loop 2, stopped in the second loop', async () => {
    const files = [LINPHONE, fixture('rtcp/baresip-ipv4.pcap')]
    const full = summaryLine((await hep(['replay', ...files, '--dry-run', '--topspeed', '--json'])).stdout)
    const n = full.packets + 5
    const r = await hep([
      'replay',
      ...files,
      '--dry-run',
      '--topspeed',
      '--json',
      '--loop',
      '2',
      '--limit',
      String(n),
    ])
    const s = summaryLine(r.stdout)
    expect(s.packets).toBe(n)
    addsUp(s, true)
    // the first loop whole, the second at least as far as its 5 packets
    expect(s.records).toBeGreaterThan(full.records)
    expect(s.skipped.RTP).toBeGreaterThan(full.skipped.RTP)
    expect(s.rtcp.found).toBeGreaterThan(full.rtcp.found)
  })

  it('the text summary: RTCP found = sent + left out (+ skipped as uncorrelated, malformed)', async () => {
    const r = await hep(['replay', LINPHONE, '--dry-run', '--topspeed', '--limit', '8'])
    expect(r.code).toBe(0)
    const t = rows(r.stderr)
    expect(t.get('packets (dry run)')).toBe(8)
    expect(t.get('RTCP packets found')).toBe(12)
    expect(t.get('RTCP packets (dry run)')).toBe(3)
    expect(t.get('RTCP left out (filters, encoding, stop)')).toBe(9)
    expect(t.get('skipped: RTP')).toBe(81)
    expect(t.get('skipped: left by the stop')).toBe(11)
  })
})

describe('replay stopped by Ctrl-C mid-replay: the counts add up', () => {
  /** replays the 9 s capture at its own pace to a UDP sink; SIGINT once 7 packets arrived (2 RTCP) */
  async function stoppedReplay(json: boolean): Promise<{ out: Running; code: number | null; got: number }> {
    const sock = createSocket('udp4')
    await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()))
    closers.push(() => sock.close())
    let got = 0
    const seven = new Promise<void>((res) =>
      sock.on('message', () => {
        if (++got === 7) res()
      }),
    )
    const out = start([
      'replay',
      LINPHONE,
      '--to',
      `127.0.0.1:${sock.address().port}`,
      ...(json ? ['--json'] : []),
    ])
    running.push(out)
    await seven
    out.child.kill('SIGINT')
    const code = await out.exited
    return { out, code, got }
  }

  it('--json', async () => {
    const { out, code, got } = await stoppedReplay(true)
    expect(code).toBe(0)
    const s = summaryLine(out.stdout())
    addsUp(s, false)
    expect(s.sent).toBeGreaterThanOrEqual(7)
    expect(s.sent).toBeLessThan(19) // stopped mid-replay
    expect(s.sent).toBeGreaterThanOrEqual(got)
    expect(s.records).toBe(RECORDS)
    expect(s.skipped['left by the stop']).toBe(19 - s.packets)
    expect(s.rtcp.sent).toBe(s.packets - 5) // 5 SIP messages, then RTCP
  })

  it('text', async () => {
    const { out, code } = await stoppedReplay(false)
    expect(code).toBe(0)
    const t = rows(out.stderr())
    const sent = t.get('packets sent') ?? -1
    expect(sent).toBeGreaterThanOrEqual(7)
    expect(sent).toBeLessThan(19)
    expect(t.get('failed')).toBe(0)
    expect(t.get('dropped')).toBe(0)
    expect(t.get('RTCP packets found')).toBe(12)
    expect(t.get('RTCP packets sent')).toBe(sent - 5)
    expect(t.get('RTCP left out (filters, encoding, stop)')).toBe(12 - (sent - 5))
    expect(t.get('skipped: left by the stop')).toBe(19 - sent)
    // every record of the capture is a packet sent or a skip
    let skipped = 0
    for (const [k, v] of t) if (k.startsWith('skipped: ')) skipped += v
    expect(sent + skipped).toBe(RECORDS)
  })
})

describe('replay on two threads (--topspeed), stopped by Ctrl-C: the counts add up', () => {
  it('--loop 0 to a UDP sink, Ctrl-C after 300 packets arrived', async () => {
    const sock = createSocket('udp4')
    await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()))
    closers.push(() => sock.close())
    let got = 0
    const enough = new Promise<void>((res) =>
      sock.on('message', () => {
        if (++got === 300) res()
      }),
    )
    const out = start(
      ['replay', LINPHONE, '--to', `127.0.0.1:${sock.address().port}`, '--topspeed', '--loop', '0', '--json'],
      { env: { HEP_REPLAY_THREADS: '1' } },
    )
    running.push(out)
    await enough
    out.child.kill('SIGINT')
    expect(await out.exited).toBe(0)
    const s = summaryLine(out.stdout()) as Summary & { threads?: number; loops: number }
    expect(s.threads).toBe(2)
    addsUp(s, false)
    expect(s.sent).toBeGreaterThanOrEqual(300)
    expect(s.records).toBeGreaterThanOrEqual(RECORDS * Math.floor(s.packets / 19))
  })
})
