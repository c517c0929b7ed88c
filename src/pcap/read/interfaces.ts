/**
 * A pcapng interface: what its description block (IDB) says (link type, snaplen, if_name, and its clock:
 * if_tsresol and if_tsoffset), what its statistics block (ISB) counts, and how its timestamps become
 * seconds and nanoseconds: the exact split of a 64-bit count of 1/units seconds.
 */
import { u16, u32, type InterfaceStats, type ParseState } from './format.js'

const TWO32 = 4294967296

/** How one interface's timestamps are scaled. */
export interface Timescale {
  /** timestamp units per second */
  readonly units: number
  /** nanos = frac * nsMul / nsDiv when exact in a double */
  readonly nsMul: number
  readonly nsDiv: number
  /** seconds added to every timestamp (if_tsoffset) */
  readonly tsOffset: number
}

/** A time as whole seconds and nanoseconds 0..999_999_999; filled in place by splitTimestamp. */
export interface SecondsNanos {
  seconds: number
  nanos: number
}

export function timescale(units: number, tsOffset: number): Timescale {
  let nsMul = 1e9
  let nsDiv = units
  // exact integer scaling for powers of ten
  if (units <= 1e9 && 1e9 % units === 0) {
    nsMul = 1e9 / units
    nsDiv = 1
  } else if (units > 1e9 && Number.isSafeInteger(units) && units % 1e9 === 0) {
    nsMul = 1
    nsDiv = units / 1e9
  }
  return { units, nsMul, nsDiv, tsOffset }
}

/** Units per second and a display name for an if_tsresol byte. */
export function tsresol(v: number): { units: number; name: string } | undefined {
  if (v & 0x80) {
    const e = v & 0x7f
    if (e > 63) return undefined
    return { units: 2 ** e, name: `2^-${e}` }
  }
  if (v > 19) return undefined
  const name = v === 3 ? 'ms' : v === 6 ? 'us' : v === 9 ? 'ns' : v === 0 ? 's' : `10^-${v}`
  return { units: 10 ** v, name }
}

/** if_tsoffset: a signed 64-bit count of seconds, hi:lo in the section's byte order. */
export function tsOffsetSeconds(hi: number, lo: number): number {
  return hi * TWO32 + lo
}

/**
 * Splits the 64-bit timestamp hi:lo (in 1/units seconds) into `out` exactly, adds the interface's
 * offset, and normalises the nanoseconds. Writes into `out` so that no record costs an allocation.
 */
export function splitTimestamp(hi: number, lo: number, ts: Timescale, out: SecondsNanos): void {
  const u = ts.units
  let seconds: number
  let nanos: number
  if (u === 1e6 && hi < 0x200000) {
    // hi * 2^32 + lo < 2^53 for any date before the year 2255 in µs
    const v = hi * TWO32 + lo
    seconds = Math.floor(v / 1e6)
    nanos = (v - seconds * 1e6) * 1000
  } else if (u <= 0x2000000000) {
    // long division by 16-bit limbs: every intermediate stays below 2^53
    const qh = Math.floor(hi / u)
    let r = hi - qh * u
    let cur = r * 65536 + (lo >>> 16)
    const qm = Math.floor(cur / u)
    r = cur - qm * u
    cur = r * 65536 + (lo & 0xffff)
    const ql = Math.floor(cur / u)
    r = cur - ql * u
    const f = r * ts.nsMul
    nanos =
      f <= Number.MAX_SAFE_INTEGER
        ? Math.floor(f / ts.nsDiv)
        : Number((BigInt(r) * 1_000_000_000n) / BigInt(u))
    seconds = qh * TWO32 + qm * 65536 + ql
  } else {
    const v = (BigInt(hi) << 32n) | BigInt(lo)
    const bu = BigInt(u)
    nanos = Number(((v % bu) * 1_000_000_000n) / bu)
    seconds = Number(v / bu)
  }
  seconds += ts.tsOffset
  if (nanos > 999_999_999) {
    seconds += Math.floor(nanos / 1e9)
    nanos %= 1e9
  }
  out.seconds = seconds
  out.nanos = nanos
}

// ---------------------------------------------------------------- the blocks that describe an interface

/** One interface of a section, as its IDB describes it. */
export interface Iface extends Timescale {
  linkType: number
  snaplen: number
  /** if_name */
  name?: string
  /** the resolution's display name ('us', 'ns', '10^-N', '2^-N', ...) */
  precision: string
}

/** The interface description block at b[p] (n bytes, framing checked), in the byte order `le`. */
export function readIdb(b: Buffer, p: number, n: number, le: boolean, st: ParseState): Iface {
  if (n < 20) throw st.fail('CAPTURE_BLOCK', st.base + p, `interface description block of ${n} bytes`)
  const linkType = u16(b, p + 8, le)
  const snaplen = u32(b, p + 12, le)
  let units = 1e6
  let precision = 'us'
  let tsOffset = 0
  let name: string | undefined
  // options: code(2) length(2) value, padded to 4
  let o = p + 16
  const optEnd = p + n - 4
  while (o + 4 <= optEnd) {
    const code = u16(b, o, le)
    const len = u16(b, o + 2, le)
    if (code === 0) break
    const v = o + 4
    if (v + len > optEnd) {
      throw st.fail(
        'CAPTURE_BLOCK',
        st.base + p,
        `interface description block: option ${code} overruns the block`,
      )
    }
    if (code === 2 && len >= 1) name = b.toString('utf8', v, v + len).replace(/\0+$/, '')
    else if (code === 9 && len >= 1) {
      const r = tsresol(b[v])
      if (!r) {
        throw st.fail(
          'CAPTURE_BLOCK',
          st.base + p,
          `interface description block: bad if_tsresol 0x${b[v].toString(16)}`,
        )
      }
      units = r.units
      precision = r.name
    } else if (code === 14 && len >= 8) {
      const hi = le ? b.readInt32LE(v + 4) : b.readInt32BE(v)
      const lo = u32(b, le ? v : v + 4, le)
      tsOffset = tsOffsetSeconds(hi, lo)
    }
    o = v + ((len + 3) & ~3)
  }
  return { linkType, snaplen, name, precision, ...timescale(units, tsOffset) }
}

/**
 * The interface statistics block at b[p]: the counters it carries (isb_ifrecv 4, isb_ifdrop 5,
 * isb_osdrop 7, isb_usrdeliv 8). Undefined for a block too short to name its interface; options that
 * are not well formed end the reading: statistics are never worth failing a capture for.
 */
export function readIsb(
  b: Buffer,
  p: number,
  n: number,
  le: boolean,
  ifaces: readonly Iface[],
): InterfaceStats | undefined {
  if (n < 24) return undefined
  const id = u32(b, p + 8, le)
  const s: InterfaceStats = { interfaceId: id, name: ifaces[id]?.name }
  const u64 = (v: number) => u32(b, le ? v + 4 : v, le) * 2 ** 32 + u32(b, le ? v : v + 4, le)
  let o = p + 20
  const optEnd = p + n - 4
  while (o + 4 <= optEnd) {
    const code = u16(b, o, le)
    const len = u16(b, o + 2, le)
    const v = o + 4
    if (code === 0 || v + len > optEnd) break
    if (len === 8) {
      if (code === 4) s.received = u64(v)
      else if (code === 5) s.ifDropped = u64(v)
      else if (code === 7) s.osDropped = u64(v)
      else if (code === 8) s.delivered = u64(v)
    }
    o = v + ((len + 3) & ~3)
  }
  return s
}
