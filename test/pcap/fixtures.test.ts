/**
 * The decoder + SIP scan against real captures: the SIP messages found must be exactly the ones tshark
 * found (fixtures/captures/*.sip.tsv, after IP defragmentation).
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PacketDecoder } from '../../src/pcap/decoder.js'
import { scanSip } from '../../src/sip/scan.js'
import { readCapture } from '../helpers/mini-pcap.js'
import { field, readTsv } from '../helpers/tsv.js'

const DIR = join(import.meta.dirname, '../../fixtures/captures')

const UDP_CAPTURES = [
  'sip-udp.pcap',
  'sip-udp.pcapng',
  'sip-udp-usec.pcapng',
  'sip-udp-nsec.pcap',
  'sip-udp-editcap-nsec.pcap',
  'sip-udp-bigendian.pcap',
  'sip-udp-linktype-raw.pcap',
  'sip-udp-linktype-null.pcap',
  'sip-udp-vlan100.pcap',
  'sip-udp-qinq.pcap',
  'sip-udp-any-sll.pcap',
  'sip-udp-any-sll2.pcapng',
  'sip-udp-2ifaces.pcapng',
  'sip-udp-ipv6.pcap',
  'sip-udp-ipv4-frag.pcap',
  'sip-udp-ipv6-frag.pcap',
  'sip-rtp.pcap',
  'sip-misc-methods.pcap',
]

interface Row {
  frame: number
  interfaceId: number | undefined
  vlan: number | undefined
  src: string
  dst: string
  srcPort: number
  dstPort: number
  payloadLength: number
  fragments: number | undefined
  method: string | undefined
  status: number | undefined
  callId: string
  cseq: string
}

function optNumber(s: string): number | undefined {
  return s === '' ? undefined : Number(s)
}

// every column read below: a file without one of them is a broken oracle
const COLUMNS = [
  'frame.number',
  'frame.interface_id',
  'vlan.id',
  'ip.src',
  'ipv6.src',
  'ip.dst',
  'ipv6.dst',
  'udp.srcport',
  'tcp.srcport',
  'udp.dstport',
  'tcp.dstport',
  'udp.length',
  'ip.fragment.count',
  'ipv6.fragment.count',
  'sip.Method',
  'sip.Status-Code',
  'sip.Call-ID',
  'sip.CSeq',
]

function loadTsv(name: string): Row[] {
  return readTsv(join(DIR, name + '.sip.tsv'), COLUMNS).map((r) => {
    const col = (n: string) => field(r, n)
    const vlan = col('vlan.id')
    return {
      frame: Number(col('frame.number')),
      interfaceId: optNumber(col('frame.interface_id')),
      // tshark lists every 802.1Q tag's id; the decoder reports the innermost (last) one
      vlan: vlan === '' ? undefined : Number(vlan.split(',').at(-1)),
      src: col('ip.src') || col('ipv6.src'),
      dst: col('ip.dst') || col('ipv6.dst'),
      srcPort: Number(col('udp.srcport') || col('tcp.srcport')),
      dstPort: Number(col('udp.dstport') || col('tcp.dstport')),
      payloadLength: Number(col('udp.length')) - 8,
      fragments: optNumber(col('ip.fragment.count') || col('ipv6.fragment.count')),
      method: col('sip.Method') || undefined,
      status: optNumber(col('sip.Status-Code')),
      callId: col('sip.Call-ID'),
      cseq: col('sip.CSeq'),
    }
  })
}

function decodeCapture(name: string) {
  const records = readCapture(join(DIR, name))
  const decoder = new PacketDecoder()
  const found: Row[] = []
  const kinds: Record<string, number> = {}
  const notSip: Buffer[] = []
  for (const rec of records) {
    const r = decoder.decodeRecord(rec)
    kinds[r.kind] = (kinds[r.kind] ?? 0) + 1
    if (r.kind !== 'udp') continue
    const sip = scanSip(r.payload)
    if (sip === undefined) {
      notSip.push(r.payload)
      continue
    }
    found.push({
      frame: rec.index,
      interfaceId: rec.interfaceId,
      vlan: r.vlan,
      src: r.src,
      dst: r.dst,
      srcPort: r.srcPort,
      dstPort: r.dstPort,
      payloadLength: r.payload.length,
      fragments: r.fragments,
      method: sip.method,
      status: sip.statusCode,
      callId: sip.callId ?? '',
      cseq: sip.cseq ? `${sip.cseq.seq} ${sip.cseq.method}` : '',
    })
  }
  return { records, decoder, found, kinds, notSip }
}

describe('SIP over UDP in real captures matches tshark', () => {
  for (const name of UDP_CAPTURES) {
    it(name, () => {
      const expected = loadTsv(name)
      const { found, decoder, kinds, records } = decodeCapture(name)
      const isPcapng = name.endsWith('.pcapng')
      // frame.interface_id is only present for pcapng
      const exp = expected.map((r) => ({ ...r, interfaceId: isPcapng ? r.interfaceId : 0 }))
      expect(found).toEqual(exp)
      expect(found.length).toBeGreaterThan(0)
      // nothing skipped, nothing left over
      expect(kinds.skip).toBeUndefined()
      expect(kinds.other).toBeUndefined()
      expect(decoder.stats.fragmentsHeld).toBe(0)
      expect(decoder.stats.fragmentBytesHeld).toBe(0)
      const fragmented = expected.filter((r) => r.fragments !== undefined)
      expect(decoder.stats.reassembled).toBe(fragmented.length)
      const pending = fragmented.reduce((n, r) => n + (r.fragments as number) - 1, 0)
      expect(kinds.pending ?? 0).toBe(pending)
      expect(kinds.udp).toBe(records.length - pending)
      expect(decoder.stats.unknownLinkTypes.size).toBe(0)
    })
  }

  it('sip-rtp.pcap: the RTP packets are not SIP', () => {
    const { notSip } = decodeCapture('sip-rtp.pcap')
    expect(notSip.length).toBe(236)
    for (const p of notSip) expect(p[0] >> 6).toBe(2) // RTP version 2
  })

  it('sip-udp-qinq.pcap: the outer 802.1ad tag is 200, the reported (inner) VLAN is 100', () => {
    const { records, found } = decodeCapture('sip-udp-qinq.pcap')
    const d = records[0].data
    expect(d.readUInt16BE(12)).toBe(0x88a8)
    expect(d.readUInt16BE(14) & 0xfff).toBe(200)
    expect(found.every((r) => r.vlan === 100)).toBe(true)
  })

  it('header lengths and Content-Length agree with the UDP payload', () => {
    for (const name of UDP_CAPTURES) {
      const records = readCapture(join(DIR, name))
      const decoder = new PacketDecoder()
      for (const rec of records) {
        const r = decoder.decode(rec.linkType, rec.data, rec.seconds, rec.nanos)
        if (r.kind !== 'udp') continue
        const sip = scanSip(r.payload)
        if (!sip) continue
        expect(sip.headerLength).toBeGreaterThan(0)
        expect(sip.contentLength).toBe(r.payload.length - sip.headerLength)
      }
    }
  })
})

describe('TCP (no stream reassembly): one SIP message per segment', () => {
  for (const name of ['sip-tcp.pcap', 'sip-tcp-ipv6.pcap']) {
    it(name, () => {
      const expected = loadTsv(name).map((r) => ({ ...r, payloadLength: 0, interfaceId: 0 }))
      const records = readCapture(join(DIR, name))
      const decoder = new PacketDecoder()
      const found: Row[] = []
      for (const rec of records) {
        const r = decoder.decodeRecord(rec)
        expect(r.kind).toBe('tcp')
        if (r.kind !== 'tcp') continue
        expect(r.tcp).toBeDefined()
        const sip = scanSip(r.payload)
        if (!sip) continue
        expect(sip.headerLength + (sip.contentLength ?? 0)).toBe(r.payload.length)
        found.push({
          frame: rec.index,
          interfaceId: 0,
          vlan: r.vlan,
          src: r.src,
          dst: r.dst,
          srcPort: r.srcPort,
          dstPort: r.dstPort,
          payloadLength: 0,
          fragments: r.fragments,
          method: sip.method,
          status: sip.statusCode,
          callId: sip.callId ?? '',
          cseq: sip.cseq ? `${sip.cseq.seq} ${sip.cseq.method}` : '',
        })
      }
      expect(found).toEqual(expected)
    })
  }
})

describe('edge captures', () => {
  it('snaplen 128: every frame is skipped as truncated, or decoded with truncated: true on request', () => {
    const records = readCapture(join(DIR, 'edge-sip-udp-snaplen128.pcap'))
    expect(records.length).toBe(18)
    const strict = new PacketDecoder()
    const lenient = new PacketDecoder({ acceptTruncated: true })
    for (const rec of records) {
      expect(rec.data.length).toBeLessThan(rec.originalLength)
      const r = strict.decode(rec.linkType, rec.data, rec.seconds, rec.nanos)
      expect(r).toMatchObject({ kind: 'skip', reason: 'truncated' })
      const l = lenient.decode(rec.linkType, rec.data, rec.seconds, rec.nanos)
      expect(l).toMatchObject({ kind: 'udp', truncated: true, src: '127.0.0.1' })
      if (l.kind !== 'udp') throw new Error('unreachable')
      expect(l.payload.length).toBe(128 - 14 - 20 - 8)
      const sip = scanSip(l.payload)
      expect(sip).toBeDefined()
      expect(sip?.headerLength).toBe(-1)
    }
  })
})
