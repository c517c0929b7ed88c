/**
 * --rtcp on convert and replay, on fixtures/captures/sip-rtcp.pcap (one call, A's RTCP on RTP port +
 * 1, B's on a=rtcp's port; 3 SR+SDES from A, 3 RR+SDES from B, one RR of no call in the capture;
 * 24 RTP): the counts of each mode, the type-5 packets' fields, what decode and listen show.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { fixture, hep, start } from '../helpers/cli.js'

const CAP = fixture('captures/sip-rtcp.pcap')
const CALL = 'call-1@10.0.0.1'
const dir = mkdtempSync(join(tmpdir(), 'hep-rtcp-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const lines = (s: string) =>
  s
    .trimEnd()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
const row = (stderr: string, label: string) => {
  const m = new RegExp(`│ ${label.replace(/[()]/g, '\\$&')}\\s+│ (\\d+)`).exec(stderr)
  return m === null ? undefined : Number(m[1])
}

describe('hep convert --rtcp', () => {
  it("correlated (default): the call's 6 RTCP packets as type 5 with its Call-ID; the stray one skipped", async () => {
    const out = join(dir, 'c.jsonl')
    const r = await hep(['convert', CAP, out])
    expect(r.code, r.stderr).toBe(0)
    const got = lines(readFileSync(out, 'utf8'))
    const rtcp = got.filter((p) => p.payloadType === 5)
    expect(got).toHaveLength(9)
    expect(rtcp).toHaveLength(6)
    expect(rtcp.every((p) => p.correlationId === CALL && p.protocol === 17 && p.captureId === 1)).toBe(true)
    expect(rtcp.map((p) => `${p.srcIp}:${p.srcPort}>${p.dstIp}:${p.dstPort}`)).toEqual(
      Array.from({ length: 3 }, () => ['10.0.0.1:4001>10.0.0.2:5003', '10.0.0.2:5003>10.0.0.1:4001']).flat(),
    )
    const first = JSON.parse(rtcp[0].payload as string)
    expect(first).toMatchObject({ type: 200, ssrc: 0x11111111, report_count: 1, sdes_ssrc: 0x11111111 })
    expect(first.sender_information).toEqual({
      ntp_timestamp_sec: 3_999_000_000,
      ntp_timestamp_usec: 0x80000000,
      rtp_timestamp: 800,
      packets: 5,
      octets: 800,
    })
    // fraction lost 0, 10, 20 in the three rounds: heplify's MOS estimate 4.5, 4.0, 4.0
    expect(rtcp.filter((_, i) => i % 2 === 0).map((p) => p.mos)).toEqual([450, 400, 400])
    // the capture time of the RTCP packet (frame 11 of the capture)
    expect(rtcp[0].time).toBe('2026-09-21T14:13:20.131400Z')
    expect(row(r.stderr, 'SIP messages found')).toBe(3)
    expect(row(r.stderr, 'RTCP packets found')).toBe(7)
    expect(row(r.stderr, 'out (jsonl)')).toBe(9)
    expect(row(r.stderr, 'of which RTCP')).toBe(6)
    expect(row(r.stderr, 'skipped: RTCP uncorrelated')).toBe(1)
    expect(row(r.stderr, 'skipped: RTP')).toBe(24)
  })

  it('all: the stray RTCP too, without a correlation id; off: SIP only', async () => {
    const out = join(dir, 'a.jsonl')
    const all = await hep(['convert', CAP, out, '--rtcp', 'all'])
    expect(all.code).toBe(0)
    const rtcp = lines(readFileSync(out, 'utf8')).filter((p) => p.payloadType === 5)
    expect(rtcp).toHaveLength(7)
    expect(rtcp.filter((p) => p.correlationId === undefined).map((p) => p.srcIp)).toEqual(['10.9.9.9'])
    expect([row(all.stderr, 'RTCP packets found'), row(all.stderr, 'of which RTCP')]).toEqual([7, 7])
    expect(row(all.stderr, 'skipped: RTCP uncorrelated')).toBeUndefined()

    const off = await hep(['convert', CAP, out, '--rtcp', 'off'])
    expect(off.code).toBe(0)
    expect(lines(readFileSync(out, 'utf8')).map((p) => p.payloadType)).toEqual([1, 1, 1])
    expect(row(off.stderr, 'RTCP packets found')).toBeUndefined()
    expect(row(off.stderr, 'skipped: RTCP')).toBe(7)
  })

  it('into a HEP format other than JSON (hex): the same type-5 packets; into pcap: SIP only, said', async () => {
    const hex = join(dir, 'o.hex')
    expect((await hep(['convert', CAP, hex])).code).toBe(0)
    const back = await hep(['decode', hex, '--json'])
    expect(lines(back.stdout).filter((p) => p.payloadType === 5 && p.correlationId === CALL)).toHaveLength(6)
    const pcap = await hep(['convert', CAP, join(dir, 'o.pcap'), '--rtcp', 'all'])
    expect(pcap.code).toBe(0)
    expect(pcap.stderr).toMatch(/--rtcp: a pcap output holds SIP only/)
    expect(row(pcap.stderr, 'out (pcap)')).toBe(3)
  })

  it('HEPv2 output carries SIP only: RTCP off, said when asked for', async () => {
    const out = join(dir, 'v2.hex')
    const r = await hep(['convert', CAP, out, '--version', '2', '--rtcp', 'correlated'])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/HEPv2 carries SIP only/)
    expect(row(r.stderr, 'out (hex)')).toBe(3)
    const d = await hep(['replay', CAP, '--dry-run', '--version', '1'])
    expect(d.stderr).not.toMatch(/carries SIP only/)
    expect(row(d.stderr, 'packets (dry run)')).toBe(3)
  })

  it('rejects a mode it does not know', async () => {
    const r = await hep(['convert', CAP, join(dir, 'x.jsonl'), '--rtcp', 'some'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/correlated, all, off/)
  })
})

describe('decode of type-5 packets', () => {
  it('one readable line (SSRC, fraction lost, cumulative lost, jitter, MOS), --chunks a table, --json lossless', async () => {
    const out = join(dir, 'd.jsonl')
    await hep(['convert', CAP, out, '-q'])
    const text = readFileSync(out, 'utf8')
    const one = join(dir, 'one.jsonl')
    writeFileSync(one, text.split('\n')[4] + '\n') // round 2, from A: fraction lost 10, cumulative 1
    const d = await hep(['decode', one])
    expect(d.stdout).toMatch(
      /10\.0\.0\.1:4001 → 10\.0\.0\.2:5003 UDP RTCP corr call-1@10\.0\.0\.1 SR ssrc 0x11111111 fraction lost 10\/256 cumulative lost 1 jitter 417 MOS 4\.00\n/,
    )
    const c = await hep(['decode', one, '--chunks'])
    expect(c.stdout).toMatch(/│ 0x0020 │ mos +│ 8 +│ 400 /)
    expect(c.stdout).toMatch(/│ 1 +│ 0x22222222 +│ 10 +│ 1 +│ 9 +│ 417 +│ 2712847316 +│ 98304 │/)
    const j = await hep(['decode', out, '--json'])
    // (decode --json ends with its summary line)
    expect(
      j.stdout
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('{"summary":true'))
        .join('\n') + '\n',
    ).toBe(text)
  })
})

describe('hep replay --rtcp', () => {
  it("sends the SIP and the call's RTCP to a hep listen; the JSON summary counts them", async () => {
    const l = start(['listen', '--udp', '127.0.0.1:0', '--json', '--count', '9', '--duration', '20'])
    const port = Number((await l.waitFor(/listening on udp [^ ]+:(\d+)/))[1])
    const r = await hep(['replay', CAP, '--to', `127.0.0.1:${port}`, '--topspeed', '--json'], {
      timeoutMs: 30000,
    })
    expect(r.code, r.stderr).toBe(0)
    expect(await l.exited).toBe(0)
    const got = lines(l.stdout())
    expect(got.filter((p) => p.payloadType === 5 && p.correlationId === CALL)).toHaveLength(6)
    expect(got.filter((p) => p.payloadType === 1)).toHaveLength(3)
    const summary = lines(r.stdout).find((x) => x.summary === true) as Record<string, unknown>
    expect(summary.rtcp).toEqual({ found: 7, sent: 6, uncorrelated: 1, malformed: 0, leftOut: 0 })
    expect(summary.packets).toBe(9)
  })

  it("--call-id keeps the call's RTCP; --dry-run prints it as one line; off sends none", async () => {
    const f = await hep(['replay', CAP, '--dry-run', '--call-id', CALL])
    expect(f.stdout.split('\n').filter((x) => / (SR|RR) ssrc 0x/.test(x))).toHaveLength(6)
    expect(row(f.stderr, 'RTCP packets (dry run)')).toBe(6)
    const other = await hep(['replay', CAP, '--dry-run', '--call-id', 'nope', '--json'])
    expect(lines(other.stdout).filter((x) => x.summary !== true)).toEqual([])
    const off = await hep(['replay', CAP, '--dry-run', '--rtcp', 'off'])
    expect(row(off.stderr, 'packets (dry run)')).toBe(3)
    expect(row(off.stderr, 'RTCP packets found')).toBeUndefined()
  })
})
