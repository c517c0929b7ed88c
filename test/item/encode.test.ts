// The encode step of send, convert and replay: skip what cannot be read, apply the options, encode,
// skip what cannot be encoded; every skip counted by label and told with the item's origin.
import { describe, expect, it } from 'vitest'
import { sipPacket } from '../net/helpers.js'
import { HepError } from '../../src/errors.js'
import { decode, encode } from '../../src/hep/codec.js'
import type { HepPacket } from '../../src/hep/packet.js'
import { ItemEncoder, type ItemEncoderOptions } from '../../src/item/encode.js'
import { makeItem, type HepItem } from '../../src/item/item.js'
import type { SipInfo } from '../../src/sip/scan.js'

const packet = (over: Partial<HepPacket> = {}): HepPacket =>
  sipPacket(Buffer.from('INVITE sip:a@b SIP/2.0\r\nCall-ID: from-payload\r\n\r\n'), {
    timeSeconds: 100,
    timeUseconds: 5,
    captureId: 1,
    ...over,
  })

/** An item read from bytes, as the raw and hex readers make them */
function readItem(p: HepPacket, line = 1): HepItem {
  const raw = encode(p)
  return makeItem(line, { source: 'in.hex', line }, { raw, packet: decode(raw) })
}

function encoder(opts: Omit<ItemEncoderOptions, 'onSkip'> = {}) {
  const told: string[] = []
  const enc = new ItemEncoder({
    ...opts,
    onSkip: (where, reason, e) => told.push(`${where}: ${reason}${e ? ': ' + e.code : ''}`),
  })
  return { enc, told }
}

