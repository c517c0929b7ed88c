// Byte kernels of two hot paths, compiled to WebAssembly (AssemblyScript, 128-bit SIMD) by
// scripts/wasm.mjs: a payload's bytes as a JSON string (JSON lines: decode, convert, listen) and hex
// digits as bytes (hex input). Each works on memory the caller fills and reads (src/hep/byte-kernels.ts);
// each has a JavaScript twin there, used where WebAssembly is not, and the tests prove the two the same.

/** Writes the JSON escape of the ASCII byte c at o (a byte that needs one); returns the position after it. */
function esc(o: usize, c: u32): usize {
  store<u8>(o, 92)
  if (c == 13) {
    store<u8>(o + 1, 114)
    return o + 2
  }
  if (c == 10) {
    store<u8>(o + 1, 110)
    return o + 2
  }
  if (c == 34 || c == 92) {
    store<u8>(o + 1, <u8>c)
    return o + 2
  }
  if (c == 9) {
    store<u8>(o + 1, 116)
    return o + 2
  }
  if (c == 8) {
    store<u8>(o + 1, 98)
    return o + 2
  }
  if (c == 12) {
    store<u8>(o + 1, 102)
    return o + 2
  }
  store<u8>(o + 1, 117)
  store<u8>(o + 2, 48)
  store<u8>(o + 3, 48)
  store<u8>(o + 4, <u8>(48 + (c >> 4)))
  const d = c & 15
  store<u8>(o + 5, <u8>(d < 10 ? 48 + d : 87 + d))
  return o + 6
}

/**
 * The bytes src[0, n) as the inside of a JSON string at dst, escaped as JSON.stringify escapes them;
 * returns the bytes written, or -1 when a byte is not ASCII (the caller then takes another way).
 * dst must have room for 6n + 16 bytes.
 */
export function escapeAscii(src: usize, n: i32, dst: usize): i32 {
  let i: i32 = 0
  let o = dst
  const lo = i8x16.splat(0x20)
  const quote = i8x16.splat(0x22)
  const back = i8x16.splat(0x5c)
  while (i + 16 <= n) {
    const x = v128.load(src + <usize>i)
    v128.store(o, x)
    // signed: bytes over 0x7f are negative, so one compare finds them and the control characters
    const m = v128.or(i8x16.lt_s(x, lo), v128.or(i8x16.eq(x, quote), i8x16.eq(x, back)))
    if (!v128.any_true(m)) {
      i += 16
      o += 16
      continue
    }
    const k = ctz(i8x16.bitmask(m))
    i += k
    o += k
    const c = <u32>load<u8>(src + <usize>i)
    if (c > 0x7f) return -1
    o = esc(o, c)
    i++
  }
  while (i < n) {
    const c = <u32>load<u8>(src + <usize>i)
    i++
    if (c >= 0x20 && c != 0x22 && c != 0x5c) {
      if (c > 0x7f) return -1
      store<u8>(o, <u8>c)
      o++
    } else o = esc(o, c)
  }
  return <i32>(o - dst)
}
/** The value of a hex digit, or -1. */
function nibble(c: u32): i32 {
  const d = c - 48
  if (d < 10) return <i32>d
  const l = (c | 0x20) - 97
  if (l < 6) return <i32>(l + 10)
  return -1
}

/**
 * The hex digits src[0, n) (n even) as bytes at dst; returns n / 2, or -1 when a character is not a
 * hex digit.
 */
export function unhex(src: usize, n: i32, dst: usize): i32 {
  let i: i32 = 0
  let o = dst
  const zero = i8x16.splat(48)
  const ten = i8x16.splat(10)
  const six = i8x16.splat(6)
  const lower = i8x16.splat(0x20)
  const a = i8x16.splat(97)
  const low8 = i16x8.splat(0xff)
  while (i + 32 <= n) {
    const x = v128.load(src + <usize>i)
    const y = v128.load(src + <usize>i + 16)
    const dx = i8x16.sub(x, zero)
    const lx = i8x16.sub(v128.or(x, lower), a)
    const dy = i8x16.sub(y, zero)
    const ly = i8x16.sub(v128.or(y, lower), a)
    const isdx = i8x16.lt_u(dx, ten)
    const isdy = i8x16.lt_u(dy, ten)
    const ok = v128.and(v128.or(isdx, i8x16.lt_u(lx, six)), v128.or(isdy, i8x16.lt_u(ly, six)))
    if (!i8x16.all_true(ok)) return -1
    const vx = v128.bitselect(dx, i8x16.add(lx, ten), isdx)
    const vy = v128.bitselect(dy, i8x16.add(ly, ten), isdy)
    // each 16-bit lane holds a pair: its first digit in the low byte
    const px = v128.or(i16x8.shl(v128.and(vx, low8), 4), i16x8.shr_u(vx, 8))
    const py = v128.or(i16x8.shl(v128.and(vy, low8), 4), i16x8.shr_u(vy, 8))
    v128.store(o, i8x16.narrow_i16x8_u(px, py))
    i += 32
    o += 16
  }
  while (i < n) {
    const h = nibble(<u32>load<u8>(src + <usize>i))
    const l = nibble(<u32>load<u8>(src + <usize>i + 1))
    if ((h | l) < 0) return -1
    store<u8>(o, <u8>((h << 4) | l))
    i += 2
    o++
  }
  return n >> 1
}
