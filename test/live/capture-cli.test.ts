/**
 * `hep capture` as a process, with a stand-in engine: a `tcpdump` script on PATH that says what
 * tcpdump says when it opens an interface, writes a real capture (fixtures/captures/sip-udp.pcap, 18
 * SIP messages) to stdout, and then waits to be stopped (printing tcpdump's closing drop count) or
 * fails as tcpdump does when an interface disappears. The HEP goes to a UDP socket of the test.
 * Also: no engine on PATH, a user who may not capture (the real tcpdump and dumpcap, as nobody).
 */
import { spawn, spawnSync } from 'node:child_process'
import dgram from 'node:dgram'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodeDatagram } from '../../src/hep/codec.js'
import { readAll } from '../../src/pcap/read/index.js'
import { BIN, fixture, hep, ROOT } from '../helpers/cli.js'
import { onTerminal } from '../helpers/pty.js'
import { fakeTcpdump } from './fake-engine.js'

const { dir, bin } = fakeTcpdump(
  'hep-capture-cli-',
  `#!/bin/sh
if [ "$1" = "-D" ]; then printf '1.eth0 [Up, Running]\\n2.any (Pseudo-device that captures on all interfaces) [Up, Running]\\n'; exit 0; fi
echo "tcpdump: listening on $2, link-type EN10MB (Ethernet), snapshot length 262144 bytes" >&2
cat "$FAKE_PCAP"
if [ -n "$FAKE_FAIL" ]; then echo "tcpdump: pcap_loop: The interface disappeared" >&2; exit 1; fi
trap 'echo "18 packets captured" >&2; echo "3 packets dropped by kernel" >&2; exit 0' TERM INT
while :; do sleep 0.05; done
`,
)
const ENV = { PATH: `${bin}:/usr/bin:/bin`, FAKE_PCAP: fixture('captures/sip-udp.pcap'), HOME: dir }

/** A UDP socket collecting HEP. */
async function receiver() {
  const sock = dgram.createSocket('udp4')
  const got: Buffer[] = []
  sock.on('message', (m) => got.push(m))
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r))
  return { port: sock.address().port, got, close: () => sock.close() }
}

