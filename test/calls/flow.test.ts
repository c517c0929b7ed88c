import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fixture, hep } from '../helpers/cli.js'

const PROXY_CALL = '1-10678@127.0.0.1'

/** The ladder of the call through the Kamailio proxy (fixtures/calls/calls-proxy.pcap), at 80 columns. */
const PROXY_LADDER = `1-10678@127.0.0.1  INVITE sipp@127.0.0.1 → bob@127.0.0.1  200 OK  13 messages, …

            127.0.0.1:5070             127.0.0.1:5060             127.0.0.1:5080
                   │                          │                          │
 1 0.000000        │─INVITE sip:bob@127.0.0…─>│                          │
 2 0.001875        │<─100 trying -- your cal…─│                          │
 3 0.002434        │                          │─INVITE sip:bob@127.0.0…─>│
 4 0.002530        │                          │<─180 Ringing─────────────│
 5 0.003193        │<─180 Ringing─────────────│                          │
 6 0.003644        │                          │<─200 OK──────────────────│
 7 0.003874        │<─200 OK──────────────────│                          │
 8 0.004000        │─ACK sip:bob@127.0.0.1:…─>│                          │
 9 0.004275        │                          │─ACK sip:bob@127.0.0.1:…─>│
10 0.010636        │─BYE sip:bob@127.0.0.1:…─>│                          │
11 0.010816        │                          │─BYE sip:bob@127.0.0.1:…─>│
12 0.010849        │                          │<─200 OK──────────────────│
13 0.010910        │<─200 OK──────────────────│                          │
`

