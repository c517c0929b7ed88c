/**
 * IP address formatting and parsing for the packet decoder.
 *
 * Formatting is on the per-packet hot path: no intermediate arrays, no number-to-string conversions
 * (lookup tables), only the pieces of the result string are allocated.
 *
 * IPv6 text is RFC 5952 canonical: lowercase hex, leading zeros dropped, the longest run of two or
 * more zero groups (the first one on a tie) compressed to "::", and IPv4-mapped addresses
 * (::ffff:0:0/96, RFC 5952 section 5) in mixed notation "::ffff:192.0.2.1". Unlike glibc's
 * inet_ntop, the deprecated IPv4-compatible form (::a.b.c.d) is not produced: "::102:304".
 */

const DEC: string[] = []
/** byte -> hex without leading zero ("0".."ff") */
const HEX: string[] = []
/** byte -> two hex digits ("00".."ff") */
const HEX2: string[] = []
for (let i = 0; i < 256; i++) {
  DEC.push(String(i))
  HEX.push(i.toString(16))
  HEX2.push(i.toString(16).padStart(2, '0'))
}

/** Dotted quad of the 4 bytes at buf[off]. */
export function ipv4ToString(buf: Uint8Array, off: number): string {
  return DEC[buf[off]] + '.' + DEC[buf[off + 1]] + '.' + DEC[buf[off + 2]] + '.' + DEC[buf[off + 3]]
}

/** One 16-bit group, no leading zeros. */
function group(buf: Uint8Array, o: number): string {
  const hi = buf[o]
  return hi === 0 ? HEX[buf[o + 1]] : HEX[hi] + HEX2[buf[o + 1]]
}

/** RFC 5952 canonical text of the 16 bytes at buf[off]. */
export function ipv6ToString(buf: Uint8Array, off: number): string {
  // longest run of zero groups (>= 2 groups; first wins on a tie)
  let bestStart = -1
  let bestLen = 1
  let runStart = -1
  for (let i = 0; i < 8; i++) {
    const o = off + 2 * i
    if (buf[o] === 0 && buf[o + 1] === 0) {
      if (runStart < 0) runStart = i
      const len = i - runStart + 1
      if (len > bestLen) {
        bestLen = len
        bestStart = runStart
      }
    } else {
      runStart = -1
    }
  }
  if (bestStart === 0) {
    if (bestLen === 8) return '::'
    // IPv4-mapped ::ffff:a.b.c.d
    if (bestLen === 5 && buf[off + 10] === 0xff && buf[off + 11] === 0xff) {
      return '::ffff:' + ipv4ToString(buf, off + 12)
    }
  }
  let out = ''
  if (bestStart < 0) {
    out = group(buf, off)
    for (let i = 1; i < 8; i++) out += ':' + group(buf, off + 2 * i)
    return out
  }
  for (let i = 0; i < bestStart; i++) out += group(buf, off + 2 * i) + ':'
  if (bestStart === 0) out = ':'
  const after = bestStart + bestLen
  if (after === 8) return out + ':'
  for (let i = after; i < 8; i++) out += ':' + group(buf, off + 2 * i)
  return out
}

/**
 * Strict dotted quad: four decimal parts 0-255, no leading zeros (as inet_pton), no whitespace.
 * Returns the four byte values, or undefined.
 */
export function parseIPv4(str: string): number[] | undefined {
  const out = [0, 0, 0, 0]
  return parseIPv4Into(str, 0, str.length, out, 0) ? out : undefined
}

function parseIPv4Into(s: string, start: number, end: number, out: number[], o: number): boolean {
  let part = 0
  let value = 0
  let digits = 0
  for (let i = start; i <= end; i++) {
    const c = i < end ? s.charCodeAt(i) : 46 // '.' sentinel closes the last part
    if (c >= 48 && c <= 57) {
      if (digits === 1 && value === 0) return false // leading zero
      value = value * 10 + (c - 48)
      if (++digits > 3 || value > 255) return false
    } else if (c === 46) {
      if (digits === 0 || part > 3) return false
      out[o + part++] = value
      value = 0
      digits = 0
    } else {
      return false
    }
  }
  return part === 4
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}

/**
 * IPv6 text (RFC 4291 section 2.2): eight groups of 1-4 hex digits, at most one "::", optionally an
 * embedded dotted quad for the last 32 bits ("::ffff:10.0.0.1", "64:ff9b::192.0.2.33").
 * No zone id ("%eth0"), no brackets, no prefix length. Returns the 16 bytes, or undefined.
 */
export function parseIPv6(str: string): Uint8Array | undefined {
  const n = str.length
  if (n < 2 || n > 45) return undefined
  const groups = new Uint16Array(8)
  let count = 0 // groups written
  let gap = -1 // index in groups where "::" stands
  let i = 0
  if (str.charCodeAt(0) === 58) {
    // leading ":" must be "::"
    if (str.charCodeAt(1) !== 58) return undefined
    gap = 0
    i = 2
    if (i === n) return new Uint8Array(16)
  }
  while (i < n) {
    // one group: hex digits up to ':' or end, or a dotted quad at the end
    let j = i
    let value = 0
    while (j < n) {
      const h = hexValue(str.charCodeAt(j))
      if (h < 0) break
      value = (value << 4) | h
      j++
    }
    const digits = j - i
    if (j < n && str.charCodeAt(j) === 46) {
      // embedded IPv4: must be last and fit in two groups
      if (count > 6) return undefined
      const v4 = [0, 0, 0, 0]
      if (!parseIPv4Into(str, i, n, v4, 0)) return undefined
      groups[count++] = (v4[0] << 8) | v4[1]
      groups[count++] = (v4[2] << 8) | v4[3]
      i = n
      break
    }
    if (digits === 0 || digits > 4 || count >= 8) return undefined
    groups[count++] = value
    if (j === n) {
      i = n
      break
    }
    if (str.charCodeAt(j) !== 58) return undefined
    j++
    if (j < n && str.charCodeAt(j) === 58) {
      if (gap >= 0) return undefined // a second "::"
      gap = count
      j++
    } else if (j === n) {
      return undefined // trailing single ":"
    }
    i = j
  }
  if (gap < 0) {
    if (count !== 8) return undefined
  } else {
    if (count > 7) return undefined // "::" must stand for at least one group
    const tail = count - gap
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[count - 1 - k]
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0
  }
  const out = new Uint8Array(16)
  for (let k = 0; k < 8; k++) {
    out[2 * k] = groups[k] >> 8
    out[2 * k + 1] = groups[k] & 0xff
  }
  return out
}
