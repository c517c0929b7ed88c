/**
 * A tiny classic-pcap + pcapng record reader for tests (whole file in memory, no error recovery).
 * The real reader lives in src/pcap/reader.ts; this one only feeds the decoder tests.
 */
import { readFileSync } from 'node:fs'

export interface MiniRecord {
  /** 1-based, as Wireshark numbers frames */
  index: number
  linkType: number
  interfaceId: number
  seconds: number
  nanos: number
  originalLength: number
  data: Buffer
}

export function readCapture(path: string): MiniRecord[] {
  return parseCapture(readFileSync(path))
}

export function parseCapture(buf: Buffer): MiniRecord[] {
  const magic = buf.readUInt32LE(0)
  if (magic === 0x0a0d0d0a) return parsePcapng(buf)
  return parsePcap(buf)
}

function parsePcap(buf: Buffer): MiniRecord[] {
  const m = buf.readUInt32LE(0)
  let le: boolean
  let nano: boolean
  if (m === 0xa1b2c3d4 || m === 0xa1b23c4d) {
    le = true
    nano = m === 0xa1b23c4d
  } else {
    const mb = buf.readUInt32BE(0)
    if (mb !== 0xa1b2c3d4 && mb !== 0xa1b23c4d) throw new Error('not a capture file')
    le = false
    nano = mb === 0xa1b23c4d
  }
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o))
  const linkType = u32(20) & 0xffff
  const out: MiniRecord[] = []
  let off = 24
  while (off + 16 <= buf.length) {
    const sec = u32(off)
    const frac = u32(off + 4)
    const incl = u32(off + 8)
    const orig = u32(off + 12)
    if (off + 16 + incl > buf.length) break
    out.push({
      index: out.length + 1,
      linkType,
      interfaceId: 0,
      seconds: sec,
      nanos: nano ? frac : frac * 1000,
      originalLength: orig,
      data: buf.subarray(off + 16, off + 16 + incl),
    })
    off += 16 + incl
  }
  return out
}

function parsePcapng(buf: Buffer): MiniRecord[] {
  const out: MiniRecord[] = []
  let le = true
  let ifaces: { linkType: number; units: bigint }[] = []
  let off = 0
  while (off + 12 <= buf.length) {
    let type = buf.readUInt32LE(off)
    if (type === 0x0a0d0d0a) {
      const bom = buf.readUInt32LE(off + 8)
      le = bom === 0x1a2b3c4d
      ifaces = []
    }
    const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o))
    const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o))
    type = u32(off)
    const blen = u32(off + 4)
    if (blen < 12 || off + blen > buf.length) break
    const end = off + blen - 4
    if (type === 1) {
      // IDB: linktype, reserved, snaplen, options
      let units = 1_000_000n
      let o = off + 16
      while (o + 4 <= end) {
        const code = u16(o)
        const len = u16(o + 2)
        if (code === 0) break
        if (code === 9 && len >= 1) {
          const r = buf[o + 4]
          units = r & 0x80 ? 2n ** BigInt(r & 0x7f) : 10n ** BigInt(r)
        }
        o += 4 + ((len + 3) & ~3)
      }
      ifaces.push({ linkType: u16(off + 8), units })
    } else if (type === 6 || type === 2) {
      const ifId = type === 6 ? u32(off + 8) : u16(off + 8)
      const ts = (BigInt(u32(off + 12)) << 32n) | BigInt(u32(off + 16))
      const cap = u32(off + 20)
      const orig = u32(off + 24)
      const iface = ifaces[ifId]
      const seconds = ts / iface.units
      const frac = ts % iface.units
      out.push({
        index: out.length + 1,
        linkType: iface.linkType,
        interfaceId: ifId,
        seconds: Number(seconds),
        nanos: Number((frac * 1_000_000_000n) / iface.units),
        originalLength: orig,
        data: buf.subarray(off + 28, off + 28 + cap),
      })
    } else if (type === 3) {
      const orig = u32(off + 8)
      const cap = Math.min(orig, blen - 16)
      out.push({
        index: out.length + 1,
        linkType: ifaces[0].linkType,
        interfaceId: 0,
        seconds: 0,
        nanos: 0,
        originalLength: orig,
        data: buf.subarray(off + 12, off + 12 + cap),
      })
    }
    off += blen
  }
  return out
}

/** Writes a classic little-endian microsecond pcap (for crafting cross-check files). */
export function writePcap(linkType: number, packets: Buffer[]): Buffer {
  const hdr = Buffer.alloc(24)
  hdr.writeUInt32LE(0xa1b2c3d4, 0)
  hdr.writeUInt16LE(2, 4)
  hdr.writeUInt16LE(4, 6)
  hdr.writeUInt32LE(262144, 16)
  hdr.writeUInt32LE(linkType, 20)
  const parts: Buffer[] = [hdr]
  packets.forEach((p, i) => {
    const r = Buffer.alloc(16)
    r.writeUInt32LE(1_700_000_000 + i, 0)
    r.writeUInt32LE(p.length, 8)
    r.writeUInt32LE(p.length, 12)
    parts.push(r, p)
  })
  return Buffer.concat(parts)
}
