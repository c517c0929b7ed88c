/**
 * RTCP packets built by hand from their fields (RFC 3550 6.4-6.6, RFC 3611 4.7), SIP messages with
 * SDP, and small captures of calls with RTP and RTCP, for the RTCP tests (not a test file itself).
 */
import { writeFileSync } from 'node:fs'
import { FrameBuilder } from '../../src/pcap/synth.js'

export interface Block {
  ssrc: number
  fraction: number
  lost: number
  highest: number
  jitter: number
  lsr: number
  dlsr: number
}

function header(first: number, pt: number, bodyLen: number, padding = 0): Buffer {
  const h = Buffer.alloc(4)
  h[0] = 0x80 | (padding > 0 ? 0x20 : 0) | first
  h[1] = pt
  h.writeUInt16BE((4 + bodyLen + padding) / 4 - 1, 2)
  return h
}

function blockBytes(b: Block): Buffer {
  const o = Buffer.alloc(24)
  o.writeUInt32BE(b.ssrc, 0)
  o[4] = b.fraction
  o[5] = (b.lost >> 16) & 0xff
  o[6] = (b.lost >> 8) & 0xff
  o[7] = b.lost & 0xff
  o.writeUInt32BE(b.highest, 8)
  o.writeUInt32BE(b.jitter, 12)
  o.writeUInt32BE(b.lsr, 16)
  o.writeUInt32BE(b.dlsr, 20)
  return o
}

export function sr(
  ssrc: number,
  info: { msw: number; lsw: number; rtp: number; packets: number; octets: number },
  blocks: Block[] = [],
): Buffer {
  const body = Buffer.alloc(24)
  body.writeUInt32BE(ssrc, 0)
  body.writeUInt32BE(info.msw, 4)
  body.writeUInt32BE(info.lsw, 8)
  body.writeUInt32BE(info.rtp, 12)
  body.writeUInt32BE(info.packets, 16)
  body.writeUInt32BE(info.octets, 20)
  const all = Buffer.concat([body, ...blocks.map(blockBytes)])
  return Buffer.concat([header(blocks.length, 200, all.length), all])
}

export function rr(ssrc: number, blocks: Block[] = []): Buffer {
  const s = Buffer.alloc(4)
  s.writeUInt32BE(ssrc, 0)
  const all = Buffer.concat([s, ...blocks.map(blockBytes)])
  return Buffer.concat([header(blocks.length, 201, all.length), all])
}

/** SDES with one chunk per entry: items as [type, text] */
export function sdes(chunks: { ssrc: number; items: [number, string][] }[]): Buffer {
  const parts: Buffer[] = []
  for (const c of chunks) {
    const s = Buffer.alloc(4)
    s.writeUInt32BE(c.ssrc, 0)
    const items = c.items.map(([t, v]) =>
      Buffer.concat([Buffer.from([t, Buffer.byteLength(v)]), Buffer.from(v)]),
    )
    let chunk = Buffer.concat([s, ...items, Buffer.from([0])])
    chunk = Buffer.concat([chunk, Buffer.alloc((4 - (chunk.length % 4)) % 4)])
    parts.push(chunk)
  }
  const all = Buffer.concat(parts)
  return Buffer.concat([header(chunks.length, 202, all.length), all])
}

export function bye(ssrcs: number[], reason?: string): Buffer {
  const s = Buffer.alloc(4 * ssrcs.length)
  ssrcs.forEach((x, i) => s.writeUInt32BE(x, 4 * i))
  let r = Buffer.alloc(0)
  if (reason !== undefined) {
    r = Buffer.concat([Buffer.from([Buffer.byteLength(reason)]), Buffer.from(reason)])
    r = Buffer.concat([r, Buffer.alloc((4 - (r.length % 4)) % 4)])
  }
  const all = Buffer.concat([s, r])
  return Buffer.concat([header(ssrcs.length, 203, all.length), all])
}

export function app(ssrc: number, subtype: number, name: string, data: Buffer): Buffer {
  const s = Buffer.alloc(8)
  s.writeUInt32BE(ssrc, 0)
  s.write(name, 4, 'latin1')
  const all = Buffer.concat([s, data])
  return Buffer.concat([header(subtype, 204, all.length), all])
}

export interface VoipMetrics {
  ssrc: number
  loss: number
  discard: number
  burstDensity: number
  gapDensity: number
  burstDuration: number
  gapDuration: number
  rtt: number
  esd: number
  signal: number
  noise: number
  rerl: number
  gmin: number
  r: number
  extR: number
  mosLq: number
  mosCq: number
  rxConfig: number
  jbNominal: number
  jbMax: number
  jbAbsMax: number
}

