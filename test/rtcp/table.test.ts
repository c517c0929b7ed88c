/**
 * The media table (which call an RTCP endpoint belongs to) and the correlator over captures written
 * here: BYE/CANCEL + grace, idle limit, the bound on calls, ports reused by a later call; RTCP
 * multiplexed on the RTP port, on a=rtcp's port, over IPv6, from a multipart body.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CaptureItems } from '../../src/capture/items.js'
import { BACKLOG, type RtcpMode } from '../../src/rtcp/correlate.js'
import type { MediaTableOptions } from '../../src/rtcp/table.js'
import { MediaTable } from '../../src/rtcp/table.js'
import { BLOCK_A, BYE, CANCEL, INVITE, OK, rr, rtp, sdp, writePcap, type Frame } from '../helpers/rtcp.js'

const ep = (ip: string, port: number) => ({ ip, port, mux: false })

describe('MediaTable', () => {
  it('keeps a call for the grace period after its BYE, then forgets it', () => {
    const t = new MediaTable({ graceMs: 5000 })
    t.offer('c1', [ep('10.0.0.1', 4001)], 1000)
    t.end('c1', 2000)
    expect(t.lookup('10.0.0.1', 4001, 6999)).toBe('c1')
    expect(t.lookup('10.0.0.1', 4001, 7000)).toBeUndefined()
    expect(t.stats).toMatchObject({ calls: 0, endpoints: 0, ended: 1 })
  })

  it('forgets a call idle (no SIP, no RTCP) for the idle limit; RTCP keeps it alive', () => {
    const t = new MediaTable({ idleMs: 60_000 })
    t.offer('c1', [ep('10.0.0.1', 4001)], 0)
    t.offer('c2', [ep('10.0.0.2', 4001)], 0)
    expect(t.lookup('10.0.0.1', 4001, 50_000)).toBe('c1')
    expect(t.lookup('10.0.0.1', 4001, 100_000)).toBe('c1') // 50 s after its last RTCP
    expect(t.lookup('10.0.0.2', 4001, 100_000)).toBeUndefined() // 100 s idle
    expect(t.stats).toMatchObject({ calls: 1, idle: 1 })
  })

  it('holds at most maxCalls, forgetting the least recently active', () => {
    const t = new MediaTable({ maxCalls: 3 })
    for (let i = 1; i <= 3; i++) t.offer(`c${i}`, [ep('10.0.0.1', 4000 + i)], i)
    t.lookup('10.0.0.1', 4001, 10) // c1 active again: c2 is now the oldest
    t.offer('c4', [ep('10.0.0.1', 4004)], 11)
    expect(t.stats).toMatchObject({ calls: 3, endpoints: 3, evicted: 1 })
    expect(t.lookup('10.0.0.1', 4002, 12)).toBeUndefined()
    expect(['c1', 'c3', 'c4'].map((c, i) => t.lookup('10.0.0.1', [4001, 4003, 4004][i], 12))).toEqual([
      'c1',
      'c3',
      'c4',
    ])
  })

  it('bounds the endpoints of a call (re-INVITEs), the oldest going first', () => {
    const t = new MediaTable({ maxEndpointsPerCall: 2 })
    t.offer('c1', [ep('10.0.0.1', 1)], 0)
    t.offer('c1', [ep('10.0.0.1', 2)], 1)
    t.offer('c1', [ep('10.0.0.1', 3)], 2)
    expect(t.stats.endpoints).toBe(2)
    expect(t.lookup('10.0.0.1', 1, 3)).toBeUndefined()
    expect(t.lookup('10.0.0.1', 3, 3)).toBe('c1')
  })

  it('gives a reused port to the later call; forgetting the earlier one leaves it', () => {
    const t = new MediaTable({ graceMs: 10 })
    t.offer('old', [ep('10.0.0.1', 4001)], 0)
    t.offer('new', [ep('10.0.0.1', 4001)], 5)
    t.end('old', 6)
    expect(t.lookup('10.0.0.1', 4001, 100)).toBe('new')
  })

  it('a CANCEL ends a call as a BYE does; a second BYE does not extend it; time never runs back', () => {
    const t = new MediaTable({ graceMs: 1000 })
    t.offer('c1', [ep('::1', 4001)], 0)
    t.end('c1', 0)
    t.end('c1', 900)
    expect(t.lookup('::1', 4001, 500)).toBe('c1')
    expect(t.lookup('::1', 4001, 1000)).toBeUndefined()
    t.offer('c2', [ep('::1', 5001)], 0) // an earlier time than seen: judged at the latest time
    expect(t.lookup('::1', 5001, 10)).toBe('c2')
  })
})

describe('the correlator over captures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hep-rtcp-table-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  let n = 0

  async function run(frames: Frame[], rtcp: RtcpMode = 'correlated', mediaTable?: MediaTableOptions) {
    const file = join(dir, `c${++n}.pcap`)
    writePcap(file, frames)
    const c = new CaptureItems(file, file, { mode: 'sip', rtcp, mediaTable })
    const items = []
    for await (const b of c.batches()) items.push(...b)
    return { items, counts: c.rtcpCounts!, skipped: c.stats.skipped }
  }
  const rtcpItems = (items: Awaited<ReturnType<typeof run>>['items']) =>
    items.filter((i) => i.packet?.payloadType === 5).map((i) => [i.packet?.srcPort, i.packet?.correlationId])

  const A = '10.0.0.1'
  const B = '10.0.0.2'
  const sipF = (t: number, payload: Buffer, from = A, to = B): Frame => ({
    t,
    src: from,
    dst: to,
    srcPort: 5060,
    dstPort: 5060,
    payload,
  })
  const rtcpF = (
    t: number,
    srcPort: number,
    dstPort: number,
    from = B,
    to = A,
    payload = rr(7, [BLOCK_A]),
  ): Frame => ({
    t,
    src: from,
    dst: to,
    srcPort,
    dstPort,
    payload,
  })

  it('RTCP on the RTP port with a=rtcp-mux: told from RTP by RFC 5761, of the call', async () => {
    const r = await run([
      sipF(0, INVITE('mux', sdp(A, [{ port: 4000, mux: true }]))),
      sipF(0.1, OK('mux', sdp(B, [{ port: 5000, mux: true }])), B, A),
      { t: 0.2, src: B, dst: A, srcPort: 5000, dstPort: 4000, payload: rtp(0, 1, 160, 9) },
      { t: 0.21, src: B, dst: A, srcPort: 5000, dstPort: 4000, payload: rtp(111, 2, 320, 9, true) },
      rtcpF(0.3, 5000, 4000),
    ])
    expect(rtcpItems(r.items)).toEqual([[5000, 'mux']])
    expect(r.skipped.RTP).toBe(2)
  })

  it("a=rtcp's port and address; the answer's endpoint matched as the RTCP's source", async () => {
    const r = await run([
      sipF(0, INVITE('c1', sdp(A, [{ port: 4000, rtcp: '4100 IN IP4 10.0.0.5' }]))),
      rtcpF(0.1, 4100, 6000, '10.0.0.5', '10.0.0.7'),
    ])
    expect(rtcpItems(r.items)).toEqual([[4100, 'c1']])
  })

  it('IPv6 endpoints from an SDP in a multipart body', async () => {
    const X = '2001:db8::1'
    const Y = '2001:db8::2'
    const body = `--xx\r\nContent-Type: application/sdp\r\n\r\n${sdp('2001:DB8::0:1', [{ port: 4000 }])}\r\n--xx--\r\n`
    const r = await run([
      sipF(0, INVITE('v6', body, 'multipart/mixed;boundary=xx'), X, Y),
      rtcpF(0.1, 6001, 4001, Y, X),
    ])
    expect(rtcpItems(r.items)).toEqual([[6001, 'v6']])
  })

  it('after BYE + grace (capture time) the RTCP of the call is uncorrelated; CANCEL too', async () => {
    const frames = [
      sipF(0, INVITE('c1', sdp(A, [{ port: 4000 }]))),
      sipF(1, BYE('c1')),
      rtcpF(1 + 4.9, 7001, 4001),
      rtcpF(1 + 5.1, 7001, 4001),
      sipF(10, INVITE('c2', sdp(A, [{ port: 4010 }]))),
      sipF(11, CANCEL('c2')),
      rtcpF(20, 7001, 4011),
    ]
    const r = await run(frames, 'correlated', { graceMs: 5000 })
    expect(rtcpItems(r.items)).toEqual([[7001, 'c1']])
    expect(r.counts).toEqual({
      found: 3,
      items: 1,
      itemsUncorrelated: 0,
      uncorrelated: 2,
      malformed: 0,
      backlogDropped: 0,
    })
    expect(r.skipped['RTCP uncorrelated']).toBe(2)
    // --rtcp all: the same three, the late ones without a correlation id
    const all = await run(frames, 'all', { graceMs: 5000 })
    expect(rtcpItems(all.items)).toEqual([
      [7001, 'c1'],
      [7001, undefined],
      [7001, undefined],
    ])
    expect(all.counts).toMatchObject({ found: 3, items: 3, itemsUncorrelated: 2, uncorrelated: 0 })
  })

  it('after the idle limit the call is forgotten', async () => {
    const r = await run(
      [sipF(0, INVITE('c1', sdp(A, [{ port: 4000 }]))), rtcpF(50, 7001, 4001), rtcpF(200, 7001, 4001)],
      'correlated',
      { idleMs: 100_000 },
    )
    expect(rtcpItems(r.items)).toEqual([[7001, 'c1']])
    expect(r.counts.uncorrelated).toBe(1)
  })

  it('malformed RTCP on a call endpoint or by content: counted, not thrown; RTP with byte 194 not RTCP', async () => {
    const broken = rr(7, [BLOCK_A]).subarray(0, 20) // its length says 32 bytes
    const r = await run([
      sipF(0, INVITE('c1', sdp(A, [{ port: 4000 }]))),
      rtcpF(0.1, 7001, 4001, B, A, broken),
      rtcpF(0.2, 7001, 9999, B, A, broken),
      rtcpF(0.3, 7001, 9999, B, A, rtp(66, 1, 160, 9, true)),
    ])
    expect(r.counts).toEqual({
      found: 2,
      items: 0,
      itemsUncorrelated: 0,
      uncorrelated: 0,
      malformed: 2,
      backlogDropped: 0,
    })
    expect(r.skipped['RTCP malformed']).toBe(2)
    // RTP with the marker bit and payload type 66 (second byte 194, in RFC 5761's range): RTP
    expect(r.skipped.RTP).toBe(1)
  })

  it('before the first RTCP, the last BACKLOG SDP messages are kept (no SDP read), the rest counted', async () => {
    const frames: Frame[] = []
    const n = BACKLOG + 8
    for (let k = 0; k < n; k++) {
      const ip = `10.1.${k >> 8}.${k & 255}`
      frames.push(sipF(k / 1000, INVITE(`c${k}`, sdp(ip, [{ port: 4000 }])), ip, B))
    }
    frames.push(rtcpF(20, 7001, 4001, B, '10.1.0.0')) // the first call's: forgotten
    frames.push(rtcpF(20.1, 7001, 4001, B, `10.1.${(n - 1) >> 8}.${(n - 1) & 255}`)) // the last one's
    const r = await run(frames)
    expect(rtcpItems(r.items)).toEqual([[7001, `c${n - 1}`]])
    expect(r.counts).toMatchObject({ found: 2, items: 1, uncorrelated: 1, backlogDropped: 8 })
  })

  it('the first RTP starts the reading: calls after it are all known, however many before the RTCP', async () => {
    const frames: Frame[] = [
      sipF(0, INVITE('first', sdp(A, [{ port: 4000 }]))),
      { t: 0.01, src: B, dst: A, srcPort: 5000, dstPort: 4000, payload: rtp(0, 1, 160, 9) },
    ]
    for (let k = 0; k < BACKLOG + 8; k++) {
      const ip = `10.1.${k >> 8}.${k & 255}`
      frames.push(sipF(1 + k / 1000, INVITE(`c${k}`, sdp(ip, [{ port: 4000 }])), ip, B))
    }
    frames.push(rtcpF(20, 7001, 4001, B, A), rtcpF(20.1, 7001, 4001, B, '10.1.0.0'))
    const r = await run(frames)
    expect(rtcpItems(r.items)).toEqual([
      [7001, 'first'],
      [7001, 'c0'],
    ])
    expect(r.counts.backlogDropped).toBe(0)
  })

  it('--rtcp off: no RTCP items, the old "RTCP" skip label', async () => {
    const file = join(dir, 'off.pcap')
    writePcap(file, [sipF(0, INVITE('c1', sdp(A, [{ port: 4000 }]))), rtcpF(0.1, 7001, 4001)])
    const c = new CaptureItems(file, file, { mode: 'sip', rtcp: 'off' })
    const items = []
    for await (const b of c.batches()) items.push(...b)
    expect(items.map((i) => i.packet?.payloadType)).toEqual([1])
    expect(c.rtcpCounts).toBeUndefined()
    expect(c.stats.skipped.RTCP).toBe(1)
  })
})