describe('hep capture with a stand-in engine', { timeout: 30_000 }, () => {
  it('sends every SIP message of the capture as HEP with the encoding options; --count stops it', async () => {
    const rx = await receiver()
    const r = await hep(
      [
        'capture',
        '-i',
        'eth0',
        '--to',
        `127.0.0.1:${rx.port}`,
        '--capture-id',
        '77',
        '--node-name',
        'edge',
        '--count',
        '10',
      ],
      { env: ENV },
    )
    rx.close()
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(
      /capturing on eth0 with tcpdump \(filter: not \(\(host 127\.0\.0\.1 and port \d+\)\)/,
    )
    expect(r.stderr).toMatch(/sent\s*│\s*10\s/)
    expect(r.stderr, 'no progress line in a pipe').not.toMatch(/^capture: \d+ s/m)
    expect(rx.got).toHaveLength(10)
    const p = decodeDatagram(rx.got[0])
    expect(p).toMatchObject({ version: 3, captureId: 77, nodeName: 'edge', srcPort: 5070, dstPort: 5060 })
    expect(p.payload?.toString('latin1')).toMatch(/^INVITE sip:/)
  })

  it('RTCP of the captured calls goes as HEP type 5 with its Call-ID (--rtcp correlated); --rtcp off sends none', async () => {
    const env = { ...ENV, FAKE_PCAP: fixture('captures/sip-rtcp.pcap') }
    const rx = await receiver()
    const r = await hep(['capture', '-i', 'eth0', '--to', `127.0.0.1:${rx.port}`, '--count', '9', '--json'], {
      env,
    })
    rx.close()
    expect(r.code, r.stderr).toBe(0)
    const got = rx.got.map((b) => decodeDatagram(b))
    const rtcp = got.filter((p) => p.payloadType === 5)
    expect(rtcp).toHaveLength(6)
    for (const p of rtcp) {
      expect(p.correlationId).toBe('call-1@10.0.0.1')
      expect(JSON.parse(p.payload!.toString('utf8'))).toHaveProperty('type')
    }
    const s = JSON.parse(r.stdout.trim().split('\n').at(-1)!)
    expect(s).toMatchObject({ rtcp: 6, sip: 3, sent: 9 })
    expect(s.rtcpFound).toBeGreaterThanOrEqual(6)
    const rx2 = await receiver()
    const off = await hep(
      ['capture', '-i', 'eth0', '--to', `127.0.0.1:${rx2.port}`, '--count', '3', '--rtcp', 'off'],
      { env },
    )
    rx2.close()
    expect(off.code, off.stderr).toBe(0)
    expect(rx2.got.map((b) => decodeDatagram(b).payloadType)).toEqual([1, 1, 1])
  })

  it('the shared filters: --method BYE keeps the BYEs and their answers, the rest counted as filtered out', async () => {
    const rx = await receiver()
    const r = await hep(
      [
        'capture',
        '-i',
        'eth0',
        '--to',
        `127.0.0.1:${rx.port}`,
        '--method',
        'BYE',
        '--duration',
        '2',
        '--json',
      ],
      {
        env: ENV,
      },
    )
    rx.close()
    expect(r.code, r.stderr).toBe(0)
    const got = rx.got.map((b) => decodeDatagram(b).payload!.toString('latin1'))
    expect(got.length).toBeGreaterThan(0)
    for (const m of got) expect(m).toMatch(/^(BYE |SIP\/2\.0 )[^]*\r\nCSeq: *\d+ BYE\r\n/i)
    const s = JSON.parse(r.stdout.trim().split('\n').at(-1)!)
    expect(s.sent).toBe(got.length)
    // SIP counts what passed the filter, filtered what it left out: together every message found
    expect(s.sip).toBe(got.length)
    expect(s.filtered).toBe(18 - got.length)
    expect(s.skipped['filtered out']).toBeUndefined()
    // the table says the same
    const rx2 = await receiver()
    const human = await hep(
      ['capture', '-i', 'eth0', '--to', `127.0.0.1:${rx2.port}`, '--method', 'BYE', '--duration', '2'],
      { env: ENV },
    )
    rx2.close()
    expect(human.code, human.stderr).toBe(0)
    expect(human.stderr).toMatch(new RegExp(`SIP messages\\s*│\\s*${got.length}\\s`))
    expect(human.stderr).toMatch(new RegExp(`filtered out\\s*│\\s*${18 - got.length}\\s`))
    expect(human.stderr).toMatch(new RegExp(`sent\\s*│\\s*${got.length}\\s`))
  })

  it('an engine that stops by itself is started again and reported; counts add up over the runs', async () => {
    const rx = await receiver()
    const r = await hep(
      ['capture', '-i', 'eth0', '--to', `127.0.0.1:${rx.port}`, '--duration', '2', '--json'],
      {
        env: { ...ENV, FAKE_FAIL: '1' },
      },
    )
    rx.close()
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/tcpdump on eth0 stopped: .*The interface disappeared; starting it again in 1 s/)
    expect(r.stderr).toMatch(/capturing again on eth0/)
    const s = JSON.parse(r.stdout.trim().split('\n').at(-1)!)
    expect(s.summary).toBe(true)
    expect(s.restarts).toBeGreaterThanOrEqual(1)
    const runs = s.restarts + 1
    expect(s.captured).toBe(18 * runs)
    expect(s.sip).toBe(18 * runs)
    expect(s.sent).toBe(18 * runs)
    expect(s.packets).toBe(s.sent + s.failed + s.dropped)
    expect(rx.got).toHaveLength(s.sent)
  })

  it('SIGTERM: stops within a second with the summary, the kernel drops and the --write file', async () => {
    const rx = await receiver()
    const out = join(dir, 'w.pcapng')
    const child = spawn(
      process.execPath,
      [BIN, 'capture', '-i', 'eth0', '--to', `127.0.0.1:${rx.port}`, '--write', out],
      {
        cwd: ROOT,
        env: { ...process.env, ...ENV, NO_COLOR: '1' },
      },
    )
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err += d))
    const end = Date.now() + 10_000
    while (rx.got.length < 18 && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
    const t = Date.now()
    child.kill('SIGTERM')
    const code = await new Promise((r) => child.on('close', r))
    rx.close()
    expect(Date.now() - t).toBeLessThan(1000)
    expect(code, err).toBe(0)
    expect(err).toMatch(/sent\s*│\s*18\s/)
    expect(err).toMatch(/kernel drops\s*│\s*3\s/)
    expect(err).toMatch(/frames written\s*│\s*18\s/)
    const recs = await readAll(out)
    const orig = await readAll(fixture('captures/sip-udp.pcap'))
    expect(recs.map((x) => [x.seconds, x.nanos, x.data.toString('hex')])).toEqual(
      orig.map((x) => [x.seconds, x.nanos, x.data.toString('hex')]),
    )
  })

  it('a progress line on a terminal (the live counts), cleared for the summary; none without one', () => {
    const r = onTerminal(['capture', '-i', 'eth0', '--to', '127.0.0.1:9'], {
      env: ENV,
      ctrlCAfter: '18 SIP',
      timeoutMs: 15_000,
    })
    expect(r.code, r.out).toBe(0)
    expect(r.out).toMatch(/capture: \d+ s, 18 frames, 18 SIP, 0 RTCP, 18 sent, 0 failed, 0 dropped/)
    expect(r.out).toMatch(/SIP messages\s*│\s*18\s/)
  })

  it('--list-interfaces', async () => {
    const r = await hep(['capture', '--list-interfaces'], { env: ENV })
    expect(r.code).toBe(0)
    expect(r.stdout.split('\n')[0]).toBe('eth0  [Up, Running]')
    const j = await hep(['capture', '--list-interfaces', '--json'], { env: ENV })
    expect(JSON.parse(j.stdout.split('\n')[1])).toEqual({
      name: 'any',
      description: '(Pseudo-device that captures on all interfaces) [Up, Running]',
    })
  })

  it('usage errors: no interface, no destination, a bad port range', async () => {
    expect((await hep(['capture', '--to', '127.0.0.1:9'], { env: ENV })).stderr).toMatch(/--interface/)
    const r = await hep(['capture', '-i', 'lo'], { env: ENV })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--to/)
    expect(
      (await hep(['capture', '-i', 'lo', '--to', 'x:9', '--port-range', '9-1'], { env: ENV })).code,
    ).toBe(2)
  })
})

