/**
 * RTCP of real calls -> HEP type 5, checked against tshark. The captures are linphone-cli 5.1 and
 * baresip 1.0 calls made here over loopback (fixtures/rtcp/README.md: IPv4 and IPv6, with and
 * without rtcp-mux, RTCP XR with receiver reference time and with VoIP metrics, 8 % RTP loss, APP
 * and BYE packets); each has an oracle made by tshark 4.0
 * (fixtures/rtcp/oracle.py, every value cross-checked there against the packet's bytes): per RTCP
 * packet on the call's media endpoints its frame, time, addresses, ports, the Call-ID of the SIP whose
 * SDP set it up, and tshark's decode of every packet of the compound.
 *
 * `hep convert FIXTURE out.jsonl` must give exactly one type-5 HEP item per such packet, with the
 * packet's addresses, ports and time, the Call-ID as correlation id, and a JSON report equal field by
 * field to tshark's decode; RTP and the STUN keep-alives on the same ports give none; `--rtcp off`
 * gives none at all; the summary's counts add up.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hep } from '../helpers/cli.js'
import {
  ORACLES,
  RTCP_DIR,
  type TsharkBlock,
  type TsharkPacket,
  type TsharkXrBlock,
} from '../helpers/rtcp-oracle.js'

interface Item {
  payloadType: number
  protocolFamily: number
  protocol: number
  srcIp: string
  srcPort: number
  dstIp: string
  dstPort: number
  timeSeconds: number
  timeUseconds: number
  correlationId?: string
  mos?: number
  payload: string
}

const SDES_ITEM: Record<number, string> = {
  1: 'cname',
  2: 'name',
  3: 'email',
  4: 'phone',
  5: 'loc',
  6: 'tool',
  7: 'note',
}

/**
 * The HEP report (HEP.md "RTCP as HEP", heplify's names) that tshark's decode of a compound calls
 * for: type, report count and SSRC of the first packet; sender information of the SR; every report
 * block of the SR/RR packets, in order; the SSRC of the first SDES chunk; the first XR VoIP metrics
 * block, flat (report_blocks_xr) and whole (voip_metrics, MOS / 10 as tshark shows it).
 */
