/**
 * Random and truncated RTCP: the parser never throws and always answers a report or an error; over a
 * capture, every such packet is counted (a report, a counted skip, or not RTCP at all), never thrown.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CaptureItems } from '../../src/capture/items.js'
import { parseRtcp } from '../../src/rtcp/rtcp.js'
import { BLOCK_A, INVITE, bye, rr, sdes, sdp, sr, writePcap, xr, type Frame } from '../helpers/rtcp.js'
import { rng } from '../helpers/rng.js'

const VALID = [
  Buffer.concat([
    sr(1, { msw: 1, lsw: 2, rtp: 3, packets: 4, octets: 5 }, [BLOCK_A]),
    sdes([{ ssrc: 1, items: [[1, 'cname']] }]),
  ]),
  Buffer.concat([rr(2, [BLOCK_A, BLOCK_A]), bye([2], 'bye')]),
  Buffer.concat([
    rr(3),
    xr(3, {
      ssrc: 3,
      loss: 1,
      discard: 2,
      burstDensity: 3,
      gapDensity: 4,
      burstDuration: 5,
      gapDuration: 6,
      rtt: 7,
      esd: 8,
      signal: -9,
      noise: -10,
      rerl: 11,
      gmin: 12,
      r: 13,
      extR: 14,
      mosLq: 40,
      mosCq: 41,
      rxConfig: 0,
      jbNominal: 1,
      jbMax: 2,
      jbAbsMax: 3,
    }),
  ]),
]

describe('RTCP fuzz', () => {
  const next = rng(7)
  const int = (n: number) => Math.floor(next() * n)
  const cases: Buffer[] = []
  for (const v of VALID) for (let cut = 0; cut < v.length; cut++) cases.push(v.subarray(0, cut))
  for (let i = 0; i < 3000; i++) {
    const v = Buffer.from(VALID[int(VALID.length)])
    for (let k = int(4) + 1; k > 0; k--) v[int(v.length)] = int(256)
    cases.push(v)
  }
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.alloc(int(120))
    for (let k = 0; k < b.length; k++) b[k] = int(256)
    if (b.length > 1) {
      b[0] = 0x80 | (b[0] & 0x3f)
      b[1] = 192 + int(32)
    }
    cases.push(b)
  }

  it('parseRtcp answers a report or an error for every case, never throws', () => {
    let reports = 0
    for (const c of cases) {
      const r = parseRtcp(c)
      expect((r.report === undefined) !== (r.error === undefined)).toBe(true)
      if (r.report) reports++
    }
    // the cases are not all rejected (mutations that keep lengths consistent still parse)
    expect(reports).toBeGreaterThan(100)
    expect(reports).toBeLessThan(cases.length)
  })

  const dir = mkdtempSync(join(tmpdir(), 'hep-rtcp-fuzz-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it.each(['correlated', 'all'] as const)(
    'over a capture (--rtcp %s), every packet is counted',
    async (mode) => {
      const frames: Frame[] = [
        {
          t: 0,
          src: '10.0.0.1',
          dst: '10.0.0.2',
          srcPort: 5060,
          dstPort: 5060,
          payload: INVITE('f', sdp('10.0.0.1', [{ port: 4000 }])),
        },
      ]
      cases.forEach((payload, i) =>
        frames.push({
          t: 1 + i / 1000,
          src: '10.0.0.2',
          dst: '10.0.0.1',
          srcPort: 7001,
          dstPort: i % 2 ? 4001 : 9001,
          payload,
        }),
      )
      const file = join(dir, `${mode}.pcap`)
      writePcap(file, frames)
      const c = new CaptureItems(file, file, { mode: 'sip', rtcp: mode })
      let items = 0
      for await (const b of c.batches()) items += b.filter((it) => it.packet?.payloadType === 5).length
      const k = c.rtcpCounts!
      const s = c.stats.skipped
      expect(k.items).toBe(items)
      expect(k.found).toBe(k.items + k.uncorrelated + k.malformed)
      expect(s['RTCP malformed'] ?? 0).toBe(k.malformed)
      expect(s['RTCP uncorrelated'] ?? 0).toBe(k.uncorrelated)
      // every record: the INVITE, an RTCP item, or a skip by some reason
      const skips = Object.values(s).reduce((a, b) => a + b, 0)
      expect(1 + items + skips).toBe(c.stats.records)
      expect(k.malformed).toBeGreaterThan(0)
    },
  )
})