/** XR with one VoIP metrics block (and, before it, an optional block of another type) */
export function xr(ssrc: number, vm: VoipMetrics, before?: Buffer): Buffer {
  const b = Buffer.alloc(36)
  b[0] = 7
  b.writeUInt16BE(8, 2)
  b.writeUInt32BE(vm.ssrc, 4)
  b[8] = vm.loss
  b[9] = vm.discard
  b[10] = vm.burstDensity
  b[11] = vm.gapDensity
  b.writeUInt16BE(vm.burstDuration, 12)
  b.writeUInt16BE(vm.gapDuration, 14)
  b.writeUInt16BE(vm.rtt, 16)
  b.writeUInt16BE(vm.esd, 18)
  b.writeInt8(vm.signal, 20)
  b.writeInt8(vm.noise, 21)
  b[22] = vm.rerl
  b[23] = vm.gmin
  b[24] = vm.r
  b[25] = vm.extR
  b[26] = vm.mosLq
  b[27] = vm.mosCq
  b[28] = vm.rxConfig
  b.writeUInt16BE(vm.jbNominal, 30)
  b.writeUInt16BE(vm.jbMax, 32)
  b.writeUInt16BE(vm.jbAbsMax, 34)
  const s = Buffer.alloc(4)
  s.writeUInt32BE(ssrc, 0)
  const all = Buffer.concat([s, ...(before ? [before] : []), b])
  return Buffer.concat([header(0, 207, all.length), all])
}

/** An RTP packet (12-byte header + payload). */
export function rtp(
  pt: number,
  seq: number,
  ts: number,
  ssrc: number,
  marker = false,
  payload = 160,
): Buffer {
  const b = Buffer.alloc(12 + payload, 0xd5)
  b[0] = 0x80
  b[1] = (marker ? 0x80 : 0) | pt
  b.writeUInt16BE(seq & 0xffff, 2)
  b.writeUInt32BE(ts >>> 0, 4)
  b.writeUInt32BE(ssrc >>> 0, 8)
  return b
}

export interface SdpMedia {
  port: number
  ip?: string
  rtcp?: string
  mux?: boolean
  proto?: string
  media?: string
}

/** An SDP: session c= when `ip` is given, one m= per media. */
export function sdp(ip: string | undefined, media: SdpMedia[]): string {
  const fam = (a: string) => (a.includes(':') ? 'IP6' : 'IP4')
  const lines = ['v=0', `o=- 1 1 IN ${fam(ip ?? '127.0.0.1')} ${ip ?? '127.0.0.1'}`, 's=-']
  if (ip !== undefined) lines.push(`c=IN ${fam(ip)} ${ip}`)
  lines.push('t=0 0')
  for (const m of media) {
    lines.push(`m=${m.media ?? 'audio'} ${m.port} ${m.proto ?? 'RTP/AVP'} 0 8`)
    if (m.ip !== undefined) lines.push(`c=IN ${fam(m.ip)} ${m.ip}`)
    lines.push('a=rtpmap:0 PCMU/8000', 'a=sendrecv')
    if (m.rtcp !== undefined) lines.push(`a=rtcp:${m.rtcp}`)
    if (m.mux) lines.push('a=rtcp-mux')
  }
  return lines.join('\r\n') + '\r\n'
}

/** A SIP message: start line, the usual headers, and a body with its Content-Type. */
export function sipMessage(
  start: string,
  callId: string,
  cseq: string,
  body = '',
  contentType = 'application/sdp',
): Buffer {
  const h = [
    start,
    'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1',
    'From: <sip:a@example.com>;tag=1',
    'To: <sip:b@example.com>',
    `Call-ID: ${callId}`,
    `CSeq: ${cseq}`,
  ]
  if (body.length > 0) h.push(`Content-Type: ${contentType}`)
  h.push(`Content-Length: ${Buffer.byteLength(body)}`)
  return Buffer.from(h.join('\r\n') + '\r\n\r\n' + body)
}

export const INVITE = (callId: string, body: string, ct?: string) =>
  sipMessage('INVITE sip:b@example.com SIP/2.0', callId, '1 INVITE', body, ct)
export const OK = (callId: string, body: string, ct?: string) =>
  sipMessage('SIP/2.0 200 OK', callId, '1 INVITE', body, ct)
export const BYE = (callId: string) => sipMessage('BYE sip:b@example.com SIP/2.0', callId, '2 BYE')
export const CANCEL = (callId: string) => sipMessage('CANCEL sip:b@example.com SIP/2.0', callId, '1 CANCEL')

export interface Frame {
  /** capture time, seconds (fractions allowed, µs precision) */
  t: number
  src: string
  dst: string
  srcPort: number
  dstPort: number
  payload: Buffer
}

