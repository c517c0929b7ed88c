// Makes large captures for benchmarks by repeating the records of a small real one (classic pcap,
// little-endian), shifting timestamps so time moves forward. Written under the OS temp dir.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs'

export function generatePcap(src, dst, targetBytes) {
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
      off += body.length
    }
    writeSync(fd, chunk, 0, off)
    written += off
  }
  closeSync(fd)
  return { bytes: written, records }
}
