/** WebSocket frames for the tests (not a test file itself). */

/** One RFC 6455 frame. */
export function wsFrame(
  opcode: number,
  payload: Buffer | string,
  o: { fin?: boolean; mask?: number[]; rsv?: number } = {},
): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload
  const head: number[] = [((o.fin ?? true) ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | opcode]
  const m = o.mask ? 0x80 : 0
  if (p.length < 126) head.push(m | p.length)
  else if (p.length < 65536) head.push(m | 126, p.length >> 8, p.length & 255)
  else
    head.push(
      m | 127,
      0,
      0,
      0,
      0,
      (p.length >>> 24) & 255,
      (p.length >> 16) & 255,
      (p.length >> 8) & 255,
      p.length & 255,
    )
  let body = p
  if (o.mask) {
    head.push(...o.mask)
    body = Buffer.from(p.map((b, i) => b ^ o.mask![i & 3]))
  }
  return Buffer.concat([Buffer.from(head), body])
}
