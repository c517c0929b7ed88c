/**
 * The RTCP parser against packets built by hand from their fields (test/helpers/rtcp.ts writes each
 * field with its own Buffer call, at the offsets of RFC 3550 / 3611), a table of malformed packets,
 * and tshark's decode of the same packets in a pcap the test writes.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { looksLikeRtcp, mosOf, parseRtcp, rtcpCandidate, type RtcpReport } from '../../src/rtcp/rtcp.js'
import {
  app,
  BLOCK_A,
  bye,
  rr,
  rtp,
  sdes,
  sr,
  writePcap,
  xr,
  type Block,
  type VoipMetrics,
} from '../helpers/rtcp.js'

const INFO = { msw: 0xe8a1b2c3, lsw: 0x40000000, rtp: 123456789, packets: 4321, octets: 691360 }
const BLOCK_B: Block = {
  ssrc: 0xfeedbeef,
  fraction: 255,
  lost: 7,
  highest: 0x0002fffe,
  jitter: 0,
  lsr: 0,
  dlsr: 0,
}
const VM: VoipMetrics = {
  ssrc: 0x0badcafe,
  loss: 12,
  discard: 3,
  burstDensity: 40,
  gapDensity: 2,
  burstDuration: 120,
  gapDuration: 3400,
  rtt: 85,
  esd: 40,
  signal: -20,
  noise: -70,
  rerl: 25,
  gmin: 16,
  r: 88,
  extR: 127,
  mosLq: 41,
  mosCq: 39,
  rxConfig: 0x98,
  jbNominal: 40,
  jbMax: 80,
  jbAbsMax: 200,
}

function ok(p: Buffer): RtcpReport {
  const r = parseRtcp(p)
  if (r.error !== undefined) throw new Error(r.error)
  return r.report
}

const blockJson = (b: Block) => ({
  source_ssrc: b.ssrc,
  fraction_lost: b.fraction,
  packets_lost: b.lost,
  highest_seq_no: b.highest,
  ia_jitter: b.jitter,
  lsr: b.lsr,
  dlsr: b.dlsr,
})

describe('parseRtcp', () => {
  it('reads an SR with two report blocks, then SDES and BYE, into the layout heplify stores', () => {
    const p = Buffer.concat([
      sr(0x12345678, INFO, [BLOCK_A, BLOCK_B]),
      sdes([
        {
          ssrc: 0x12345678,
          items: [
            [1, 'alice@10.0.0.1'],
            [6, 'tool 1.0'],
          ],
        },
      ]),
      bye([0x12345678], 'hangup'),
    ])
    const r = ok(p)
    expect(r.sender_information).toEqual({
      ntp_timestamp_sec: 0xe8a1b2c3,
      ntp_timestamp_usec: 0x40000000,
      rtp_timestamp: 123456789,
      packets: 4321,
      octets: 691360,
    })
    expect(r.ssrc).toBe(0x12345678)
    expect(r.type).toBe(200)
    expect(r.report_count).toBe(2)
    expect(r.report_blocks).toEqual([blockJson(BLOCK_A), blockJson(BLOCK_B)])
    expect(r.sdes_ssrc).toBe(0x12345678)
    expect(r.sdes).toEqual([{ ssrc: 0x12345678, cname: 'alice@10.0.0.1', tool: 'tool 1.0' }])
    expect(r.bye).toEqual({ ssrcs: [0x12345678], reason: 'hangup' })
    expect(r.compound).toEqual([200, 202, 203])
    // no XR: heplify's zeroed block, no voip_metrics
    expect(r.report_blocks_xr.type).toBe(0)
    expect(r.voip_metrics).toBeUndefined()
    // the key order of HEP.md's layout
    expect(Object.keys(r).slice(0, 7)).toEqual([
      'sender_information',
      'ssrc',
      'type',
      'report_count',
      'report_blocks',
      'report_blocks_xr',
      'sdes_ssrc',
    ])
  })

  it('reads an RR after which an XR carries VoIP metrics (MOS-LQ byte 26, MOS-CQ byte 27, in tenths)', () => {
    const r = ok(Buffer.concat([rr(0xaabbccdd, [BLOCK_A]), xr(0xaabbccdd, VM)]))
    expect(r.type).toBe(201)
    expect(r.ssrc).toBe(0xaabbccdd)
    expect(r.sender_information.packets).toBe(0)
    expect(r.report_blocks).toEqual([blockJson(BLOCK_A)])
    expect(r.report_blocks_xr).toEqual({
      type: 7,
      id: VM.ssrc,
      fraction_lost: 12,
      fraction_discard: 3,
      burst_density: 40,
      gap_density: 2,
      burst_duration: 120,
      gap_duration: 3400,
      round_trip_delay: 85,
      end_system_delay: 40,
    })
    expect(r.voip_metrics).toEqual({
      ssrc: VM.ssrc,
      loss_rate: 12,
      discard_rate: 3,
      burst_density: 40,
      gap_density: 2,
      burst_duration: 120,
      gap_duration: 3400,
      round_trip_delay: 85,
      end_system_delay: 40,
      signal_level: -20,
      noise_level: -70,
      rerl: 25,
      gmin: 16,
      r_factor: 88,
      ext_r_factor: 127,
      mos_lq: 4.1,
      mos_cq: 3.9,
      rx_config: 0x98,
      jb_nominal: 40,
      jb_maximum: 80,
      jb_abs_max: 200,
    })
    expect(mosOf(r)).toBe(390)
  })

  it('finds the VoIP metrics block behind an XR block of another type', () => {
    const rrt = Buffer.from([4, 0, 0, 2, 0xe8, 0, 0, 1, 0, 0, 0, 2]) // block type 4 (RRT), 12 bytes
    const r = ok(xr(0x01020304, VM, rrt))
    expect(r.type).toBe(207)
    expect(r.ssrc).toBe(0x01020304)
    expect(r.voip_metrics?.mos_cq).toBe(3.9)
  })

  it('reads APP and reduced-size feedback packets, and a padded last packet', () => {
    const a = app(0x01010101, 3, 'PoC1', Buffer.from([1, 2, 3, 4]))
    expect(ok(a).app).toEqual([{ ssrc: 0x01010101, subtype: 3, name: 'PoC1', length: 4 }])
    // PSFB PLI (RFC 4585): sender SSRC + media SSRC
    const pli = Buffer.from([0x81, 206, 0, 2, 0, 0, 0, 9, 0, 0, 0, 10])
    const f = ok(pli)
    expect([f.type, f.ssrc, f.report_count, f.report_blocks.length]).toEqual([206, 9, 1, 0])
    // RR with 4 bytes of padding (count in the last octet)
    const padded = Buffer.concat([rr(5, [BLOCK_B]), Buffer.from([0, 0, 0, 4])])
    padded[0] |= 0x20
    padded.writeUInt16BE(padded.length / 4 - 1, 2)
    expect(ok(padded).report_blocks).toEqual([blockJson(BLOCK_B)])
    expect(looksLikeRtcp(padded)).toBe(true)
  })

  it('takes the report type and count of the first packet, the sender information of the first SR', () => {
    const r = ok(Buffer.concat([rr(1, [BLOCK_A]), sr(2, INFO, [BLOCK_B])]))
    expect([r.type, r.report_count, r.ssrc]).toEqual([201, 1, 1])
    expect(r.sender_information.octets).toBe(INFO.octets)
    expect(r.report_blocks.map((b) => b.source_ssrc)).toEqual([BLOCK_A.ssrc, BLOCK_B.ssrc])
  })

  const good = Buffer.concat([rr(0x11, [BLOCK_A]), sdes([{ ssrc: 0x11, items: [[1, 'x']] }])])
  const malformed: [string, Buffer, RegExp][] = [
    ['shorter than a header and SSRC', good.subarray(0, 7), /shorter than an RTCP header/],
    ['version 1', Buffer.from([0x41, 201, 0, 1, 0, 0, 0, 1]), /version 1, expected 2/],
    ['a length past the datagram', good.subarray(0, good.length - 4), /packet 2 .*length .* left/],
    [
      'a second packet of version 0',
      Buffer.concat([rr(1), Buffer.from([0x00, 202, 0, 0])]),
      /packet 2 .*version 0/,
    ],
    [
      'bytes after the last packet',
      Buffer.concat([rr(1), Buffer.from([0x80, 0xc9])]),
      /2 bytes left, not a header/,
    ],
    [
      'padding on the first of two packets',
      (() => {
        const b = Buffer.concat([rr(1), rr(2)])
        b[0] |= 0x20
        return b
      })(),
      /padding on a packet that is not the last/,
    ],
    [
      'an SR too short for its blocks',
      Buffer.from([0x81, 200, 0, 6, ...Buffer.alloc(24)]),
      /SR of 28 bytes cannot hold 1/,
    ],
    [
      'an RR too short for its blocks',
      Buffer.from([0x82, 201, 0, 7, ...Buffer.alloc(28)]),
      /RR of 32 bytes cannot hold 2/,
    ],
    [
      'an SDES item past its packet',
      Buffer.from([0x81, 202, 0, 2, 0, 0, 0, 1, 1, 9, 65, 66]),
      /SDES item 1 past/,
    ],
    [
      'a BYE reason past its packet',
      Buffer.from([0x81, 203, 0, 2, 0, 0, 0, 1, 8, 65, 66, 67]),
      /BYE reason of 8 bytes/,
    ],
    [
      'an XR block past its packet',
      Buffer.from([0x80, 207, 0, 2, 0, 0, 0, 1, 7, 0, 0, 8]),
      /XR block type 7 of 36 bytes past/,
    ],
    [
      'a VoIP metrics block of the wrong size',
      Buffer.from([0x80, 207, 0, 3, 0, 0, 0, 1, 7, 0, 0, 1, 0, 0, 0, 0]),
      /VoIP metrics block of 8 bytes, expected 36/,
    ],
    ['a first packet type outside RTCP', Buffer.from([0x80, 0x60, 0, 1, 0, 0, 0, 1]), /type 96 is not RTCP/],
  ]
  it.each(malformed)('names what is wrong with %s', (_name, p, re) => {
    const r = parseRtcp(p)
    expect(r.report).toBeUndefined()
    expect(r.error).toMatch(re)
  })
})

describe('telling RTCP from RTP', () => {
  it('rtcpCandidate rejects RTP of the usual payload types, with and without the marker bit', () => {
    for (const pt of [0, 3, 8, 9, 18, 96, 101, 111, 127])
      for (const m of [false, true]) expect(rtcpCandidate(rtp(pt, 1, 160, 1, m))).toBe(false)
    expect(rtcpCandidate(rr(1, [BLOCK_A]))).toBe(true)
    expect(rtcpCandidate(sr(1, INFO))).toBe(true)
    // RFC 5761's range 192..223 (what RTP with the marker bit would have at payload types 64..95)
    expect(rtcpCandidate(rtp(72, 1, 160, 1, true))).toBe(true)
    expect(rtcpCandidate(Buffer.from('INVITE sip:x SIP/2.0'))).toBe(false)
  })

  it('looksLikeRtcp wants a first type 200..207 and lengths that add up through the compound', () => {
    expect(
      looksLikeRtcp(Buffer.concat([sr(1, INFO, [BLOCK_A]), sdes([{ ssrc: 1, items: [[1, 'a']] }])])),
    ).toBe(true)
    // RTP with the marker bit and payload type 72: the second byte says RTCP, its "length" does not
    expect(looksLikeRtcp(rtp(72, 1, 160, 1, true))).toBe(false)
    expect(looksLikeRtcp(Buffer.concat([rr(1), Buffer.alloc(4)]))).toBe(false)
    const fir = Buffer.from([0x80, 192, 0, 1, 0, 0, 0, 1]) // RFC 2032 FIR first: not by content alone
    expect(looksLikeRtcp(fir)).toBe(false)
    expect(parseRtcp(fir).report?.type).toBe(192)
  })
})

describe('mosOf', () => {
  const withFraction = (fraction: number) => ok(rr(1, [{ ...BLOCK_A, fraction }]))
  it("estimates from the first block's fraction lost as heplify does", () => {
    expect([0, 9, 10, 24, 25, 49, 50, 99, 100, 255].map((f) => mosOf(withFraction(f)))).toEqual([
      450, 450, 400, 400, 350, 350, 300, 300, 250, 250,
    ])
    expect(mosOf(ok(sdes([{ ssrc: 1, items: [] }])))).toBeUndefined()
  })
  it('takes MOS-CQ from XR, unless it is 127 (unavailable)', () => {
    expect(mosOf(ok(Buffer.concat([rr(1, [BLOCK_A]), xr(1, { ...VM, mosCq: 44 })])))).toBe(440)
    expect(
      mosOf(ok(Buffer.concat([rr(1, [{ ...BLOCK_A, fraction: 30 }]), xr(1, { ...VM, mosCq: 127 })]))),
    ).toBe(350)
  })
})

describe('against tshark', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hep-rtcp-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const have = spawnSync('tshark', ['-v']).status === 0

  it.skipIf(!have && process.env.CI === undefined)('decodes every field as tshark does', () => {
    const packets = [
      Buffer.concat([
        sr(0x12345678, INFO, [BLOCK_A, BLOCK_B]),
        sdes([{ ssrc: 0x12345678, items: [[1, 'a@b']] }]),
      ]),
      Buffer.concat([
        rr(0xcafe0001, [{ ...BLOCK_B, lost: 0x7fffff }]),
        sdes([{ ssrc: 0xcafe0001, items: [[1, 'c']] }]),
      ]),
      Buffer.concat([sr(0x0000ffff, { ...INFO, packets: 0xffffffff }), bye([0x0000ffff])]),
      Buffer.concat([rr(0x99, [BLOCK_A]), xr(0x99, VM)]),
    ]
    const file = join(dir, 'rtcp.pcap')
    writePcap(
      file,
      packets.map((payload, i) => ({
        t: 1_700_000_000 + i,
        src: '10.0.0.1',
        dst: '10.0.0.2',
        srcPort: 4001,
        dstPort: 5003,
        payload,
      })),
    )
    const fields = [
      'rtcp.senderssrc',
      'rtcp.timestamp.ntp.msw',
      'rtcp.timestamp.ntp.lsw',
      'rtcp.timestamp.rtp',
      'rtcp.sender.packetcount',
      'rtcp.sender.octetcount',
      'rtcp.ssrc.identifier',
      'rtcp.ssrc.fraction',
      'rtcp.ssrc.cum_nr',
      'rtcp.ssrc.ext_high',
      'rtcp.ssrc.jitter',
      'rtcp.ssrc.lsr',
      'rtcp.ssrc.dlsr',
      'rtcp.xr.voipmetrics.signallevel',
      'rtcp.xr.voipmetrics.noiselevel',
      'rtcp.xr.voipmetrics.rfactor',
      'rtcp.xr.voipmetrics.moslq',
      'rtcp.xr.voipmetrics.moscq',
      'rtcp.xr.voipmetrics.jbabsmax',
      'rtcp.xr.voipmetrics.rtdelay',
    ]
    const out = spawnSync(
      'tshark',
      [
        '-r',
        file,
        '-d',
        'udp.port==5003,rtcp',
        '-T',
        'fields',
        '-E',
        'separator=\t',
        '-E',
        'occurrence=a',
        ...fields.flatMap((f) => ['-e', f]),
      ],
      { encoding: 'utf8' },
    )
    expect(out.status, out.stderr).toBe(0)
    const rows = out.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split('\t'))
    expect(rows).toHaveLength(packets.length)
    const num = (s: string) =>
      s
        .split(',')
        .filter((x) => x !== '')
        .map((x) => (x.startsWith('0x') ? parseInt(x, 16) : Number(x)))
    rows.forEach((row, i) => {
      const r = ok(packets[i])
      const t = Object.fromEntries(fields.map((f, k) => [f, num(row[k] ?? '')]))
      // tshark's senderssrc: every packet's sender SSRC (SR/RR/XR); ours is the first packet's
      expect(t['rtcp.senderssrc'][0]).toBe(r.ssrc)
      if (r.type === 200) {
        const s = r.sender_information
        expect([s.ntp_timestamp_sec, s.ntp_timestamp_usec, s.rtp_timestamp, s.packets, s.octets]).toEqual([
          t['rtcp.timestamp.ntp.msw'][0],
          t['rtcp.timestamp.ntp.lsw'][0],
          t['rtcp.timestamp.rtp'][0],
          t['rtcp.sender.packetcount'][0],
          t['rtcp.sender.octetcount'][0],
        ])
      }
      const b = r.report_blocks
      expect(b.map((x) => x.source_ssrc)).toEqual(t['rtcp.ssrc.identifier'].slice(0, b.length))
      expect(b.map((x) => x.fraction_lost)).toEqual(t['rtcp.ssrc.fraction'].slice(0, b.length))
      expect(b.map((x) => x.packets_lost)).toEqual(t['rtcp.ssrc.cum_nr'])
      expect(b.map((x) => x.highest_seq_no)).toEqual(t['rtcp.ssrc.ext_high'])
      expect(b.map((x) => x.ia_jitter)).toEqual(t['rtcp.ssrc.jitter'])
      expect(b.map((x) => x.lsr)).toEqual(t['rtcp.ssrc.lsr'])
      expect(b.map((x) => x.dlsr)).toEqual(t['rtcp.ssrc.dlsr'])
      // (this tshark names an SDES chunk's SSRC rtcp.ssrc.identifier, after the report blocks')
      if (r.sdes !== undefined) expect(r.sdes_ssrc).toBe(t['rtcp.ssrc.identifier'][b.length])
      const vm = r.voip_metrics
      if (vm !== undefined) {
        expect([vm.signal_level, vm.noise_level, vm.r_factor, vm.jb_abs_max, vm.round_trip_delay]).toEqual([
          t['rtcp.xr.voipmetrics.signallevel'][0],
          t['rtcp.xr.voipmetrics.noiselevel'][0],
          t['rtcp.xr.voipmetrics.rfactor'][0],
          t['rtcp.xr.voipmetrics.jbabsmax'][0],
          t['rtcp.xr.voipmetrics.rtdelay'][0],
        ])
        expect(vm.mos_lq).toBeCloseTo(t['rtcp.xr.voipmetrics.moslq'][0], 5)
        expect(vm.mos_cq).toBeCloseTo(t['rtcp.xr.voipmetrics.moscq'][0], 5)
      }
    })
  })
})
