import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { fixture, hep } from '../helpers/cli.js'

const calls = (stdout: string) =>
  stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.summary !== true)

describe('hep calls: filters, inputs, errors', () => {
  it('a filter picks calls, not messages: --method REGISTER gives the REGISTER call with all 8 of its messages', async () => {
    const r = await hep(['calls', fixture('calls/calls-all.pcap'), '--json', '--method', 'register'])
    expect(r.code).toBe(0)
    expect(calls(r.stdout).map((c) => [c.method, c.messages, c.finalStatus])).toEqual([['REGISTER', 8, 200]])
    // messages to or from the callee (5080) other than INVITE and ACK: the BYE, the CANCEL, the REGISTERs, not the 486 call
    const p = await hep([
      'calls',
      fixture('calls/calls-all.pcap'),
      '--json',
      '--port',
      '5080',
      '--not-method',
      'INVITE',
      '--not-method',
      'ACK',
    ])
    expect(p.code).toBe(0)
    expect(calls(p.stdout).map((c) => c.finalStatus)).toEqual([200, 487, 200])
    const g = await hep([
      'calls',
      fixture('calls/calls-all.pcap'),
      '--json',
      '--grep',
      'Busy Here',
      '--failed',
    ])
    expect(calls(g.stdout).map((c) => c.finalStatus)).toEqual([486])
  })

  it('stdin and several inputs (merged by time), HEP hex and a capture', async () => {
    const r = await hep(['calls', '--json', '-', fixture('calls/calls-busy.pcap')], {
      input: readFileSync(fixture('hep/hep-v3.hex')),
    })
    expect(r.code).toBe(0)
    const got = calls(r.stdout)
    expect(got.map((c) => c.callId)).toEqual([
      '1-20396@127.0.0.1',
      '2-20396@127.0.0.1',
      '3-20396@127.0.0.1',
      '1-10901@127.0.0.1',
    ])
    expect(got.map((c) => c.captureIds)).toEqual([[2001], [2001], [2001], []])
  })

  it('bad input: one line naming it, exit 1; a bad filter value: exit 2 before reading', async () => {
    const r = await hep(['calls', 'README.md'])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      'hep calls: README.md: neither HEP nor a capture (it starts with text: "# hep"); hep reads HEP as raw, hex or JSON lines, and pcap/pcapng captures\n',
    )
    const t = await hep(['calls', fixture('captures/edge-sip-udp-truncated-file.pcap'), '--json'])
    expect(t.code).toBe(1)
    expect(t.stderr).toContain('record 18 at byte 7624')
    // what could be read is there: 3 calls, the last one cut short
    expect(calls(t.stdout).map((c) => c.messages)).toEqual([6, 6, 5])
    const u = await hep(['calls', fixture('calls/calls-all.pcap'), '--ip', '10.0.0.300'])
    expect(u.code).toBe(2)
    expect(u.stdout).toBe('')
    expect(u.stderr).toContain('--ip 10.0.0.300: expected an IP address or CIDR')
  })

  it('a missing input is named before anything is read, exit 2, also beside one that exists', async () => {
    const r = await hep(['calls', fixture('captures/sip-udp.pcap'), '/no/such/dir/x.pcap', '--json'])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe('hep calls: cannot read /no/such/dir/x.pcap: no such file\n')
  })

  it('a human table that fits --width, every value shortened with …', async () => {
    const r = await hep(['calls', fixture('calls/calls-all.pcap'), '--width', '80'])
    expect(r.code).toBe(0)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(6)
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(80)
    expect(lines[0]).toBe('START        DURATION METHOD   FROM   TO     STATUS         MSGS CALL-ID   SEE…')
    expect(lines[3]).toBe('23:31:59.228   0.206s INVITE   alice… bob@1… 487 Request T…   13 1-10814@… -')
    expect(r.stderr).toBe('4 calls listed (2 failed); read 41 packets: 41 SIP messages\n')
  })

  it('--flow draws the call it names whatever the filters (and says they are not applied)', async () => {
    const r = await hep([
      'calls',
      fixture('calls/calls-all.pcap'),
      '--flow',
      '1-10901@127.0.0.1',
      '--method',
      'REGISTER',
    ])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('486 Busy Here')
    expect(r.stderr).toContain('warning: --flow draws the call it names; the filters are not applied')
  })
})
