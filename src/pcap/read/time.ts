/**
 * Capture timestamps: a pcapng interface's resolution (if_tsresol) and offset (if_tsoffset), and the exact
 * split of a 64-bit count of 1/units seconds into whole seconds and nanoseconds.
 */

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
