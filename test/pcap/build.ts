/**
 * Packet builders for the decoder tests (not a test file itself).
 */
import { parseIPv4, parseIPv6 } from '../../src/pcap/addr.js'

export function v4(s: string): Buffer {
  const a = parseIPv4(s)
  if (!a) throw new Error('bad IPv4 ' + s)
  return Buffer.from(a)
}

export function v6(s: string): Buffer {
  const a = parseIPv6(s)
  if (!a) throw new Error('bad IPv6 ' + s)
  return Buffer.from(a)
}

export function udp(
  srcPort: number,
  dstPort: number,
  payload: Buffer | string,
  lengthField?: number,
): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload
  const h = Buffer.alloc(8)
  h.writeUInt16BE(srcPort, 0)
  h.writeUInt16BE(dstPort, 2)
  h.writeUInt16BE(lengthField ?? 8 + p.length, 4)
  return Buffer.concat([h, p])
}

export interface TcpOpts {
  seq?: number
  ack?: number
  flags?: number
  window?: number
  options?: Buffer
  dataOffset?: number
}

export function tcp(srcPort: number, dstPort: number, payload: Buffer | string, o: TcpOpts = {}): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload
  const opts = o.options ?? Buffer.alloc(0)
  const h = Buffer.alloc(20)
  h.writeUInt16BE(srcPort, 0)
  h.writeUInt16BE(dstPort, 2)
  h.writeUInt32BE(o.seq ?? 0, 4)
  h.writeUInt32BE(o.ack ?? 0, 8)
  const doff = o.dataOffset ?? (20 + opts.length) / 4
  const flags = o.flags ?? 0x18
  h[12] = (doff << 4) | ((flags >> 8) & 0x0f)
  h[13] = flags & 0xff
  h.writeUInt16BE(o.window ?? 65535, 14)
  return Buffer.concat([h, opts, p])
}

export function sctp(srcPort: number, dstPort: number, chunks: Buffer): Buffer {
  const h = Buffer.alloc(12)
  h.writeUInt16BE(srcPort, 0)
  h.writeUInt16BE(dstPort, 2)
  h.writeUInt32BE(0xdeadbeef, 4)
  return Buffer.concat([h, chunks])
}

export interface Ip4Opts {
  src?: string
  dst?: string
  protocol?: number
  ttl?: number
  id?: number
  /** fragment offset in bytes (multiple of 8) */
  fragOffset?: number
  more?: boolean
  options?: Buffer
  totalLength?: number
  ihl?: number
}

export function ipv4(payload: Buffer, o: Ip4Opts = {}): Buffer {
  const opts = o.options ?? Buffer.alloc(0)
  if (opts.length % 4 !== 0) throw new Error('options must be a multiple of 4 bytes')
  const h = Buffer.alloc(20)
  h[0] = 0x40 | (o.ihl ?? (20 + opts.length) / 4)
  h.writeUInt16BE(o.totalLength ?? 20 + opts.length + payload.length, 2)
  h.writeUInt16BE(o.id ?? 0x1234, 4)
  h.writeUInt16BE(((o.fragOffset ?? 0) >> 3) | (o.more ? 0x2000 : 0), 6)
  h[8] = o.ttl ?? 64
  h[9] = o.protocol ?? 17
  v4(o.src ?? '192.0.2.1').copy(h, 12)
  v4(o.dst ?? '192.0.2.2').copy(h, 16)
  return Buffer.concat([h, opts, payload])
}

export interface Ip6Opts {
  src?: string
  dst?: string
  /** next header of the fixed header */
  next?: number
  hopLimit?: number
  payloadLength?: number
}

export function ipv6(payload: Buffer, o: Ip6Opts = {}): Buffer {
  const h = Buffer.alloc(40)
  h[0] = 0x60
  h.writeUInt16BE(o.payloadLength ?? payload.length, 4)
  h[6] = o.next ?? 17
  h[7] = o.hopLimit ?? 64
  v6(o.src ?? '2001:db8::1').copy(h, 8)
  v6(o.dst ?? '2001:db8::2').copy(h, 24)
  return Buffer.concat([h, payload])
}

