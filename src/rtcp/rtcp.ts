/**
 * RTCP (RFC 3550, 3611) read into the JSON report Homer stores for HEP payload type 5 (the layout of
 * heplify's protos/rtcp.go, names exact; see HEP.md "RTCP as HEP"). The whole compound packet is read
 * (SR or RR, SDES, BYE, APP, XR, feedback), not only its first packet as heplify does: the fields
 * heplify fills are filled the same way, and what it leaves out is added under names of its own
 * (`compound`, `sdes`, `bye`, `app`), so a Homer that knows only heplify's fields reads the report.
 *
 * Never throws: a packet that does not hold together is a `{ error }` naming what is wrong and where.
 */

/** RFC 3550 packet types (and RFC 4585 feedback, RFC 3611 XR). */
export const RTCP = {
  SR: 200,
  RR: 201,
  SDES: 202,
  BYE: 203,
  APP: 204,
  RTPFB: 205,
  PSFB: 206,
  XR: 207,
} as const

export interface RtcpSenderInfo {
  /** the NTP timestamp's most significant word (seconds), despite heplify's name */
  ntp_timestamp_sec: number
  /** the NTP timestamp's least significant word (fraction), despite heplify's name */
  ntp_timestamp_usec: number
  rtp_timestamp: number
  packets: number
  octets: number
}

export interface RtcpReportBlock {
  source_ssrc: number
  /** fraction lost, in 1/256 */
  fraction_lost: number
  /** cumulative number of packets lost: the 24-bit field as unsigned (as heplify) */
  packets_lost: number
  highest_seq_no: number
  /** interarrival jitter, RTP timestamp units */
  ia_jitter: number
  lsr: number
  dlsr: number
}

/** heplify's flat copy of the first XR VoIP metrics block (RFC 3611 block type 7); zeros when none. */
export interface RtcpXrBlock {
  type: number
  id: number
  fraction_lost: number
  fraction_discard: number
  burst_density: number
  gap_density: number
  burst_duration: number
  gap_duration: number
  round_trip_delay: number
  end_system_delay: number
}

/** The whole VoIP metrics block (heplify 2.x); MOS values divided by 10, levels signed dBm. */
export interface RtcpVoipMetrics {
  ssrc: number
  loss_rate: number
  discard_rate: number
  burst_density: number
  gap_density: number
  burst_duration: number
  gap_duration: number
  round_trip_delay: number
  end_system_delay: number
  signal_level: number
  noise_level: number
  rerl: number
  gmin: number
  r_factor: number
  ext_r_factor: number
  mos_cq: number
  mos_lq: number
  rx_config: number
  jb_nominal: number
  jb_maximum: number
  jb_abs_max: number
}

/** One SDES chunk: its SSRC and the items it names (cname, name, email, phone, loc, tool, note). */
export interface RtcpSdesChunk {
  ssrc: number
  [item: string]: number | string
}

export interface RtcpReport {
  sender_information: RtcpSenderInfo
  /** the sender SSRC of the first packet */
  ssrc: number
  /** packet type of the first packet (200 SR, 201 RR, 202 SDES, 207 XR...) */
  type: number
  /** report count (RC/SC field) of the first packet */
  report_count: number
  /** every reception report block of the compound's SR and RR packets */
  report_blocks: RtcpReportBlock[]
  report_blocks_xr: RtcpXrBlock
  voip_metrics?: RtcpVoipMetrics
  /** the SSRC of the first SDES chunk (0 without SDES) */
  sdes_ssrc: number
  /** beyond heplify: the packet types of the compound, in order */
  compound: number[]
  sdes?: RtcpSdesChunk[]
  bye?: { ssrcs: number[]; reason?: string }
  app?: { ssrc: number; subtype: number; name: string; length: number }[]
}

export type RtcpResult = { report: RtcpReport; error?: undefined } | { report?: undefined; error: string }

const SDES_NAMES = ['', 'cname', 'name', 'email', 'phone', 'loc', 'tool', 'note', 'priv']

/**
 * Could this UDP payload be RTCP? Two byte tests, no allocation: version 2 and a second byte in
 * RFC 5761's RTCP range 192..223 (where RTP with its marker bit would have payload types 64..95,
 * which RFC 5761 keeps free when RTP and RTCP share a port). What RTP looks like fails here.
 */
export function rtcpCandidate(p: Buffer): boolean {
  return p.length >= 8 && (p[0] & 0xc0) === 0x80 && p[1] >= 192 && p[1] <= 223
}

/**
 * RTCP by content alone, for packets outside any known call: version 2, a first packet type of
 * 200..207, and packet lengths that add up exactly to the datagram through the whole compound
 * (each packet version 2; padding only on the last).
 */
export function looksLikeRtcp(p: Buffer): boolean {
  if (p.length < 8 || (p[0] & 0xc0) !== 0x80 || p[1] < 200 || p[1] > 207) return false
  let off = 0
  while (off < p.length) {
    if (p.length - off < 4 || (p[off] & 0xc0) !== 0x80) return false
    const len = (p.readUInt16BE(off + 2) + 1) * 4
    if (off + len > p.length) return false
    if ((p[off] & 0x20) !== 0 && off + len !== p.length) return false
    off += len
  }
  return true
}