describe('hep capture cannot capture', () => {
  it('no engine on PATH: says what to install (exit 3)', async () => {
    const r = await hep(['capture', '-i', 'lo', '--to', '127.0.0.1:9'], {
      env: { PATH: join(dir, 'none'), HOME: dir },
    })
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/hep capture: cannot capture: neither tcpdump nor dumpcap is installed/)
    expect(r.stderr).not.toMatch(/at .*\.js/)
  })

  const asNobody =
    process.getuid?.() === 0 &&
    spawnSync('sh', ['-c', 'command -v setpriv && command -v tcpdump']).status === 0
  it.skipIf(!asNobody)(
    'a user who may not capture: which permission to grant (the real engines, run as nobody)',
    () => {
      const r = spawnSync(
        'setpriv',
        [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          process.execPath,
          BIN,
          'capture',
          '-i',
          'lo',
          '--to',
          '127.0.0.1:9',
        ],
        {
          cwd: ROOT,
          encoding: 'utf8',
          env: { ...process.env, HOME: '/tmp', NO_COLOR: '1' },
          timeout: 15_000,
        },
      )
      expect(r.status).toBe(3)
      expect(r.stderr).toMatch(/tcpdump may not capture \(lo: You don't have permission/)
      expect(r.stderr).toMatch(/setcap cap_net_raw,cap_net_admin=eip/)
      if (/trying dumpcap/.test(r.stderr)) expect(r.stderr).toMatch(/wireshark group/)
    },
  )
})