/** A classic pcap (Ethernet, µs) of UDP frames. */
export function pcapOf(frames: Frame[]): Buffer {
  const fb = new FrameBuilder()
  const parts: Buffer[] = []
  const gh = Buffer.alloc(24)
  gh.writeUInt32LE(0xa1b2c3d4, 0)
  gh.writeUInt16LE(2, 4)
  gh.writeUInt16LE(4, 6)
  gh.writeUInt32LE(262144, 16)
  gh.writeUInt32LE(1, 20)
  parts.push(gh)
  for (const f of frames) {
    const data = fb.build({
      src: f.src,
      dst: f.dst,
      srcPort: f.srcPort,
      dstPort: f.dstPort,
      payload: f.payload,
    })
    const rh = Buffer.alloc(16)
    const sec = Math.floor(f.t)
    rh.writeUInt32LE(sec, 0)
    rh.writeUInt32LE(Math.round((f.t - sec) * 1e6), 4)
    rh.writeUInt32LE(data.length, 8)
    rh.writeUInt32LE(data.length, 12)
    parts.push(rh, data)
  }
  return Buffer.concat(parts)
}

export function writePcap(path: string, frames: Frame[]): void {
  writeFileSync(path, pcapOf(frames))
}

export const BLOCK_A: Block = {
  ssrc: 0x0badcafe,
  fraction: 26,
  lost: 0x012345,
  highest: 0x00010203,
  jitter: 417,
  lsr: 0xa1b2c3d4,
  dlsr: 65536 + 32768,
}

/**
 * One call, A (10.0.0.1) calls B (10.0.0.2), with RTP and RTCP: `rtpPerRtcp` RTP packets per RTCP
 * packet each way; A's RTCP on port 4001 (RTP 4000 + 1), B's named by a=rtcp:5003 (RTP 5002). Plus
 * one RTCP packet of no call in the capture (10.9.9.9). Used for fixtures/captures/sip-rtcp.pcap.
 */
export function callFrames(
  callId = 'call-1@10.0.0.1',
  rtcpRounds = 3,
  rtpPerRtcp = 4,
  t0 = 1_790_000_000,
): Frame[] {
  const A = '10.0.0.1'
  const B = '10.0.0.2'
  const f: Frame[] = []
  let t = t0
  const at = (d: number) => (t = Math.round((t + d) * 1e6) / 1e6)
  f.push({
    t: at(0),
    src: A,
    dst: B,
    srcPort: 5060,
    dstPort: 5060,
    payload: INVITE(callId, sdp(A, [{ port: 4000 }])),
  })
  f.push({
    t: at(0.05),
    src: B,
    dst: A,
    srcPort: 5060,
    dstPort: 5060,
    payload: OK(callId, sdp(B, [{ port: 5002, rtcp: '5003' }])),
  })
  let seq = 1
  for (let round = 0; round < rtcpRounds; round++) {
    for (let i = 0; i < rtpPerRtcp; i++) {
      f.push({
        t: at(0.02),
        src: A,
        dst: B,
        srcPort: 4000,
        dstPort: 5002,
        payload: rtp(0, seq, seq * 160, 0x11111111),
      })
      f.push({
        t: at(0.0001),
        src: B,
        dst: A,
        srcPort: 5002,
        dstPort: 4000,
        payload: rtp(0, seq, seq * 160, 0x22222222),
      })
      seq++
    }
    const blk = (ssrc: number): Block => ({
      ...BLOCK_A,
      ssrc,
      fraction: round * 10,
      lost: round,
      highest: seq,
    })
    f.push({
      t: at(0.001),
      src: A,
      dst: B,
      srcPort: 4001,
      dstPort: 5003,
      payload: Buffer.concat([
        sr(
          0x11111111,
          { msw: 3_999_000_000 + round, lsw: 0x80000000, rtp: seq * 160, packets: seq, octets: seq * 160 },
          [blk(0x22222222)],
        ),
        sdes([{ ssrc: 0x11111111, items: [[1, 'a@10.0.0.1']] }]),
      ]),
    })
    f.push({
      t: at(0.001),
      src: B,
      dst: A,
      srcPort: 5003,
      dstPort: 4001,
      payload: Buffer.concat([
        rr(0x22222222, [blk(0x11111111)]),
        sdes([{ ssrc: 0x22222222, items: [[1, 'b@10.0.0.2']] }]),
      ]),
    })
  }
  // RTCP of a call whose SIP is not in the capture
  f.push({
    t: at(0.001),
    src: '10.9.9.9',
    dst: A,
    srcPort: 7001,
    dstPort: 7003,
    payload: rr(0x33333333, [blk0()]),
  })
  f.push({ t: at(0.01), src: A, dst: B, srcPort: 5060, dstPort: 5060, payload: BYE(callId) })
  return f
}

const blk0 = (): Block => ({ ...BLOCK_A })
