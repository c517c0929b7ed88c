import { isIPv6 } from 'node:net'
import { describe, expect, it } from 'vitest'
import { ipv4ToString, ipv6ToString, parseIPv4, parseIPv6 } from '../../src/pcap/addr.js'
import { rng } from '../helpers/rng.js'

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex')
}

describe('ipv4ToString', () => {
  it('formats dotted quads at an offset', () => {
    expect(ipv4ToString(Buffer.from([9, 127, 0, 0, 1]), 1)).toBe('127.0.0.1')
    expect(ipv4ToString(Buffer.from([255, 255, 255, 255]), 0)).toBe('255.255.255.255')
    expect(ipv4ToString(Buffer.from([0, 0, 0, 0]), 0)).toBe('0.0.0.0')
  })
})

describe('ipv6ToString (RFC 5952)', () => {
  const cases: [string, string][] = [
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['10000000000000000000000000000000', '1000::'],
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // first of two equal runs
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'], // longest run wins
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'], // a single 0 group is not compressed
    ['20010DB8AAAABBBBCCCCDDDDEEEEFFFF', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff'],
    ['fe800000000000000000000000000001', 'fe80::1'],
    ['00000000000000000000ffffc0000201', '::ffff:192.0.2.1'], // IPv4-mapped: mixed notation
    ['000000000000000000000000c0000201', '::c000:201'], // IPv4-compatible (deprecated): plain
    ['00010000000000000000000000000000', '1::'],
    ['00010000000000000000000000000001', '1::1'],
    ['00000001000000000000000000000000', '0:1::'],
    ['000000000000ffff0000000000000000', '0:0:0:ffff::'], // the longer run wins
  ]
  it.each(cases)('%s -> %s', (h, text) => {
    expect(ipv6ToString(hex(h), 0)).toBe(text)
    expect(ipv6ToString(Buffer.concat([Buffer.alloc(3), hex(h)]), 3)).toBe(text)
  })

  it('agrees with the WHATWG URL serializer and round-trips through parseIPv6 (random addresses)', () => {
    const r = rng(1)
    const b = Buffer.alloc(16)
    for (let n = 0; n < 3000; n++) {
      // bias towards zero groups so that runs are exercised
      for (let g = 0; g < 8; g++) {
        const v = r() < 0.5 ? 0 : Math.floor(r() * 65536)
        b.writeUInt16BE(r() < 0.2 ? v & 0xff : v, g * 2)
      }
      const text = ipv6ToString(b, 0)
      const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff
      if (!mapped) expect(text).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1))
      expect(isIPv6(text)).toBe(true)
      expect(Buffer.from(parseIPv6(text) as Uint8Array).equals(b)).toBe(true)
    }
  })
})

describe('parseIPv4', () => {
  it('accepts dotted quads', () => {
    expect(Array.from(parseIPv4('127.0.0.1')!)).toEqual([127, 0, 0, 1])
    expect(Array.from(parseIPv4('0.0.0.0')!)).toEqual([0, 0, 0, 0])
    expect(Array.from(parseIPv4('255.255.255.255')!)).toEqual([255, 255, 255, 255])
  })
  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1.2.3.04',
    '1..2.3',
    ' 1.2.3.4',
    '1.2.3.4 ',
    'a.b.c.d',
    '1.2.3.',
  ])('rejects %j', (s) => {
    expect(parseIPv4(s)).toBeUndefined()
  })
})

describe('parseIPv6', () => {
  const ok: [string, string][] = [
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['1::', '00010000000000000000000000000000'],
    ['2001:DB8::1', '20010db8000000000000000000000001'],
    ['2001:db8:0:0:0:0:0:1', '20010db8000000000000000000000001'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
    ['::2:3:4:5:6:7:8', '00000002000300040005000600070008'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['64:ff9b::192.0.2.33', '0064ff9b0000000000000000c0000221'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
    ['::1.2.3.4', '00000000000000000000000001020304'],
    ['fe80::0001:00ab', 'fe8000000000000000000000000100ab'],
  ]
  it.each(ok)('%s', (s, h) => {
    expect(Buffer.from(parseIPv6(s) as Uint8Array).toString('hex')).toBe(h)
    expect(isIPv6(s)).toBe(true)
  })
  const bad = [
    '',
    ':',
    ':::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1::2::3',
    '12345::',
    ':1::',
    '1:',
    '1::2:',
    'g::',
    '::1.2.3',
    '::1.2.3.4.5',
    '1:2:3:4:5:6:7:1.2.3.4',
    '1:2:3:4:5:6:7:8::',
    '::1.2.3.4:5',
    '::256.0.0.1',
    'fe80::1%eth0',
    '[::1]',
    ' ::1',
  ]
  it.each(bad)('rejects %j', (s) => {
    expect(parseIPv6(s)).toBeUndefined()
    if (!s.includes('%')) expect(isIPv6(s)).toBe(false) // node accepts zone ids
  })
})
