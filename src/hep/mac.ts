/** MAC addresses in HEP3 chunks 0x0014/0x0015: 8 bytes, shown as colon hex. */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** "00:00:02:42:ac:11:00:02" from the 8 bytes at buf[off]. */
export function macToString(buf: Uint8Array, off: number): string {
  let s = HEX[buf[off]]
  for (let i = 1; i < 8; i++) s += ':' + HEX[buf[off + i]]
  return s
}

/** "aa:bb:cc:dd:ee:ff" (6 bytes, zero-padded in front) or 8 bytes, separators ':' '-' or none. */
export function writeMac(s: string, buf: Uint8Array, off: number): boolean {
  const hex = s.replace(/[:-]/g, '')
  if (!/^[0-9a-fA-F]+$/.test(hex) || (hex.length !== 16 && hex.length !== 12)) return false
  const full = hex.length === 12 ? '0000' + hex : hex
  for (let i = 0; i < 8; i++) buf[off + i] = parseInt(full.slice(2 * i, 2 * i + 2), 16)
  return true
}
