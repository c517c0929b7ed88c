/**
 * `hep capture` while its destination does not answer yet: the capture is read on from the start
 * (never held back until the sender has connected), what it captured waits in the sender's bounded
 * queue and the rest is dropped and counted, and Ctrl-C is acted on at once. The destination is a
 * TLS address whose server accepts the TCP connection and then says nothing, so the TLS handshake
 * hangs for the sender's connect timeout (5 s). The engine is a stand-in `tcpdump` on PATH that
 * writes fixtures/captures/sip-udp.pcap (18 SIP messages) and waits to be stopped.
 */
import { existsSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fixture, start, summaryOf } from '../helpers/cli.js'
import { fakeTcpdump } from './fake-engine.js'

const { dir, bin } = fakeTcpdump(
  'hep-capture-connect-',
  `#!/bin/sh
# an engine slow to open its interface (says nothing for a while); it tells the test it runs
if [ -n "$FAKE_SLOW" ]; then
  trap 'kill $! 2>/dev/null; exit 0' TERM INT
  sleep 30 & : > "$FAKE_SLOW"; wait
fi
echo "tcpdump: listening on $2, link-type EN10MB (Ethernet), snapshot length 262144 bytes" >&2
cat "$FAKE_PCAP"
trap 'exit 0' TERM INT
while :; do sleep 0.05; done
`,
)
const ENV = { PATH: `${bin}:/usr/bin:/bin`, FAKE_PCAP: fixture('captures/sip-udp.pcap'), HOME: dir }

/** A TCP server that accepts and never answers (a TLS handshake to it hangs). */
async function silentServer() {
  const sockets: net.Socket[] = []
  const server = net.createServer((s) => {
    sockets.push(s)
    s.on('error', () => {})
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    accepted: () => sockets.length,
    close: () => {
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

/** `hep capture` into the silent TLS server on `port`, 5 packets of queue, and `more` flags. */
const toSilent = (port: number, more: string[]): string[] => [
  'capture',
  '-i',
  'eth0',
  '--to',
  `tls://127.0.0.1:${port}`,
  '--insecure',
  '--queue-limit',
  '5',
  ...more,
]

describe('hep capture before its destination has answered', { timeout: 30_000 }, () => {
  it('reads the capture on at once, queues up to --queue-limit and counts the rest dropped; Ctrl-C ends it at once', async () => {
    const srv = await silentServer()
    const cap = start(toSilent(srv.port, ['--stats-interval', '1', '--json']), { env: ENV })
    try {
      // within the connect timeout (5 s): every frame read, 5 queued, 13 dropped, none sent
      await cap.waitFor(
        /capture: \d+ s, 18 frames, 18 SIP, 0 RTCP, 0 sent, 0 failed, 13 dropped/,
        'stderr',
        4000,
      )
      expect(srv.accepted()).toBeGreaterThan(0) // the handshake is still pending
      const t0 = Date.now()
      cap.child.kill('SIGINT')
      const code = await cap.exited
      expect(Date.now() - t0).toBeLessThan(2500)
      expect(code, cap.stderr()).toBe(3) // nothing sent: the network exit code
      const s = summaryOf(cap.stdout())
      // the 18 messages: 13 dropped at the full queue, the 5 queued failed at the stop
      expect(s).toMatchObject({ captured: 18, sip: 18, packets: 18, sent: 0, dropped: 13, failed: 5 })
    } finally {
      cap.child.kill('SIGKILL')
      srv.close()
    }
  })

  it('--duration is a deadline: with the destination still silent it ends on time, what was queued counted as failed', async () => {
    const srv = await silentServer()
    const cap = start(toSilent(srv.port, ['--duration', '2', '--json']), { env: ENV })
    try {
      await cap.waitFor(/capturing on/, 'stderr', 10_000)
      const t0 = Date.now()
      const code = await cap.exited
      // 2 s of capture and the short stop flush; it waited for the 5 s close deadline before
      expect(Date.now() - t0, cap.stderr()).toBeLessThan(3800)
      expect(code, cap.stderr()).toBe(3)
      expect(summaryOf(cap.stdout())).toMatchObject({ captured: 18, sent: 0, dropped: 13, failed: 5 })
    } finally {
      cap.child.kill('SIGKILL')
      srv.close()
    }
  })

  it('Ctrl-C while the engine has not yet started to capture ends it at once, with the summary', async () => {
    const srv = await silentServer()
    const cap = start(['capture', '-i', 'eth0', '--to', `127.0.0.1:${srv.port}`, '--json'], {
      env: { ...ENV, FAKE_SLOW: join(dir, 'engine-runs') },
    })
    try {
      // the engine started (but silent): the stop must reach it
      const end = Date.now() + 15_000
      while (!existsSync(join(dir, 'engine-runs')) && Date.now() < end)
        await new Promise((r) => setTimeout(r, 20))
      expect(existsSync(join(dir, 'engine-runs'))).toBe(true)
      expect(cap.stderr()).not.toMatch(/capturing on/)
      const t0 = Date.now()
      cap.child.kill('SIGINT')
      const code = await cap.exited
      expect(Date.now() - t0).toBeLessThan(2500)
      expect(code, cap.stderr()).toBe(0)
      expect(cap.stderr()).not.toMatch(/could not stop in time/)
      expect(summaryOf(cap.stdout())).toMatchObject({ captured: 0, sent: 0 })
    } finally {
      cap.child.kill('SIGKILL')
      srv.close()
    }
  })

  it('Ctrl-C while the handshake hangs and nothing has been captured yet ends it at once', async () => {
    const srv = await silentServer()
    const cap = start(
      ['capture', '-i', 'eth0', '--to', `tls://127.0.0.1:${srv.port}`, '--insecure', '--json'],
      {
        env: { ...ENV, FAKE_PCAP: fixture('captures/edge-header-only.pcap') },
      },
    )
    try {
      await cap.waitFor(/capturing on eth0/, 'stderr', 10_000)
      const end = Date.now() + 4000
      while (srv.accepted() === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
      expect(srv.accepted()).toBeGreaterThan(0)
      const t0 = Date.now()
      cap.child.kill('SIGINT')
      const code = await cap.exited
      expect(Date.now() - t0).toBeLessThan(2500)
      expect(code, cap.stderr()).toBe(0)
      expect(summaryOf(cap.stdout())).toMatchObject({ captured: 0, sent: 0, failed: 0, dropped: 0 })
    } finally {
      cap.child.kill('SIGKILL')
      srv.close()
    }
  })
})