describe('hep calls --flow', () => {
  it('draws the call through a proxy as a ladder: three endpoints, every message an arrow (pinned)', async () => {
    const r = await hep(['calls', fixture('calls/calls-proxy.pcap'), '--flow', PROXY_CALL, '--width', '80'])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(PROXY_LADDER)
    expect(r.stderr).toContain(
      `call ${PROXY_CALL}: 13 messages, 0 RTCP reports; read 13 packets: 13 SIP messages`,
    )
  })

  it('fits any width: no line longer than --width, arrows still from the right column to the right column', async () => {
    for (const width of [40, 60, 100, 160]) {
      const r = await hep([
        'calls',
        fixture('calls/calls-cancel.pcap'),
        '--flow',
        '1-10814@127.0.0.1',
        '--width',
        String(width),
      ])
      expect(r.code).toBe(0)
      const lines = r.stdout.trimEnd().split('\n')
      for (const l of lines) expect([...l].length, `${width}: ${l}`).toBeLessThanOrEqual(width)
      const arrows = lines.filter((l) => /^\s*\d+ \d+\.\d{6} /.test(l))
      expect(arrows).toHaveLength(13)
      // lifelines: 5070 (caller), 5060 (proxy), 5080 (callee); each arrow's head at its destination
      const life = [...lines[3]].flatMap((ch, i) => (ch === '│' ? [i] : []))
      expect(life).toHaveLength(3)
      const pairs = [
        [0, 1],
        [1, 0],
        [1, 2],
        [2, 1],
        [1, 0],
        [0, 1],
        [1, 2],
        [2, 1],
        [1, 0],
        [2, 1],
        [1, 2],
        [1, 0],
        [0, 1],
      ]
      arrows.forEach((l, k) => {
        const chars = [...l]
        const [from, to] = pairs[k]
        if (to > from) expect(chars[life[to] - 1], `${width}: ${l}`).toBe('>')
        else expect(chars[life[to] + 1], `${width}: ${l}`).toBe('<')
        expect(chars[life[from]], `${width}: ${l}`).toBe('│')
      })
    }
  })

  it('--full prints every message after the ladder; RTCP reports naming the call are listed under it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hep-flow-'))
    const jsonl = join(dir, 'call.jsonl')
    const conv = await hep([
      'convert',
      fixture('calls/calls-proxy.pcap'),
      jsonl,
      '--capture-id',
      '2001',
      '--node-name',
      'proxy-1',
      '--correlation-id',
      'auto',
      '-q',
    ])
    expect(conv.code).toBe(0)
    const lines = readFileSync(jsonl, 'utf8').trimEnd().split('\n')
    const first = JSON.parse(lines[0]) as { timeSeconds: number; timeUseconds: number }
    // an RTCP report as capture agents send it (HEP type 5, heplify's JSON, the Call-ID as correlation id)
    const report = {
      version: 3,
      protocolFamily: 2,
      protocol: 17,
      srcIp: '127.0.0.1',
      srcPort: 6001,
      dstIp: '127.0.0.1',
      dstPort: 6003,
      timeSeconds: first.timeSeconds + 1,
      timeUseconds: first.timeUseconds,
      payloadType: 5,
      captureId: 2001,
      correlationId: PROXY_CALL,
      payload: JSON.stringify({
        type: 200,
        ssrc: 0x12345678,
        report_count: 1,
        report_blocks: [{ source_ssrc: 0x87654321, fraction_lost: 64, packets_lost: 7, ia_jitter: 17 }],
      }),
    }
    const other = { ...report, correlationId: 'another-call' }
    writeFileSync(jsonl, [...lines, JSON.stringify(report), JSON.stringify(other)].join('\n') + '\n')
    const r = await hep(['calls', jsonl, '--flow', PROXY_CALL, '--full', '--width', '140'])
    expect(r.code).toBe(0)
    const out = r.stdout
    expect(out).toContain('RTCP reports (1)\n')
    // 15 packets: the 13 messages, the call's report, the other call's report (skipped)
    expect(r.stderr).toContain(
      `call ${PROXY_CALL}: 13 messages, 1 RTCP report; read 15 packets: 13 SIP messages, 1 RTCP report of the call, skipped: 1 RTCP\n`,
    )
    expect(out).toContain(
      '1.000000 127.0.0.1:6001 → 127.0.0.1:6003  SR ssrc 0x12345678; about 0x87654321: lost 25.0 % (7 in all), jitter 17',
    )
    // each message whole, numbered as in the ladder, with its headers
    const full = out.slice(out.indexOf('RTCP reports'))
    expect(full.match(/^#\d+ /gm)).toHaveLength(13)
    expect(full).toContain('#13 0.010910 ')
    expect(full).toContain('\nCall-ID: 1-10678@127.0.0.1\n')
    expect(full).toContain('\nv=0\n') // the SDP body too
    // the table sees the HEP capture id and node
    const t = await hep(['calls', jsonl, '--json'])
    const call = JSON.parse(t.stdout.split('\n')[0]) as Record<string, unknown>
    expect(call).toMatchObject({ captureIds: [2001], nodes: ['proxy-1'], messages: 13 })
    expect(JSON.parse(t.stdout.trimEnd().split('\n').at(-1) as string)).toMatchObject({
      skipped: { RTCP: 2 },
    })
  })

  it('--flow --json: the call as the JSON form of its packets, then a summary with the call', async () => {
    const r = await hep(['calls', fixture('calls/calls-busy.pcap'), '--flow', '1-10901@127.0.0.1', '--json'])
    expect(r.code).toBe(0)
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toHaveLength(8)
    expect(lines.slice(0, 7).map((p) => (p.payload as string).split('\r\n')[0])).toEqual([
      'INVITE sip:bob@127.0.0.1:5060 SIP/2.0',
      'SIP/2.0 100 trying -- your call is important to us',
      'INVITE sip:bob@127.0.0.1:5060 SIP/2.0',
      'SIP/2.0 486 Busy Here',
      'ACK sip:bob@127.0.0.1:5060 SIP/2.0',
      'SIP/2.0 486 Busy Here',
      'ACK sip:bob@127.0.0.1:5060 SIP/2.0',
    ])
    expect(lines[7]).toMatchObject({ summary: true, call: { finalStatus: 486, failed: true, messages: 7 } })
  })

  it('a Call-ID that is not there: said, exit 1; --full without --flow: usage error', async () => {
    const r = await hep(['calls', fixture('calls/calls-busy.pcap'), '--flow', '1-10901'])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('no call with Call-ID 1-10901 in')
    const u = await hep(['calls', fixture('calls/calls-busy.pcap'), '--full'])
    expect(u.code).toBe(2)
    expect(u.stderr).toContain('--full goes with --flow CALL-ID')
  })

  it('a capture with RTCP: the reports the capture reader ties to the call (by its SDP) are listed under the ladder', async () => {
    const r = await hep([
      'calls',
      fixture('captures/sip-rtcp.pcap'),
      '--flow',
      'call-1@10.0.0.1',
      '--width',
      '120',
    ])
    expect(r.code).toBe(0)
    const out = r.stdout
    expect(out).toContain('RTCP reports (6)\n')
    expect(out).toContain(
      '0.213800 10.0.0.1:4001 → 10.0.0.2:5003  SR ssrc 0x11111111; about 0x22222222: lost 3.9 % (1 in all), jitter 417\n',
    )
    expect(out.match(/^\d\.\d{6} 10\.0\.0\.\d:\d+ → /gm)).toHaveLength(6)
    expect(r.stderr).toContain('3 messages, 6 RTCP reports')
  })
})