/** Generic IPv6 extension header ((len + 1) * 8 bytes) with next header `next`, `units` 8-byte units. */
export function ext6(next: number, units = 1): Buffer {
  const b = Buffer.alloc(units * 8)
  b[0] = next
  b[1] = units - 1
  return b
}

/** AH: (len + 2) * 4 bytes. */
export function ah6(next: number, words = 6): Buffer {
  const b = Buffer.alloc(words * 4)
  b[0] = next
  b[1] = words - 2
  return b
}

export function frag6(next: number, offset: number, more: boolean, id: number): Buffer {
  const b = Buffer.alloc(8)
  b[0] = next
  b.writeUInt16BE(offset | (more ? 1 : 0), 2)
  b.writeUInt32BE(id >>> 0, 4)
  return b
}

export interface Tag {
  tpid: number
  vid: number
}

export function eth(ethertype: number, payload: Buffer, tags: Tag[] = [], minFrame = false): Buffer {
  const parts: Buffer[] = [Buffer.from('0200000000010200000000020000', 'hex').subarray(0, 12)]
  for (const t of tags) {
    const b = Buffer.alloc(4)
    b.writeUInt16BE(t.tpid, 0)
    b.writeUInt16BE(t.vid, 2)
    parts.push(b)
  }
  const et = Buffer.alloc(2)
  et.writeUInt16BE(ethertype, 0)
  parts.push(et, payload)
  let f = Buffer.concat(parts)
  if (minFrame && f.length < 60) f = Buffer.concat([f, Buffer.alloc(60 - f.length, 0xee)])
  return f
}

export function sll(protocol: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(16)
  h.writeUInt16BE(0, 0) // to us
  h.writeUInt16BE(772, 2) // ARPHRD_LOOPBACK
  h.writeUInt16BE(6, 4)
  h.writeUInt16BE(protocol, 14)
  return Buffer.concat([h, payload])
}

export function sll2(protocol: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20)
  h.writeUInt16BE(protocol, 0)
  h.writeUInt32BE(1, 4)
  h.writeUInt16BE(772, 8)
  h[11] = 6
  return Buffer.concat([h, payload])
}

export function nullHdr(family: number, payload: Buffer, littleEndian: boolean): Buffer {
  const h = Buffer.alloc(4)
  if (littleEndian) h.writeUInt32LE(family, 0)
  else h.writeUInt32BE(family, 0)
  return Buffer.concat([h, payload])
}

/**
 * Splits an IPv4 datagram's payload (transport header + data) into fragments of at most `chunk` bytes
 * (a multiple of 8), each a complete IPv4 packet.
 */
export function fragment4(payload: Buffer, chunk: number, o: Ip4Opts = {}): Buffer[] {
  const out: Buffer[] = []
  for (let off = 0; off < payload.length; off += chunk) {
    const part = payload.subarray(off, Math.min(off + chunk, payload.length))
    out.push(ipv4(part, { ...o, fragOffset: off, more: off + chunk < payload.length }))
  }
  return out
}

/**
 * Splits an IPv6 fragmentable part (starting with header `next`) into fragments of at most `chunk`
 * bytes, each a complete IPv6 packet with a fragment header (preceded by `unfragmentable` headers,
 * whose chain must end with next header 44).
 */
export function fragment6(
  fragmentable: Buffer,
  next: number,
  chunk: number,
  id: number,
  o: Ip6Opts = {},
  unfragmentable: Buffer = Buffer.alloc(0),
): Buffer[] {
  const out: Buffer[] = []
  for (let off = 0; off < fragmentable.length; off += chunk) {
    const part = fragmentable.subarray(off, Math.min(off + chunk, fragmentable.length))
    const fh = frag6(next, off, off + chunk < fragmentable.length, id)
    out.push(
      ipv6(Buffer.concat([unfragmentable, fh, part]), {
        ...o,
        next: unfragmentable.length > 0 ? o.next : 44,
      }),
    )
  }
  return out
}
