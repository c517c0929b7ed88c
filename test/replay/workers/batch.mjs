// One batch of the given datagrams in the format of src/replay/batch.ts (u32 len, u8 flags, f64 ms, bytes)
export function batchOf(datagrams) {
  const size = datagrams.reduce((n, d) => n + 13 + d.length, 0)
  const b = Buffer.from(new ArrayBuffer(size))
  let p = 0
  for (const d of datagrams) {
    b.writeUInt32LE(d.length, p)
    b[p + 4] = 0
    b.writeDoubleLE(0, p + 5)
    b.set(d, p + 13)
    p += 13 + d.length
  }
  return { t: 'batch', buf: b.buffer, used: size, packets: datagrams.length }
}
