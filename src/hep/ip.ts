/**
 * IP address text <-> bytes, for the codec's hot path: no regular expressions, no intermediate arrays
 * on the IPv4 path. IPv6 text is RFC 5952 canonical (lowercase, longest zero run as "::").
 */

export function ipv4ToString(buf: Uint8Array, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`
}

export function ipv6ToString(buf: Uint8Array, off: number): string {
  // find the longest run (>= 2) of zero 16-bit groups
  let bestStart = -1
  let bestLen = 0
  let curStart = -1
  let curLen = 0
  for (let i = 0; i < 8; i++) {
    const zero = buf[off + 2 * i] === 0 && buf[off + 2 * i + 1] === 0
    if (zero) {
      if (curStart < 0) curStart = i
      curLen++
      if (curLen > bestLen) {
        bestLen = curLen
        bestStart = curStart
      }
    } else {
      curStart = -1
      curLen = 0
    }
  }
  if (bestLen < 2) bestStart = -1
  // IPv4-mapped ::ffff:a.b.c.d
  if (bestStart === 0 && bestLen === 5 && buf[off + 10] === 0xff && buf[off + 11] === 0xff) {
    return '::ffff:' + ipv4ToString(buf, off + 12)
  }
  let out = ''
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += i === 0 ? '::' : ':'
      i += bestLen - 1
      continue
    }
    out += ((buf[off + 2 * i] << 8) | buf[off + 2 * i + 1]).toString(16)
    if (i < 7) out += ':'
  }
  return out
}

/** Writes the 4 bytes of a dotted quad at buf[off]; returns false if `s` is not an IPv4 address. */
export function writeIPv4(s: string, buf: Uint8Array, off: number): boolean {
  let part = 0
  let value = 0
  let digits = 0
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46 /* '.' sentinel */
    if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return false // leading zero: "04" could be read as octal
      value = value * 10 + (c - 48)
      if (++digits > 3 || value > 255) return false
    } else if (c === 46) {
      if (digits === 0 || part > 3) return false
      buf[off + part++] = value
      value = 0
      digits = 0
    } else return false
  }
  return part === 4
}

export function parseIPv4(s: string): Uint8Array | undefined {
  const b = new Uint8Array(4)
  return writeIPv4(s, b, 0) ? b : undefined
}

/**
 * Parses IPv6 text ("::1", "fe80::1", "::ffff:1.2.3.4"). Brackets and %zone suffixes are not part of
 * an address (callers that accept "[::1]:9060" strip them first).
 */
export function parseIPv6(s: string): Uint8Array | undefined {
  const out = new Uint8Array(16)
  const dbl = s.indexOf('::')
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return undefined
  const headText = dbl >= 0 ? s.slice(0, dbl) : s
  const tailText = dbl >= 0 ? s.slice(dbl + 2) : ''
  const head = headText === '' ? [] : headText.split(':')
  const tail = tailText === '' ? [] : tailText.split(':')
  const groups: number[] = []
  const tailGroups: number[] = []
  const parseGroups = (parts: string[], into: number[], allowV4: boolean): boolean => {
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]
      if (allowV4 && i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p)
        if (!v4) return false
        into.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3])
        continue
      }
      if (p.length === 0 || p.length > 4) return false
      const v = parseInt(p, 16)
      if (Number.isNaN(v) || !/^[0-9a-fA-F]+$/.test(p)) return false
      into.push(v)
    }
    return true
  }
  if (!parseGroups(head, groups, dbl < 0)) return undefined
  if (!parseGroups(tail, tailGroups, true)) return undefined
  const total = groups.length + tailGroups.length
  if (dbl < 0 ? total !== 8 : total > 7) return undefined
  for (let i = 0; i < groups.length; i++) {
    out[2 * i] = groups[i] >> 8
    out[2 * i + 1] = groups[i] & 0xff
  }
  const start = 8 - tailGroups.length
  for (let i = 0; i < tailGroups.length; i++) {
    out[2 * (start + i)] = tailGroups[i] >> 8
    out[2 * (start + i) + 1] = tailGroups[i] & 0xff
  }
  return out
}

/** 4 for an IPv4 text, 6 for IPv6, 0 otherwise. Cheap: looks for ':' first. */
export function ipVersionOf(s: string): 0 | 4 | 6 {
  if (s.includes(':')) return parseIPv6(s) ? 6 : 0
  return parseIPv4(s) ? 4 : 0
}

/** parseIPv6 that also takes the bracketed form "[::1]" people write in JSON and URLs. */
export function parseIPv6Text(s: string): Uint8Array | undefined {
  return parseIPv6(s.length > 1 && s[0] === '[' && s[s.length - 1] === ']' ? s.slice(1, -1) : s)
}

/**
 * Dotted IPv4 texts of the addresses a decoder meets, formatted once each: a sender has few addresses,
 * and formatting them is a fifth of decoding a packet. Bounded: cleared when it holds 4,096. One per
 * decoding session (a listener, an input), given to the codec in `DecodeOptions.addresses`.
 */
export class Ipv4Texts {
  private readonly texts = new Map<number, string>()

  text(buf: Uint8Array, off: number): string {
    const key = ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0
    let s = this.texts.get(key)
    if (s === undefined) {
      if (this.texts.size >= 4096) this.texts.clear()
      s = ipv4ToString(buf, off)
      this.texts.set(key, s)
    }
    return s
  }

  get size(): number {
    return this.texts.size
  }
}

/**
 * The 32 bits of IPv4 texts an encoder meets, parsed once each: the encoding side of Ipv4Texts (a
 * replay sends from few addresses, and parsing their texts was a tenth of encoding a packet).
 * Bounded: cleared when it holds 4,096. One per encoding session, given to the codec in
 * `EncodeOptions.addressBits`.
 */
export class Ipv4Bits {
  private readonly bits = new Map<string, number>()
  private readonly scratch = new Uint8Array(4)

  /** `s` as a non-negative 32-bit number, or -1 if it is no IPv4 address (writeIPv4's rules). */
  of(s: string): number {
    let a = this.bits.get(s)
    if (a !== undefined) return a
    a = ipv4Number(s, this.scratch)
    // a text that is none is kept too when it may be an address (IPv6: at most 45 characters)
    if (a < 0 && s.length > 45) return a
    if (this.bits.size >= 4096) this.bits.clear()
    this.bits.set(s, a)
    return a
  }
}

/** `s` as a non-negative 32-bit number (parsed into `scratch`, 4 bytes), or -1 if it is no IPv4 address. */
export function ipv4Number(s: string, scratch: Uint8Array): number {
  if (!writeIPv4(s, scratch, 0)) return -1
  return scratch[0] * 0x1000000 + ((scratch[1] << 16) | (scratch[2] << 8) | scratch[3])
}
