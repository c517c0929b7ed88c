/**
 * LiveCapture's counts, with a stand-in `tcpdump` (a script on the PATH we give) that writes a real
 * capture (fixtures/captures/sip-udp.pcap, 18 SIP messages): engine restarts count the engines that
 * captured again, not the attempts; the filters' count and SIP add up to the messages found; sent +
 * failed + dropped = the messages handed to the sender.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import dgram from 'node:dgram'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PacketFilter } from '../../src/filter/filter.js'
import { LiveCapture, type LiveEvent } from '../../src/live/capture.js'
import { createSender } from '../../src/net/sender.js'
import { fixture } from '../helpers/cli.js'
import { fakeTcpdump } from './fake-engine.js'

// run 1 captures and then the interface disappears; runs 2 and 3 fail at once (the device is not
// back yet); run 4 captures and waits to be stopped
const { dir, bin } = fakeTcpdump(
  'hep-capture-counts-',
  `#!/bin/sh
n=$(($(cat "$FAKE_STATE" 2>/dev/null || echo 0) + 1)); echo $n > "$FAKE_STATE"
if [ $n -eq 2 ] || [ $n -eq 3 ]; then echo "tcpdump: $2: No such device exists" >&2; exit 1; fi
echo "tcpdump: listening on $2, link-type EN10MB (Ethernet), snapshot length 262144 bytes" >&2
cat "$FAKE_PCAP"
if [ $n -eq 1 ]; then echo "tcpdump: pcap_loop: The interface disappeared" >&2; exit 1; fi
trap 'echo "18 packets captured" >&2; echo "0 packets dropped by kernel" >&2; exit 0' TERM INT
while :; do sleep 0.05; done
`,
)

async function receiver() {
  const sock = dgram.createSocket('udp4')
  const got: Buffer[] = []
  sock.on('message', (m) => got.push(m))
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r))
  return { port: sock.address().port, got, close: () => sock.close() }
}

async function until(cond: () => boolean, ms = 10_000) {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('LiveCapture counts', { timeout: 30_000 }, () => {
  it('engine restarts: the engines that captured again (1), not the attempts (3); counts add up over the runs', async () => {
    const state = join(dir, 'state-restarts')
    process.env.FAKE_STATE = state
    process.env.FAKE_PCAP = fixture('captures/sip-udp.pcap')
    const rx = await receiver()
    const events: LiveEvent[] = []
    const cap = new LiveCapture(
      {
        interfaces: ['eth0'],
        filter: 'udp',
        engine: 'tcpdump',
        pathEnv: bin,
        restartDelayMs: 20,
        onEvent: (e) => events.push(e),
      },
      createSender(`127.0.0.1:${rx.port}`),
    )
    const done = cap.run()
    try {
      await until(() => rx.got.length >= 36)
    } finally {
      cap.stop() // the stand-in engine too, whatever happened
    }
    const s = await done
    rx.close()
    expect(readFileSync(state, 'utf8').trim()).toBe('4') // four engine runs
    expect(events.filter((e) => e.kind === 'started' && e.again)).toHaveLength(1)
    expect(events.filter((e) => e.kind === 'stopped')).toHaveLength(1)
    expect(s.restarts).toBe(1)
    expect(s.captured).toBe(36)
    expect(s.sip).toBe(36)
    expect(s.packets).toBe(36)
    expect(s.sent + s.failed + s.dropped).toBe(s.packets)
    expect(rx.got).toHaveLength(s.sent)
  })

  it('a filter: SIP counts what passed, filtered what it left out; SIP + filtered = every message found', async () => {
    process.env.FAKE_STATE = join(dir, 'state-filter')
    writeFileSync(process.env.FAKE_STATE, '3') // the next run captures and waits
    const rx = await receiver()
    const cap = new LiveCapture(
      {
        interfaces: ['eth0'],
        filter: 'udp',
        engine: 'tcpdump',
        pathEnv: bin,
        packetFilter: new PacketFilter({ methods: ['INVITE'] }),
      },
      createSender(`127.0.0.1:${rx.port}`),
    )
    const done = cap.run()
    try {
      await until(() => cap.stats().sip + cap.stats().filtered >= 18)
    } finally {
      cap.stop()
    }
    const s = await done
    rx.close()
    expect(s.sip).toBeGreaterThan(0)
    expect(s.sip).toBeLessThan(18)
    expect(s.sip + s.rtcp + s.filtered).toBe(18)
    expect(s.packets).toBe(s.sip)
    expect(s.sent + s.failed + s.dropped).toBe(s.packets)
    expect(s.skipped['filtered out']).toBeUndefined()
  })
})
