// The SIP messages our capture pipeline finds equal, in number and content, those tshark found
// (fixtures/captures/*.sip.tsv, made by tshark 4.0.17 after IP defragmentation).
import { describe, expect, it } from 'vitest'
import { CaptureExtractor, type CapturedMessage } from '../../src/capture/extract.js'
import { CaptureError } from '../../src/errors.js'
import { fixture } from '../helpers/cli.js'
import { field, readTsv } from '../helpers/tsv.js'

interface Row {
  frame: number
  time: string
  vlan: string
  src: string
  dst: string
  srcPort: number
  dstPort: number
  udpLength: number
  method: string
  status: string
  callId: string
  cseq: string
}

function tsv(name: string): Row[] {
  return readTsv(fixture(`captures/${name}.sip.tsv`)).map((r) => {
    const g = (c: string) => field(r, c)
    return {
      frame: Number(g('frame.number')),
      time: g('frame.time_epoch'),
      vlan: g('vlan.id'),
      src: g('ip.src') || g('ipv6.src'),
      dst: g('ip.dst') || g('ipv6.dst'),
      srcPort: Number(g('udp.srcport')),
      dstPort: Number(g('udp.dstport')),
      udpLength: Number(g('udp.length')),
      method: g('sip.Method'),
      status: g('sip.Status-Code'),
      callId: g('sip.Call-ID'),
      cseq: g('sip.CSeq'),
    }
  })
}

async function extract(name: string, want: 'sip' | 'hep' | 'both' = 'sip') {
  const x = new CaptureExtractor(fixture(`captures/${name}`), { want })
  const msgs: CapturedMessage[] = []
  let error: unknown
  try {
    for await (const b of x.batches()) msgs.push(...b)
  } catch (e) {
    error = e
  }
  return { msgs, stats: x.stats, error }
}

const UDP = [
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

describe('SIP extraction from UDP captures matches tshark', () => {
  it.each(UDP)('%s', async (name) => {
    const want = tsv(name)
    const { msgs, error } = await extract(name)
    expect(error).toBeUndefined()
    expect(msgs.map((m) => m.frame)).toEqual(want.map((r) => r.frame))
    for (let i = 0; i < want.length; i++) {
      const m = msgs[i]
      const r = want[i]
      const [sec, frac] = r.time.split('.')
      expect(m.seconds).toBe(Number(sec))
      expect(m.nanos).toBe(Number(frac.padEnd(9, '0')))
      expect([m.src, m.dst, m.srcPort, m.dstPort]).toEqual([r.src, r.dst, r.srcPort, r.dstPort])
      expect(m.payload.length).toBe(r.udpLength - 8)
      expect(m.sip?.callId).toBe(r.callId)
      expect(`${m.sip?.cseq?.seq} ${m.sip?.cseq?.method}`).toBe(r.cseq)
      if (r.method) expect(m.sip?.method).toBe(r.method)
      else expect(String(m.sip?.statusCode)).toBe(r.status)
      if (r.vlan) expect(String(m.vlan)).toBe(r.vlan.split(',').pop())
    }
  })

  it('counts what is not SIP by reason (RTP in sip-rtp.pcap)', async () => {
    const { stats } = await extract('sip-rtp.pcap')
    expect(stats.sip).toBe(6)
    expect(stats.skipped).toEqual({ RTP: 236 })
  })

  it('reassembles the fragmented INVITE (5 IPv4 fragments, 6562-byte UDP)', async () => {
    const { msgs, stats } = await extract('sip-udp-ipv4-frag.pcap')
    const invite = msgs.find((m) => m.sip?.method === 'INVITE')!
    expect(invite.payload.length).toBe(6554)
    expect(stats.fragmentsReassembled).toBe(1)
  })
})

describe('edge captures give clear results', () => {
  it('a header-only file: no messages, no error', async () => {
    const { msgs, error, stats } = await extract('edge-header-only.pcap')
    expect(msgs).toHaveLength(0)
    expect(error).toBeUndefined()
    expect(stats.records).toBe(0)
  })

  it('a file cut off mid-record: the 17 records before it, then an error naming record 18 and its offset', async () => {
    const { msgs, error, stats } = await extract('edge-sip-udp-truncated-file.pcap')
    expect(stats.records).toBe(17)
    expect(msgs).toHaveLength(17)
    expect(error).toBeInstanceOf(CaptureError)
    expect((error as CaptureError).record).toBe(18)
    expect((error as CaptureError).message).toMatch(/record 18 at byte \d+/)
  })

  it('records cut by snaplen are counted as truncated, not errors', async () => {
    const { msgs, error, stats } = await extract('edge-sip-udp-snaplen128.pcap')
    expect(error).toBeUndefined()
    expect(msgs).toHaveLength(0)
    expect(stats.skipped).toEqual({ truncated: 18 })
  })
})

describe('HEP found by content in HEP captures', () => {
  it.each([
    ['hep-v1.pcap', 39],
    ['hep-v2-ipv6.pcap', 39],
    ['hep-v2-sngrep.pcap', 18],
    ['hep-v3-over-ipv6.pcap', 39],
    ['hep-v3-extras.pcap', 51],
  ])('%s holds %i HEP packets and nothing else', async (name, n) => {
    const { msgs, stats } = await extract(name, 'hep')
    expect(msgs).toHaveLength(n)
    expect(stats.skipped).toEqual({})
  })

  it('hep-v3-with-sip.pcap: 13 HEP packets, and the 13 SIP datagrams they mirror byte for byte', async () => {
    const { msgs } = await extract('hep-v3-with-sip.pcap', 'both')
    const hep = msgs.filter((m) => m.kind === 'hep')
    const sip = msgs.filter((m) => m.kind === 'sip')
    expect(hep).toHaveLength(13)
    expect(sip).toHaveLength(13)
  })
})