function emptyReport(): RtcpReport {
  return {
    sender_information: {
      ntp_timestamp_sec: 0,
      ntp_timestamp_usec: 0,
      rtp_timestamp: 0,
      packets: 0,
      octets: 0,
    },
    ssrc: 0,
    type: 0,
    report_count: 0,
    report_blocks: [],
    report_blocks_xr: {
      type: 0,
      id: 0,
      fraction_lost: 0,
      fraction_discard: 0,
      burst_density: 0,
      gap_density: 0,
      burst_duration: 0,
      gap_duration: 0,
      round_trip_delay: 0,
      end_system_delay: 0,
    },
    sdes_ssrc: 0,
    compound: [],
  }
}

function blocks(p: Buffer, off: number, n: number, out: RtcpReportBlock[]): void {
  for (let i = 0; i < n; i++, off += 24) {
    out.push({
      source_ssrc: p.readUInt32BE(off),
      fraction_lost: p[off + 4],
      packets_lost: p.readUIntBE(off + 5, 3),
      highest_seq_no: p.readUInt32BE(off + 8),
      ia_jitter: p.readUInt32BE(off + 12),
      lsr: p.readUInt32BE(off + 16),
      dlsr: p.readUInt32BE(off + 20),
    })
  }
}

/** The SDES chunks of one packet (body from `off` to `end`); an error text if they overrun. */
function sdes(p: Buffer, off: number, end: number, count: number, out: RtcpSdesChunk[]): string | undefined {
  for (let c = 0; c < count; c++) {
    if (off + 4 > end) return `SDES chunk ${c + 1} past the packet`
    const chunk: RtcpSdesChunk = { ssrc: p.readUInt32BE(off) }
    off += 4
    for (;;) {
      if (off >= end) return `SDES chunk ${c + 1} without its end`
      const t = p[off]
      if (t === 0) {
        // the list ends with a null octet, then padding to the next 32-bit boundary
        off = (off + 4) & ~3
        break
      }
      if (off + 2 > end || off + 2 + p[off + 1] > end) return `SDES item ${t} past the packet`
      const len = p[off + 1]
      const name = SDES_NAMES[t]
      if (name !== undefined && t !== 8 && chunk[name] === undefined)
        chunk[name] = p.toString('utf8', off + 2, off + 2 + len)
      off += 2 + len
    }
    out.push(chunk)
  }
  return undefined
}

function voipMetrics(p: Buffer, b: number): RtcpVoipMetrics {
  return {
    ssrc: p.readUInt32BE(b + 4),
    loss_rate: p[b + 8],
    discard_rate: p[b + 9],
    burst_density: p[b + 10],
    gap_density: p[b + 11],
    burst_duration: p.readUInt16BE(b + 12),
    gap_duration: p.readUInt16BE(b + 14),
    round_trip_delay: p.readUInt16BE(b + 16),
    end_system_delay: p.readUInt16BE(b + 18),
    signal_level: p.readInt8(b + 20),
    noise_level: p.readInt8(b + 21),
    rerl: p[b + 22],
    gmin: p[b + 23],
    r_factor: p[b + 24],
    ext_r_factor: p[b + 25],
    mos_lq: p[b + 26] / 10,
    mos_cq: p[b + 27] / 10,
    rx_config: p[b + 28],
    jb_nominal: p.readUInt16BE(b + 30),
    jb_maximum: p.readUInt16BE(b + 32),
    jb_abs_max: p.readUInt16BE(b + 34),
  }
}