function expectedReport(packets: TsharkPacket[]): Record<string, unknown> {
  const first = packets[0]
  const sr = packets.find((p) => p['rtcp.pt'] === 200)
  const sdes = packets.find((p) => p['rtcp.pt'] === 202)
  const voip = packets
    .filter((p) => p['rtcp.pt'] === 207)
    .flatMap((p) => (p.blocks ?? []) as TsharkXrBlock[])
    .find((b) => b['rtcp.xr.bt'] === 7)
  const v = (f: string) => voip![`rtcp.xr.voipmetrics.${f}`]
  const firstSsrc = first['rtcp.senderssrc'] ?? first['rtcp.ssrc.identifier']
  const report: Record<string, unknown> = {
    type: first['rtcp.pt'],
    // the sender SSRC; a BYE's first SSRC, an APP's SSRC when the compound starts with one
    ssrc: Array.isArray(firstSsrc) ? firstSsrc[0] : firstSsrc,
    report_count: first['rtcp.rc'] ?? first['rtcp.sc'] ?? first['rtcp.app.subtype'],
    sender_information: {
      ntp_timestamp_sec: sr?.['rtcp.timestamp.ntp.msw'] ?? 0,
      ntp_timestamp_usec: sr?.['rtcp.timestamp.ntp.lsw'] ?? 0,
      rtp_timestamp: sr?.['rtcp.timestamp.rtp'] ?? 0,
      packets: sr?.['rtcp.sender.packetcount'] ?? 0,
      octets: sr?.['rtcp.sender.octetcount'] ?? 0,
    },
    report_blocks: packets
      .filter((p) => p['rtcp.pt'] === 200 || p['rtcp.pt'] === 201)
      .flatMap((p) => (p.blocks ?? []) as TsharkBlock[])
      .map((b) => ({
        source_ssrc: b['rtcp.ssrc.identifier'],
        fraction_lost: b['rtcp.ssrc.fraction'],
        packets_lost: b['rtcp.ssrc.cum_nr'],
        highest_seq_no: b['rtcp.ssrc.ext_high'],
        ia_jitter: b['rtcp.ssrc.jitter'],
        lsr: b['rtcp.ssrc.lsr'],
        dlsr: b['rtcp.ssrc.dlsr'],
      })),
    sdes_ssrc: sdes?.chunks?.[0]['rtcp.ssrc.identifier'] ?? 0,
    report_blocks_xr: {
      type: voip === undefined ? 0 : 7,
      id: voip?.['rtcp.ssrc.identifier'] ?? 0,
      fraction_lost: voip?.['rtcp.ssrc.fraction'] ?? 0,
      fraction_discard: voip?.['rtcp.ssrc.discarded'] ?? 0,
      burst_density: voip === undefined ? 0 : v('burstdensity'),
      gap_density: voip === undefined ? 0 : v('gapdensity'),
      burst_duration: voip === undefined ? 0 : v('burstduration'),
      gap_duration: voip === undefined ? 0 : v('gapduration'),
      round_trip_delay: voip === undefined ? 0 : v('rtdelay'),
      end_system_delay: voip === undefined ? 0 : v('esdelay'),
    },
  }
  const bye = packets.find((p) => p['rtcp.pt'] === 203)
  if (bye !== undefined)
    report.bye = {
      ssrcs: bye['rtcp.ssrc.identifier'],
      ...(bye['rtcp.sdes.text'] === undefined ? {} : { reason: bye['rtcp.sdes.text'] }),
    }
  const apps = packets.filter((p) => p['rtcp.pt'] === 204)
  if (apps.length > 0)
    report.app = apps.map((a) => ({
      ssrc: a['rtcp.ssrc.identifier'],
      subtype: a['rtcp.app.subtype'],
      name: a['rtcp.app.name'],
      length: a['app.data.length'],
    }))
  if (voip !== undefined) {
    report.voip_metrics = {
      ssrc: voip['rtcp.ssrc.identifier'],
      loss_rate: voip['rtcp.ssrc.fraction'],
      discard_rate: voip['rtcp.ssrc.discarded'],
      burst_density: v('burstdensity'),
      gap_density: v('gapdensity'),
      burst_duration: v('burstduration'),
      gap_duration: v('gapduration'),
      round_trip_delay: v('rtdelay'),
      end_system_delay: v('esdelay'),
      signal_level: v('signallevel'),
      noise_level: v('noiselevel'),
      rerl: v('rerl'),
      gmin: v('gmin'),
      r_factor: v('rfactor'),
      ext_r_factor: v('extrfactor'),
      mos_cq: v('moscq'),
      mos_lq: v('moslq'),
      rx_config: (v('plc') << 6) | (v('jba') << 4) | v('jbrate'),
      jb_nominal: v('jbnominal'),
      jb_maximum: v('jbmax'),
      jb_abs_max: v('jbabsmax'),
    }
  }
  return report
}

/** The SDES items of the compound as tshark read them: [{ ssrc, cname, tool, ... }]. */
function expectedSdes(packets: TsharkPacket[]) {
  return packets
    .filter((p) => p['rtcp.pt'] === 202)
    .flatMap((p) => p.chunks ?? [])
    .map((c) => ({
      ssrc: c['rtcp.ssrc.identifier'],
      ...Object.fromEntries(c.items.map((i) => [SDES_ITEM[i['rtcp.sdes.type']], i['rtcp.sdes.text']])),
    }))
}

/**
 * Chunk 0x0020 (MOS x 100) as HEP.md says heplify sets it: the XR MOS-CQ when a VoIP metrics block
 * has one (10..50 tenths; 127 = unavailable), else a coarse estimate from the first report block's
 * fraction lost.
 */
function expectedMos(packets: TsharkPacket[]): number | undefined {
  const voip = packets
    .filter((p) => p['rtcp.pt'] === 207)
    .flatMap((p) => (p.blocks ?? []) as TsharkXrBlock[])
    .find((b) => b['rtcp.xr.bt'] === 7)
  const cq = voip === undefined ? 0 : Math.round(voip['rtcp.xr.voipmetrics.moscq'] * 10)
  if (cq >= 10 && cq <= 50) return cq * 10
  const first = packets
    .filter((p) => p['rtcp.pt'] === 200 || p['rtcp.pt'] === 201)
    .flatMap((p) => (p.blocks ?? []) as TsharkBlock[])[0]
  if (first === undefined) return undefined
  const f = first['rtcp.ssrc.fraction']
  return f < 10 ? 450 : f < 25 ? 400 : f < 50 ? 350 : f < 100 ? 300 : 250
}

