// Makes large captures for benchmarks by repeating the records of a small real one (classic pcap,
// little-endian), shifting timestamps so time moves forward. Written under the OS temp dir.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs'

/**
 * Repeats the records of `src` into `dst` until it holds `targetBytes`, each copy shifted by the
 * capture's span in time; `rewrite(chunk, off, round)` may change a copy (at chunk[off..]) further.
 */
export function generatePcap(src, dst, targetBytes, rewrite) {
  const f = readFileSync(src)
  if (f.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${src}: expected a little-endian µs pcap`)
  const header = f.subarray(0, 24)
  const body = f.subarray(24)
  const firstSec = body.readUInt32LE(0)
  let lastSec = firstSec
  for (let p = 0; p < body.length;) {
    lastSec = body.readUInt32LE(p)
    p += 16 + body.readUInt32LE(p + 8)
  }
  const span = lastSec - firstSec + 1
  const fd = openSync(dst, 'w')
  writeSync(fd, header)
  let written = header.length
  let records = 0
  let round = 0
  const chunk = Buffer.alloc(body.length * 64)
  while (written < targetBytes) {
    // 64 copies per write, each shifted by `span` seconds
    let off = 0
    for (let k = 0; k < 64; k++, round++) {
      body.copy(chunk, off)
      for (let p = off; p < off + body.length;) {
        chunk.writeUInt32LE(chunk.readUInt32LE(p) + round * span, p)
        p += 16 + chunk.readUInt32LE(p + 8)
        records++
      }
      rewrite?.(chunk, off, round)
      off += body.length
    }
    writeSync(fd, chunk, 0, off)
    written += off
  }
  closeSync(fd)
  return { bytes: written, records }
}

/**
 * Like generatePcap, for a capture of TCP (Ethernet + IPv4 + TCP): each repetition also shifts both
 * TCP ports, so that every copy is a new flow (its own SYN ... FIN) rather than a retransmission of
 * the first one.
 */
export function generateTcpPcap(src, dst, targetBytes) {
  const f = readFileSync(src)
  if (f.readUInt32LE(20) !== 1) throw new Error(`${src}: expected Ethernet frames`)
  const body = f.subarray(24)
  // where each record's TCP ports are (relative to the body), for the rewrite
  const portsAt = []
  for (let p = 0; p < body.length;) {
    const frame = p + 16
    if (body.readUInt16BE(frame + 12) === 0x0800 && body[frame + 14 + 9] === 6)
      portsAt.push(frame + 14 + ((body[frame + 14] & 0x0f) << 2))
    p += 16 + body.readUInt32LE(p + 8)
  }
  return generatePcap(src, dst, targetBytes, (chunk, off, round) => {
    const shift = round % 50000
    for (const at of portsAt) {
      chunk.writeUInt16BE((chunk.readUInt16BE(off + at) + shift) & 0xffff, off + at)
      chunk.writeUInt16BE((chunk.readUInt16BE(off + at + 2) + shift) & 0xffff, off + at + 2)
    }
  })
}

/**
 * A capture of `n` SIP messages (the UDP frames of `src`, cycled) at irregular gaps drawn uniformly
 * from [minMs, maxMs] (seeded, so every run is the same); returns the schedule (s from the first).
 */
export function generateIrregular(src, dst, n, minMs, maxMs, seed = 42) {
  const f = readFileSync(src)
  const frames = []
  for (let p = 24; p < f.length;) {
    const len = f.readUInt32LE(p + 8)
    frames.push(f.subarray(p + 16, p + 16 + len))
    p += 16 + len
  }
  let x = seed >>> 0
  const rnd = () => (x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0) / 2 ** 32
  const fd = openSync(dst, 'w')
  writeSync(fd, f.subarray(0, 24))
  let tUs = 1_700_000_000 * 1e6
  const schedule = []
  const t0 = tUs
  for (let i = 0; i < n; i++) {
    if (i > 0) tUs += Math.round((minMs + rnd() * (maxMs - minMs)) * 1000)
    schedule.push((tUs - t0) / 1e6)
    const fr = frames[i % frames.length]
    const h = Buffer.alloc(16)
    h.writeUInt32LE(Math.floor(tUs / 1e6), 0)
    h.writeUInt32LE(tUs % 1e6, 4)
    h.writeUInt32LE(fr.length, 8)
    h.writeUInt32LE(fr.length, 12)
    writeSync(fd, h)
    writeSync(fd, fr)
  }
  closeSync(fd)
  return schedule
}

/**
 * A capture of one call as a mirror port sees it: INVITE and 200 OK with SDP, then `rounds` rounds
 * of `rtpPerRtcp` RTP packets each way and one RTCP compound (RR + SDES) each way, then the BYE.
 * With rounds 10 and rtpPerRtcp 11, 220 of its 243 packets (90.5 %) are RTP. Built with the
 * project's frame builder (dist/); classic pcap, Ethernet, µs.
 */
export async function writeCallPcap(dst, rounds = 10, rtpPerRtcp = 11) {
  const { FrameBuilder } = await import('../dist/src/pcap/synth.js')
  const fb = new FrameBuilder()
  const A = '10.0.0.1'
  const B = '10.0.0.2'
  const sdp = (ip, port) =>
    `v=0\r\no=- 1 1 IN IP4 ${ip}\r\ns=-\r\nc=IN IP4 ${ip}\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0 8 101\r\n` +
    'a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na=sendrecv\r\n'
  const sip = (start, cseq, body = '') =>
    Buffer.from(
      `${start}\r\nVia: SIP/2.0/UDP ${A}:5060;branch=z9hG4bK-1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\n` +
        `Call-ID: bench-call@${A}\r\nCSeq: ${cseq}\r\n` +
        (body ? 'Content-Type: application/sdp\r\n' : '') +
        `Content-Length: ${body.length}\r\n\r\n${body}`,
    )
  const rtp = (seq, ssrc) => {
    const b = Buffer.alloc(172, 0xd5)
    b[0] = 0x80
    b[1] = 0
    b.writeUInt16BE(seq, 2)
    b.writeUInt32BE(seq * 160, 4)
    b.writeUInt32BE(ssrc, 8)
    return b
  }
  const rr = (ssrc, of) => {
    const b = Buffer.alloc(32 + 12)
    b[0] = 0x81
    b[1] = 201
    b.writeUInt16BE(7, 2)
    b.writeUInt32BE(ssrc, 4)
    b.writeUInt32BE(of, 8)
    b[36] = 0x81
    b[37] = 202
    b.writeUInt16BE(1, 38)
    b.writeUInt32BE(ssrc, 40)
    return b
  }
  const frames = []
  let us = 1_700_000_000 * 1e6
  const add = (d, src, dst, sp, dp, payload) => {
    us += d
    frames.push({ us, data: fb.build({ src, dst, srcPort: sp, dstPort: dp, payload }) })
  }
  add(0, A, B, 5060, 5060, sip('INVITE sip:b@x SIP/2.0', '1 INVITE', sdp(A, 4000)))
  add(50_000, B, A, 5060, 5060, sip('SIP/2.0 200 OK', '1 INVITE', sdp(B, 5000)))
  let seq = 1
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < rtpPerRtcp; i++, seq++) {
      add(20_000, A, B, 4000, 5000, rtp(seq, 0x1111))
      add(100, B, A, 5000, 4000, rtp(seq, 0x2222))
    }
    add(100, A, B, 4001, 5001, rr(0x1111, 0x2222))
    add(100, B, A, 5001, 4001, rr(0x2222, 0x1111))
  }
  add(10_000, A, B, 5060, 5060, sip('BYE sip:b@x SIP/2.0', '2 BYE'))
  const fd = openSync(dst, 'w')
  const gh = Buffer.alloc(24)
  gh.writeUInt32LE(0xa1b2c3d4, 0)
  gh.writeUInt16LE(2, 4)
  gh.writeUInt16LE(4, 6)
  gh.writeUInt32LE(262144, 16)
  gh.writeUInt32LE(1, 20)
  writeSync(fd, gh)
  for (const f of frames) {
    const h = Buffer.alloc(16)
    h.writeUInt32LE(Math.floor(f.us / 1e6), 0)
    h.writeUInt32LE(f.us % 1e6, 4)
    h.writeUInt32LE(f.data.length, 8)
    h.writeUInt32LE(f.data.length, 12)
    writeSync(fd, h)
    writeSync(fd, f.data)
  }
  closeSync(fd)
  return frames.length
}