/** Reads a compound RTCP packet into the report; `{ error }` when it does not hold together. */
export function parseRtcp(p: Buffer): RtcpResult {
  if (p.length < 8) return { error: `${p.length} bytes, shorter than an RTCP header and SSRC` }
  const r = emptyReport()
  let off = 0
  let n = 0
  let sr = false
  while (off < p.length) {
    n++
    const at = `packet ${n} (byte ${off})`
    if (p.length - off < 4) return { error: `${at}: ${p.length - off} bytes left, not a header` }
    const b0 = p[off]
    if ((b0 & 0xc0) !== 0x80) return { error: `${at}: version ${b0 >> 6}, expected 2` }
    const count = b0 & 0x1f
    const pt = p[off + 1]
    let len = (p.readUInt16BE(off + 2) + 1) * 4
    if (off + len > p.length)
      return { error: `${at}: length ${len} bytes, only ${p.length - off} left in the datagram` }
    if ((b0 & 0x20) !== 0) {
      // padding: only the last packet may carry it; its last octet counts the padding octets
      if (off + len !== p.length) return { error: `${at}: padding on a packet that is not the last` }
      const pad = p[off + len - 1]
      if (pad === 0 || pad > len - 4) return { error: `${at}: padding count ${pad} does not fit` }
      len -= pad
    }
    const body = off + 4
    const end = off + len
    if (n === 1) {
      if (pt < 192 || pt > 223) return { error: `${at}: packet type ${pt} is not RTCP` }
      r.type = pt
      r.report_count = count
      if (len >= 8) r.ssrc = p.readUInt32BE(body)
    }
    r.compound.push(pt)
    switch (pt) {
      case RTCP.SR:
        if (len < 28 + 24 * count)
          return { error: `${at}: SR of ${len} bytes cannot hold ${count} report blocks` }
        if (!sr) {
          // the first SR's sender information (a compound holds one, RFC 3550 6.1)
          sr = true
          const s = r.sender_information
          s.ntp_timestamp_sec = p.readUInt32BE(body + 4)
          s.ntp_timestamp_usec = p.readUInt32BE(body + 8)
          s.rtp_timestamp = p.readUInt32BE(body + 12)
          s.packets = p.readUInt32BE(body + 16)
          s.octets = p.readUInt32BE(body + 20)
        }
        blocks(p, body + 24, count, r.report_blocks)
        break
      case RTCP.RR:
        if (len < 8 + 24 * count)
          return { error: `${at}: RR of ${len} bytes cannot hold ${count} report blocks` }
        blocks(p, body + 4, count, r.report_blocks)
        break
      case RTCP.SDES: {
        const chunks: RtcpSdesChunk[] = r.sdes ?? []
        const e = sdes(p, body, end, count, chunks)
        if (e !== undefined) return { error: `${at}: ${e}` }
        if (chunks.length > 0) {
          if (r.sdes === undefined) r.sdes_ssrc = chunks[0].ssrc
          r.sdes = chunks
        }
        break
      }
      case RTCP.BYE: {
        if (body + 4 * count > end) return { error: `${at}: BYE of ${len} bytes cannot hold ${count} SSRCs` }
        const ssrcs: number[] = []
        for (let i = 0; i < count; i++) ssrcs.push(p.readUInt32BE(body + 4 * i))
        const bye: { ssrcs: number[]; reason?: string } = { ssrcs }
        const ro = body + 4 * count
        if (ro < end) {
          const rl = p[ro]
          if (ro + 1 + rl > end) return { error: `${at}: BYE reason of ${rl} bytes past the packet` }
          bye.reason = p.toString('utf8', ro + 1, ro + 1 + rl)
        }
        r.bye = bye
        break
      }
      case RTCP.APP:
        if (len < 12) return { error: `${at}: APP of ${len} bytes, shorter than its 12-byte header` }
        ;(r.app ??= []).push({
          ssrc: p.readUInt32BE(body),
          subtype: count,
          name: p.toString('latin1', body + 4, body + 8),
          length: len - 12,
        })
        break
      case RTCP.XR: {
        if (len < 8) return { error: `${at}: XR of ${len} bytes, shorter than its header` }
        let b = body + 4
        while (b < end) {
          if (b + 4 > end) return { error: `${at}: XR block header at byte ${b} past the packet` }
          const bt = p[b]
          const blen = (p.readUInt16BE(b + 2) + 1) * 4
          if (b + blen > end) return { error: `${at}: XR block type ${bt} of ${blen} bytes past the packet` }
          if (bt === 7 && r.voip_metrics === undefined) {
            if (blen !== 36) return { error: `${at}: XR VoIP metrics block of ${blen} bytes, expected 36` }
            const vm = voipMetrics(p, b)
            r.voip_metrics = vm
            const x = r.report_blocks_xr
            x.type = 7
            x.id = vm.ssrc
            x.fraction_lost = vm.loss_rate
            x.fraction_discard = vm.discard_rate
            x.burst_density = vm.burst_density
            x.gap_density = vm.gap_density
            x.burst_duration = vm.burst_duration
            x.gap_duration = vm.gap_duration
            x.round_trip_delay = vm.round_trip_delay
            x.end_system_delay = vm.end_system_delay
          }
          b += blen
        }
        break
      }
      default:
        // feedback (RFC 4585) and the other types of RFC 5761's range: known length, kept as a type
        if (len < 8 && pt >= 200 && pt <= 207) return { error: `${at}: type ${pt} of ${len} bytes` }
    }
    off += (p.readUInt16BE(off + 2) + 1) * 4
  }
  return { report: r }
}

/**
 * MOS × 100 for chunk 0x0020, as heplify sets it: the XR VoIP metrics' MOS-CQ when the block has one
 * (RFC 3611: 10..50 in tenths; 127 is "unavailable"), otherwise a coarse estimate from the first
 * report block's fraction lost; undefined when the report has neither.
 */
export function mosOf(r: RtcpReport): number | undefined {
  const cq = r.voip_metrics === undefined ? 0 : Math.round(r.voip_metrics.mos_cq * 10)
  if (cq >= 10 && cq <= 50) return cq * 10
  const b = r.report_blocks[0]
  if (b === undefined) return undefined
  const f = b.fraction_lost
  return f < 10 ? 450 : f < 25 ? 400 : f < 50 ? 350 : f < 100 ? 300 : 250
}