/** convert's summary table (stderr) as { row name: number }. */
function summaryRows(stderr: string): Record<string, number> {
  const rows: Record<string, number> = {}
  for (const m of stderr.matchAll(/^│ ([^│]+?) +│ (\d+) +│$/gm)) rows[m[1]] = Number(m[2])
  return rows
}

const scratch = mkdtempSync(join(tmpdir(), 'hep-rtcp-real-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

interface Converted {
  items: Item[]
  summary: Record<string, number>
  code: number | null
  stderr: string
}

const MODES = ['correlated', 'off', 'all'] as const

/** Every convert of the file, three at a time (the CLI start-up dominates; the machine is shared). */
const runs = new Map<string, Promise<Converted>>()
function converted(file: string, mode: (typeof MODES)[number]): Promise<Converted> {
  const k = `${file} ${mode}`
  let p = runs.get(k)
  if (p === undefined) {
    const out = join(scratch, `${file}.${mode}.jsonl`)
    // correlated is the default: run it without the flag
    const args = ['convert', join(RTCP_DIR, file), out, ...(mode === 'correlated' ? [] : ['--rtcp', mode])]
    p = limit(() => hep(args)).then((r) => ({
      code: r.code,
      stderr: r.stderr,
      summary: summaryRows(r.stderr),
      items:
        r.code === 0
          ? readFileSync(out, 'utf8')
              .split('\n')
              .filter((l) => l !== '')
              .map((l) => JSON.parse(l) as Item)
          : [],
    }))
    runs.set(k, p)
  }
  return p
}
let active = 0
const waiting: (() => void)[] = []
async function limit<T>(job: () => Promise<T>): Promise<T> {
  while (active >= 3) await new Promise<void>((r) => waiting.push(r))
  active++
  try {
    return await job()
  } finally {
    active--
    waiting.shift()?.()
  }
}
beforeAll(() => {
  for (const o of ORACLES) for (const m of MODES) void converted(o.file, m)
})

const at = (ip: string, port: number, ip2: string, port2: number, s: number, us: number) =>
  `${ip}:${port}>${ip2}:${port2}@${s}.${us}`

describe('RTCP of real linphone and baresip calls -> HEP type 5, field by field against tshark', () => {
  it('seven fixtures (two stacks), each with about ten RTCP packets, both directions, one call each', () => {
    expect(ORACLES).toHaveLength(7)
    for (const o of ORACLES) {
      expect(o.rtcp.length, o.file).toBeGreaterThanOrEqual(8)
      expect(o.calls, o.file).toHaveLength(1)
      expect(new Set(o.rtcp.map((r) => r.srcPort)).size, `${o.file}: both directions`).toBe(2)
      expect(o.counts.rtp, `${o.file}: some RTP kept`).toBeGreaterThan(20)
    }
    const kinds = new Set(ORACLES.flatMap((o) => o.rtcp.flatMap((r) => r.packets.map((p) => p['rtcp.pt']))))
    expect([...kinds].sort()).toEqual([200, 202, 203, 204, 207])
    // the loss fixture has real losses in its report blocks
    const lossy = ORACLES.find((o) => o.file === 'linphone-ipv4-loss-xr.pcap')!
    const lost = lossy.rtcp.flatMap((r) =>
      (r.packets[0].blocks as TsharkBlock[]).map((b) => b['rtcp.ssrc.cum_nr']),
    )
    expect(Math.max(...lost)).toBeGreaterThan(10)
  })

  describe.each(ORACLES.map((o) => [o.file, o] as const))('%s', (file, o) => {
    it('--rtcp correlated (default): one type-5 item per RTCP packet tshark decodes, equal to its decode', async () => {
      const { items, code, stderr } = await converted(file, 'correlated')
      expect(code, stderr).toBe(0)
      const reports = items.filter((i) => i.payloadType === 5)
      const sip = items.filter((i) => i.payloadType === 1)
      expect(sip).toHaveLength(o.sip.length)
      expect(items, 'nothing else: no RTP, no STUN').toHaveLength(o.sip.length + o.rtcp.length)
      expect(reports).toHaveLength(o.rtcp.length)
      const byPacket = new Map(
        reports.map((r) => [at(r.srcIp, r.srcPort, r.dstIp, r.dstPort, r.timeSeconds, r.timeUseconds), r]),
      )
      expect(byPacket.size, 'no two items for one packet').toBe(reports.length)
      for (const t of o.rtcp) {
        const k = at(t.src, t.srcPort, t.dst, t.dstPort, t.time.seconds, t.time.useconds)
        const item = byPacket.get(k)
        expect(item, `an item for RTCP frame ${t.frame} (${k})`).toBeDefined()
        expect(item, `frame ${t.frame}`).toMatchObject({
          correlationId: t['sip.Call-ID'],
          protocolFamily: t.family === 6 ? 10 : 2,
          protocol: 17,
        })
        expect(item!.mos, `frame ${t.frame}: MOS chunk`).toBe(expectedMos(t.packets))
        const report = JSON.parse(item!.payload) as Record<string, unknown>
        expect(report, `frame ${t.frame}: the report`).toMatchObject(expectedReport(t.packets))
        expect(report.compound, `frame ${t.frame}: packet types of the compound`).toEqual(
          t.packets.map((p) => p['rtcp.pt']),
        )
        const sdes = expectedSdes(t.packets)
        expect(report.sdes, `frame ${t.frame}: SDES`).toEqual(sdes.length > 0 ? sdes : undefined)
        if (!t.packets.some((p) => p['rtcp.pt'] === 203))
          expect(report.bye, `frame ${t.frame}: no BYE`).toBeUndefined()
        if (!t.packets.some((p) => p['rtcp.pt'] === 204))
          expect(report.app, `frame ${t.frame}: no APP`).toBeUndefined()
        if (
          !t.packets.some(
            (p) => p['rtcp.pt'] === 207 && (p.blocks as TsharkXrBlock[]).some((b) => b['rtcp.xr.bt'] === 7),
          )
        )
          expect(report.voip_metrics, `frame ${t.frame}: no VoIP metrics block`).toBeUndefined()
      }
    })

    it('the summary: RTCP found = sent = tshark, and every capture record counted once', async () => {
      const { summary } = await converted(file, 'correlated')
      expect(summary).toMatchObject({
        'capture records': o.counts.frames,
        'SIP messages found': o.sip.length,
        'RTCP packets found': o.rtcp.length,
        'out (jsonl)': o.sip.length + o.rtcp.length,
        'of which RTCP': o.rtcp.length,
        'skipped: RTP': o.counts.rtp,
      })
      if (o.counts.other > 0) expect(summary['skipped: STUN']).toBe(o.counts.other)
      const skipped = Object.entries(summary)
        .filter(([k]) => k.startsWith('skipped: '))
        .reduce((n, [, v]) => n + v, 0)
      expect(summary['SIP messages found'] + summary['RTCP packets found'] + skipped).toBe(
        summary['capture records'],
      )
    })

    it('--rtcp off: the SIP only, the RTCP counted as skipped', async () => {
      const { items, summary, code, stderr } = await converted(file, 'off')
      expect(code, stderr).toBe(0)
      expect(items.filter((i) => i.payloadType === 5)).toHaveLength(0)
      expect(items).toHaveLength(o.sip.length)
      expect(summary['skipped: RTCP']).toBe(o.rtcp.length)
      expect(summary['out (jsonl)']).toBe(o.sip.length)
    })

    it('--rtcp all: the same reports (every RTCP packet here belongs to the call)', async () => {
      const { items, code, stderr } = await converted(file, 'all')
      expect(code, stderr).toBe(0)
      const reports = items.filter((i) => i.payloadType === 5)
      expect(reports).toHaveLength(o.rtcp.length)
      expect(new Set(reports.map((r) => r.correlationId))).toEqual(new Set(o.calls))
      const correlated = (await converted(file, 'correlated')).items.filter((i) => i.payloadType === 5)
      expect(reports).toEqual(correlated)
    })
  })
})