describe('ItemEncoder', () => {
  it('skips items without a packet as unreadable, or tells malformed packets apart when asked', () => {
    const items = [
      makeItem(1, { source: 'a.hex', line: 2 }, { error: new HepError('INPUT_FORMAT', 'not hex') }),
      makeItem(2, { source: 'a.jsonl', line: 3 }, { error: new HepError('HEP_JSON', 'not JSON') }),
      makeItem(3, { source: 'a.hep', byte: 40 }, { error: new HepError('HEP_BAD_VERSION', 'no') }),
      makeItem(4, { source: 'x.pcap' }, {}),
    ]
    const plain = encoder()
    expect(items.map((i) => plain.enc.next(i))).toEqual([false, false, false, false])
    expect(plain.enc.skipped).toEqual({ unreadable: 4 })
    const split = encoder({ malformed: true })
    for (const i of items) split.enc.next(i)
    expect(split.enc.skipped).toEqual({ unreadable: 2, malformed: 2 })
    expect(split.told).toEqual([
      'a.hex line 2: unreadable: INPUT_FORMAT',
      'a.jsonl line 3: unreadable: HEP_JSON',
      'a.hep byte 40: malformed: HEP_BAD_VERSION',
      'x.pcap: malformed',
    ])
  })

  it('reuseRaw: with no option that changes a packet its bytes go out as read; any option re-encodes it', () => {
    const item = readItem(packet())
    const { enc } = encoder({ reuseRaw: true })
    expect(enc.next(item)).toBe(true)
    expect(enc.bytes).toBe(item.raw)
    expect(enc.packet).toBe(item.packet)
    const changed = encoder({ reuseRaw: true, captureId: 7 })
    expect(changed.enc.next(item)).toBe(true)
    expect(changed.enc.bytes).not.toBe(item.raw)
    expect(decode(changed.enc.bytes).captureId).toBe(7)
    expect(item.packet?.captureId).toBe(1) // the item's packet is not changed
    // without reuseRaw the packet is encoded anew (the same bytes for a canonical packet)
    const fresh = encoder()
    expect(fresh.enc.next(item)).toBe(true)
    expect(fresh.enc.bytes).not.toBe(item.raw)
    expect(fresh.enc.bytes.equals(item.raw as Buffer)).toBe(true)
  })

  it('complete: hand-written packets (no chunk list) are completed before encoding', () => {
    const hand = makeItem(1, { source: 'flags' }, { packet: { version: 3, payload: Buffer.from('x') } })
    const { enc } = encoder({ complete: true })
    expect(enc.next(hand)).toBe(true)
    const back = decode(enc.bytes)
    expect([back.protocol, back.srcIp, back.payloadType]).toEqual([17, '0.0.0.0', 1])
    expect(hand.packet?.protocol).toBeUndefined()
  })

  it('scratch: the bytes are a view of the buffer given, overwritten by the next item', () => {
    const scratch = Buffer.alloc(65536)
    const { enc } = encoder({ scratch })
    enc.next(readItem(packet({ srcPort: 1111 })))
    const first = enc.bytes
    expect(first.buffer).toBe(scratch.buffer)
    expect(decode(first).srcPort).toBe(1111)
    enc.next(readItem(packet({ srcPort: 2222 })))
    expect(decode(first).srcPort).toBe(2222)
  })

  it('adjust changes a copy of the packet before it is encoded', () => {
    const item = readItem(packet())
    const { enc } = encoder()
    expect(enc.readable(item)).toBe(true)
    expect(enc.encode(item, (p) => (p.timeSeconds = 999))).toBe(true)
    expect([enc.packet.timeSeconds, decode(enc.bytes).timeSeconds, item.packet?.timeSeconds]).toEqual([
      999, 999, 100,
    ])
  })

  it("correlation id 'auto': the item's own SIP scan when it has one, else the finder given", () => {
    const finder = (b: Buffer) => /Call-ID: (\S+)/.exec(b.toString())?.[1]
    const { enc } = encoder({ correlationId: 'auto', callIdOf: finder })
    const scanned = makeItem(
      1,
      { source: 'x.pcap', frame: 3 },
      { packet: packet(), sip: { kind: 'request', method: 'INVITE', callId: 'from-scan' } as SipInfo },
    )
    expect(enc.next(scanned)).toBe(true)
    expect(enc.packet.correlationId).toBe('from-scan')
    expect(enc.next(readItem(packet()))).toBe(true)
    expect(enc.packet.correlationId).toBe('from-payload')
  })

  it('what cannot be encoded is skipped with its origin; anything but a HepError is our bug and thrown', () => {
    const { enc, told } = encoder()
    const big = makeItem(
      5,
      { source: 'in.jsonl', line: 8 },
      { packet: packet({ payload: Buffer.alloc(70000) }) },
    )
    expect(enc.next(big)).toBe(false)
    expect(enc.skipped).toEqual({ 'not encodable': 1 })
    expect(told).toEqual(['in.jsonl line 8: not encodable: HEP_TOO_LONG'])
    const item = readItem(packet())
    expect(() =>
      enc.encode(item, () => {
        throw new TypeError('bug')
      }),
    ).toThrow(TypeError)
  })

  it('checks the options before any item', () => {
    expect(() => new ItemEncoder({ captureId: -1 })).toThrow(/--capture-id -1/)
  })

  it('counts into the record it is given', () => {
    const skipped = { RTP: 2 }
    const enc = new ItemEncoder({}, skipped)
    enc.next(makeItem(1, { source: 's' }, {}))
    expect(skipped).toEqual({ RTP: 2, unreadable: 1 })
  })

  it('without a scratch buffer, every packet keeps bytes of its own: later packets never write over them', () => {
    // (they are encoded one after the other into slabs of 1 MiB: 3,000 of these fill a few)
    const { enc } = encoder({ version: 3 })
    const kept: [Buffer, string][] = []
    for (let i = 0; i < 3000; i++) {
      const p = packet({ srcPort: i % 65536, payload: Buffer.alloc(1 + ((i * 37) % 1500), i & 255) })
      expect(enc.next(makeItem(i + 1, { source: 'x.pcap', frame: i + 1 }, { packet: p }))).toBe(true)
      expect(enc.bytes.equals(encode(p))).toBe(true)
      kept.push([enc.bytes, encode(p).toString('hex')])
    }
    // a largest HEP3 packet where less than that is left goes into a new slab, whole
    const big = packet({ payload: Buffer.alloc(65400, 7) })
    expect(enc.next(makeItem(3001, { source: 'x.pcap', frame: 3001 }, { packet: big }))).toBe(true)
    expect(enc.bytes.equals(encode(big))).toBe(true)
    for (const [b, hex] of kept) expect(b.toString('hex')).toBe(hex)
    // HEPv2 has no length limit: not in a slab, still encoded
    const v2 = encoder({ version: 2 })
    const long = packet({ version: 2, payload: Buffer.alloc(2 * 1024 * 1024, 1) })
    expect(v2.enc.next(makeItem(1, { source: 'x.pcap', frame: 1 }, { packet: long }))).toBe(true)
    expect(v2.enc.bytes.length).toBeGreaterThan(2 * 1024 * 1024)
  })
})
