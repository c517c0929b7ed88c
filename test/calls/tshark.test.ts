import { describe, expect, it } from 'vitest'
import { callJson } from '../../src/calls/json.js'
import { readCalls } from '../../src/calls/read.js'
import type { CallSummary } from '../../src/calls/call.js'
import { fixture, haveTool, hep } from '../helpers/cli.js'
import { tsharkCalls, type OracleCall } from './oracle.js'

const tshark = haveTool('tshark')

/**
 * Captures of every kind the reader knows: UDP, TCP (segmented, reordered, two in one), IPv6,
 * fragments, VLAN, WebSocket, SCTP, tunnels; and the crafted calls (calls-all.pcap holds the four of
 * fixtures/calls/: through a proxy, CANCELled, 486, REGISTER 401 then 200).
 */
const CAPTURES = [
  'calls/calls-all.pcap',
  'captures/sip-udp.pcap',
  'captures/sip-misc-methods.pcap',
  'captures/sip-rtp.pcap',
  'captures/sip-tcp-segmented.pcap',
  'captures/sip-udp-ipv6-frag.pcap',
  'captures/sip-udp-qinq.pcap',
  'captures/sip-udp-2ifaces.pcapng',
  'streams/tcp-reordered.pcap',
  'streams/tcp-two-in-one.pcap',
  'streams/ws-sip.pcap',
  'streams/sctp-sip.pcap',
  'streams/tunnel-vxlan-tcp.pcap',
]

async function ours(file: string): Promise<CallSummary[]> {
  const calls: CallSummary[] = []
  await readCalls({ files: [file], onCall: (c) => calls.push(c) })
  return calls
}

const view = (calls: CallSummary[]) => {
  const m = new Map<string, OracleCall>()
  for (const c of calls)
    m.set(c.callId, { messages: c.messages, method: c.method ?? null, finalStatus: c.finalStatus ?? null })
  return m
}

describe.skipIf(!tshark)('hep calls against tshark -Y sip, per Call-ID', () => {
  it('the same calls, message counts, initial methods and final statuses on every capture', async () => {
    const results = await Promise.all(
      CAPTURES.map(async (rel) => ({
        rel,
        want: await tsharkCalls(fixture(rel)),
        got: await ours(fixture(rel)),
      })),
    )
    for (const { rel, want, got } of results) {
      expect(want.size, rel).toBeGreaterThan(0)
      expect(Object.fromEntries(view(got)), rel).toEqual(Object.fromEntries(want))
      // sorted by start
      const starts = got.map((c) => c.startUs)
      expect(starts, rel).toEqual([...starts].sort((a, b) => a - b))
    }
    // the crafted cases say what they should: 200 through the proxy, 487 after CANCEL, 486, REGISTER 401 then 200
    const all = results[0].got.map((c) => [c.method, c.finalStatus, c.messages])
    expect(all).toEqual([
      ['INVITE', 200, 13],
      ['INVITE', 487, 13],
      ['INVITE', 486, 7],
      ['REGISTER', 200, 8],
    ])
  })

  it('HEP input: the calls of a HEP capture equal tshark on the plain SIP that hep convert gets out of it', async () => {
    const out = `${process.env.TMPDIR ?? '/tmp'}/hep-calls-${process.pid}.pcap`
    for (const name of ['hep-v3.pcap', 'hep-v2-sngrep.pcap', 'hep-v3-siptcp.pcap']) {
      const conv = await hep(['convert', fixture(`captures/${name}`), out, '-q'])
      expect(conv.code, name).toBe(0)
      const want = await tsharkCalls(out)
      expect(want.size, name).toBeGreaterThan(0)
      expect(Object.fromEntries(view(await ours(fixture(`captures/${name}`)))), name).toEqual(
        Object.fromEntries(want),
      )
    }
  })

  it('the CLI: --json one object per call with the keys the issue names, --failed the failed ones, in order', async () => {
    const r = await hep(['calls', fixture('calls/calls-all.pcap'), '--json'])
    expect(r.code).toBe(0)
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    const calls = lines.filter((l) => l.summary !== true)
    expect(calls.map((c) => [c.method, c.finalStatus, c.from, c.to, c.failed])).toEqual([
      ['INVITE', 200, 'sipp@127.0.0.1', 'bob@127.0.0.1', false],
      ['INVITE', 487, 'alice@127.0.0.1', 'bob@127.0.0.1', true],
      ['INVITE', 486, 'alice@127.0.0.1', 'bob@127.0.0.1', true],
      ['REGISTER', 200, 'carol@127.0.0.1', 'carol@127.0.0.1', false],
    ])
    for (const c of calls) {
      for (const k of ['callId', 'method', 'from', 'to', 'start', 'end', 'messages', 'finalStatus'])
        expect(c).toHaveProperty(k)
      expect(Date.parse(c.end as string)).toBeGreaterThanOrEqual(Date.parse(c.start as string))
    }
    expect(lines.at(-1)).toMatchObject({ summary: true, calls: 4, failed: 2, messages: 41 })
    const f = await hep(['calls', fixture('calls/calls-all.pcap'), '--json', '--failed'])
    const failed = f.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(failed.filter((l) => !l.summary).map((c) => c.finalStatus)).toEqual([487, 486])
    // the same as the library's JSON form
    expect(calls[0]).toEqual(callJson((await ours(fixture('calls/calls-all.pcap')))[0]))
  })
})
