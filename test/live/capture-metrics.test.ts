/**
 * `hep capture --metrics`, with a stand-in engine as in capture-cli.test.ts: a `tcpdump` script on
 * PATH that writes a real capture (fixtures/captures/sip-udp.pcap, 18 SIP messages) and waits to be
 * stopped. The scrape, taken once the 18 messages arrived, must equal the summary.
 */
import { spawn } from 'node:child_process'
import dgram from 'node:dgram'
import { describe, expect, it } from 'vitest'
import { BIN, ROOT, fixture, watch } from '../helpers/cli.js'
import { fakeTcpdump } from './fake-engine.js'

const { bin } = fakeTcpdump(
  'hep-capture-metrics-',
  `#!/bin/sh
echo "tcpdump: listening on $2, link-type EN10MB (Ethernet), snapshot length 262144 bytes" >&2
cat "$FAKE_PCAP"
trap 'echo "18 packets captured" >&2; echo "3 packets dropped by kernel" >&2; exit 0' TERM INT
while :; do sleep 0.05; done
`,
)

const sum = (text: string, name: string, label = '') =>
  text
    .split('\n')
    .filter((l) => l.startsWith(name + (label ? `{` : '')) && l.includes(label))
    .filter((l) => /^[a-z_]+(\{[^}]*\})? \S+$/.test(l) && l.split(/[{ ]/)[0] === name)
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0)

describe('hep capture --metrics', { timeout: 30_000 }, () => {
  it('serves the messages handed out by capture id and type, what was captured, and the destination; equal to the summary', async () => {
    const sock = dgram.createSocket('udp4')
    let got = 0
    sock.on('message', () => got++)
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r))
    const child = spawn(
      process.execPath,
      [
        BIN,
        'capture',
        '-i',
        'eth0',
        '--to',
        `127.0.0.1:${sock.address().port}`,
        '--capture-id',
        '55',
        '--metrics',
        '127.0.0.1:0',
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          PATH: `${bin}:/usr/bin:/bin`,
          FAKE_PCAP: fixture('captures/sip-udp.pcap'),
          NO_COLOR: '1',
        },
      },
    )
    const c = watch(child)
    const mp = Number((await c.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/))[1])
    for (let i = 0; i < 200 && got < 18; i++) await new Promise((r) => setTimeout(r, 25))
    await new Promise((r) => setTimeout(r, 200))
    const text = await (await fetch(`http://127.0.0.1:${mp}/metrics`)).text()
    child.kill('SIGINT')
    expect(await c.exited).toBe(0)
    sock.close()
    expect(got).toBe(18)
    expect(sum(text, 'hep_packets_out_total', 'capture_id="55",payload_type="1"')).toBe(18)
    expect(sum(text, 'hep_capture_sip_total')).toBe(18)
    expect(sum(text, 'hep_capture_frames_total')).toBeGreaterThanOrEqual(18)
    expect(sum(text, 'hep_send_sent_total')).toBe(18)
    expect(sum(text, 'hep_send_up')).toBe(1)
    expect(c.stderr()).toMatch(/sent\s*│\s*18\s/)
  })
})
