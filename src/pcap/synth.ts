/**
 * Builds Ethernet/IPv4|IPv6/UDP|TCP|SCTP frames around a message, for pcap output: HEP packets in
 * `hep-pcap` files, and decapsulated SIP in `pcap` files with their original addresses and ports.
 * TCP frames carry per-flow sequence numbers so that Wireshark reassembles them.
 */
import { HepError } from '../errors.js'
import { parseIPv6Text as parseIPv6, writeIPv4 } from '../hep/ip.js'

export interface FrameSpec {
  src: string
  dst: string
  srcPort: number
  dstPort: number
  /** 17 UDP (default), 6 TCP, 132 SCTP */
  protocol?: number
  payload: Uint8Array
}

const ETH = 14
/** destination and source MAC: locally administered placeholders */
const MACS = new Uint8Array([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1])

function checksum16(buf: Buffer, start: number, end: number, initial = 0): number {
  let sum = initial
  for (let i = start; i + 1 < end; i += 2) sum += (buf[i] << 8) | buf[i + 1]
  if ((end - start) & 1) sum += buf[end - 1] << 8
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return sum
}

export class FrameBuilder {
  private tcpSeq = new Map<string, number>()
  private ipId = 1
  private scratch = Buffer.alloc(14 + 40 + 20)

  /**
   * The headers (Ethernet, IP, UDP/TCP) of the frame carrying `spec.payload`, without the payload: a
   * view of a scratch buffer, valid until the next call. Write it and the payload one after the other.
   * SCTP frames (padded) need `build`.
   */
  header(spec: FrameSpec): Buffer {
    const v6 = spec.src.includes(':') || spec.dst.includes(':')
    const proto = spec.protocol ?? 17
    if (proto === 132) throw new HepError('HEP_ENCODE', 'SCTP frames are built whole: use build()')
    const len = ETH + (v6 ? 40 : 20) + (proto === 6 ? 20 : 8)
    this.fill(spec, this.scratch, false)
    return this.scratch.subarray(0, len)
  }

  /** One Ethernet frame carrying the message. */
  build(spec: FrameSpec): Buffer {
    const v6 = spec.src.includes(':') || spec.dst.includes(':')
    const proto = spec.protocol ?? 17
    const l4 = proto === 6 ? 20 : proto === 132 ? 12 + 16 : 8
    const pad = proto === 132 ? (4 - (spec.payload.length % 4)) % 4 : 0
    const frame = Buffer.alloc(ETH + (v6 ? 40 : 20) + l4 + spec.payload.length + pad)
    this.fill(spec, frame, true)
    return frame
  }

  private fill(spec: FrameSpec, frame: Buffer, withPayload: boolean): void {
    const v6 = spec.src.includes(':') || spec.dst.includes(':')
    const proto = spec.protocol ?? 17
    const l4 = proto === 6 ? 20 : proto === 132 ? 12 + 16 : 8
    const ipLen = v6 ? 40 : 20
    const payloadLen = spec.payload.length
    const ipPayload = l4 + payloadLen + (proto === 132 ? (4 - (payloadLen % 4)) % 4 : 0)
    if (ipPayload + (v6 ? 0 : ipLen) > 0xffff) {
      throw new HepError('HEP_ENCODE', `a ${payloadLen}-byte message does not fit in one IP packet`)
    }
    frame.fill(0, 0, ETH + ipLen + l4)
    // Ethernet: locally administered placeholder MACs
    frame.set(MACS, 0)
    frame.writeUInt16BE(v6 ? 0x86dd : 0x0800, 12)
    const ip = ETH
    if (v6) {
      const s = parseIPv6(spec.src)
      const d = parseIPv6(spec.dst)
      if (!s || !d) throw new HepError('HEP_ENCODE', `addresses ${spec.src} → ${spec.dst}: both must be IPv6`)
      frame.writeUInt32BE(0x60000000, ip)
      frame.writeUInt16BE(ipPayload, ip + 4)
      frame[ip + 6] = proto
      frame[ip + 7] = 64
      frame.set(s, ip + 8)
      frame.set(d, ip + 24)
    } else {
      frame[ip] = 0x45
      frame.writeUInt16BE(ipLen + ipPayload, ip + 2)
      frame.writeUInt16BE(this.ipId++ & 0xffff, ip + 4)
      frame.writeUInt16BE(0x4000, ip + 6) // DF
      frame[ip + 8] = 64
      frame[ip + 9] = proto
      if (!writeIPv4(spec.src, frame, ip + 12) || !writeIPv4(spec.dst, frame, ip + 16)) {
        throw new HepError('HEP_ENCODE', `addresses ${spec.src} → ${spec.dst}: both must be IPv4`)
      }
      frame.writeUInt16BE(~checksum16(frame, ip, ip + 20) & 0xffff, ip + 10)
    }
    const t = ip + ipLen
    frame.writeUInt16BE(spec.srcPort, t)
    frame.writeUInt16BE(spec.dstPort, t + 2)
    if (proto === 6) {
      const key = `${spec.src}|${spec.srcPort}|${spec.dst}|${spec.dstPort}`
      const rkey = `${spec.dst}|${spec.dstPort}|${spec.src}|${spec.srcPort}`
      const seq = this.tcpSeq.get(key) ?? 1
      this.tcpSeq.set(key, (seq + payloadLen) >>> 0)
      frame.writeUInt32BE(seq >>> 0, t + 4)
      frame.writeUInt32BE((this.tcpSeq.get(rkey) ?? 1) >>> 0, t + 8)
      frame[t + 12] = 0x50
      frame[t + 13] = 0x18 // PSH ACK
      frame.writeUInt16BE(0xffff, t + 14)
      frame.writeUInt16BE(0, t + 16)
      if (withPayload) frame.set(spec.payload, t + 20)
    } else if (proto === 132) {
      // SCTP common header (no verification tag, no CRC) + one DATA chunk (B and E flags)
      const c = t + 12
      frame[c] = 0
      frame[c + 1] = 0x03
      frame.writeUInt16BE(16 + payloadLen, c + 2)
      frame.set(spec.payload, c + 16)
    } else {
      frame.writeUInt16BE(8 + payloadLen, t + 4)
      if (withPayload) frame.set(spec.payload, t + 8)
      // UDP checksum: optional over IPv4 (left 0), mandatory over IPv6
      if (v6) {
        let sum = checksum16(frame, ip + 8, ip + 40)
        sum += 17 + 8 + payloadLen
        sum = checksum16(frame, t, t + 8, sum)
        sum = checksum16(
          Buffer.from(spec.payload.buffer, spec.payload.byteOffset, payloadLen),
          0,
          payloadLen,
          sum,
        )
        const c = ~sum & 0xffff
        frame.writeUInt16BE(c === 0 ? 0xffff : c, t + 6)
      }
    }
  }
}
