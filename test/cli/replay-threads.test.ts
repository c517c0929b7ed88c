/**
 * `hep replay --topspeed` on two threads, through the built CLI, as HEP_REPLAY_THREADS=1 asks (by
 * default only with 3 cores or more: test/replay/threaded.test.ts); Ctrl-C ends it within a second with a summary
 * whose counts add up; over TCP and to two destinations balanced by call it sends what the
 * one-thread path sends (HEP_REPLAY_THREADS=0), byte for byte. Loopback only, ports from the OS.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { fixture, hep, start, type Running } from '../helpers/cli.js'

const STOP_MS = 1500
const running: Running[] = []
const cleanups: (() => void)[] = []
afterEach(() => {
  for (const r of running.splice(0)) r.child.kill('SIGKILL')
  for (const c of cleanups.splice(0)) c()
})

async function udpSink(): Promise<{ port: number; got: Buffer[]; sock: UdpSocket }> {
  const sock = createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 })
  const got: Buffer[] = []
  sock.on('message', (m) => got.push(m))
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()))
  cleanups.push(() => sock.close())
  return { port: sock.address().port, got, sock }
}

async function tcpSink(): Promise<{ port: number; bytes: () => Buffer; server: Server }> {
  const chunks: Buffer[] = []
  const server = createServer((c) => c.on('data', (d: Buffer) => chunks.push(d)))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  cleanups.push(() => server.close())
  return { port: (server.address() as { port: number }).port, bytes: () => Buffer.concat(chunks), server }
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const t = Date.now()
  while (!cond()) {
    if (Date.now() - t > ms) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

const summaryOf = (stdout: string) => JSON.parse(stdout.trimEnd().split('\n').pop() as string)

describe('hep replay --topspeed on two threads', () => {
  it('--loop 0 on two threads; Ctrl-C ends it within a second, the summary adds up', async () => {
    const sink = await udpSink()
    const r = start(
      [
        'replay',
        fixture('rtcp/linphone-ipv4.pcap'),
        '--to',
        `127.0.0.1:${sink.port}`,
        '--topspeed',
        '--loop',
        '0',
        '--json',
      ],
      { env: { HEP_REPLAY_THREADS: '1' } },
    )
    running.push(r)
    await until(() => sink.got.length >= 5000, '5,000 datagrams', 20_000)
    const t0 = Date.now()
    r.child.kill('SIGINT')
    const code = await r.exited
    expect(Date.now() - t0).toBeLessThan(STOP_MS)
    expect(code).toBe(0)
    const s = summaryOf(r.stdout())
    expect(s).toMatchObject({ summary: true, threads: 2, failed: 0, dropped: 0 })
    expect(s.sent + s.failed + s.dropped).toBe(s.packets)
    expect(s.packets).toBeGreaterThanOrEqual(5000)
    expect(s.loops).toBeGreaterThan(1)
    // every record read was sent or skipped for one reason (RTP, STUN, left by the stop...)
    const skips = Object.values(s.skipped as Record<string, number>).reduce((a, b) => a + b, 0)
    expect(s.packets + skips).toBe(s.records)
    expect(s.rtcp.sent + s.rtcp.uncorrelated + s.rtcp.malformed + s.rtcp.leftOut).toBe(s.rtcp.found)
    await until(() => sink.got.length >= s.sent - 100, 'what was sent')
  })

  it('HEP_REPLAY_THREADS=0 keeps one thread, =1 takes two: the same datagrams, the same summary', async () => {
    const runOnce = async (threads: string) => {
      const sink = await udpSink()
      const r = await hep(
        [
          'replay',
          fixture('captures/sip-rtcp.pcap'),
          fixture('captures/sip-tcp.pcap'),
          '--to',
          `127.0.0.1:${sink.port}`,
          '--topspeed',
          '--rtcp',
          'all',
          '--loop',
          '3',
          '--json',
        ],
        { env: { HEP_REPLAY_THREADS: threads } },
      )
      expect(r.code).toBe(0)
      const s = summaryOf(r.stdout)
      await until(() => sink.got.length >= s.sent, `${s.sent} datagrams`)
      return { s, got: sink.got }
    }
    const one = await runOnce('0')
    const two = await runOnce('1')
    expect(one.s.threads).toBeUndefined()
    expect(two.s.threads).toBe(2)
    expect(two.got.map((b) => b.toString('hex'))).toEqual(one.got.map((b) => b.toString('hex')))
    const clockless = ({ elapsedMs: _e, rate: _r, threads: _t, ...rest }: Record<string, unknown>) => rest
    expect(clockless(two.s)).toEqual(clockless(one.s))
    expect(two.s.rtcp.sent).toBeGreaterThan(0)
  })

  it('over TCP, and to two destinations balanced by call: what one thread sends', async () => {
    const runOnce = async (threads: string) => {
      const t = await tcpSink()
      const a = await udpSink()
      const b = await udpSink()
      const env = { HEP_REPLAY_THREADS: threads }
      const files = [fixture('captures/sip-misc-methods.pcap'), fixture('captures/sip-udp.pcap')]
      const [tr, br] = await Promise.all([
        hep(['replay', ...files, '--to', `tcp://127.0.0.1:${t.port}`, '--topspeed', '--json'], { env }),
        hep(
          [
            'replay',
            ...files,
            '--to',
            `127.0.0.1:${a.port}`,
            '--to',
            `127.0.0.1:${b.port}`,
            '--balance',
            'call-id',
            '--topspeed',
            '--json',
          ],
          { env },
        ),
      ])
      expect([tr.code, br.code]).toEqual([0, 0])
      const ts = summaryOf(tr.stdout)
      const bs = summaryOf(br.stdout)
      await until(() => a.got.length + b.got.length >= bs.sent, 'the balanced datagrams')
      await until(() => t.bytes().length >= ts.sent * 20, 'the TCP stream')
      return { tcp: t.bytes(), a: a.got, b: b.got, ts, bs }
    }
    const one = await runOnce('0')
    const two = await runOnce('1')
    expect(two.ts.threads).toBe(2)
    expect(two.bs.threads).toBe(2)
    expect(two.tcp.equals(one.tcp)).toBe(true)
    expect(one.a.length * one.b.length).toBeGreaterThan(0)
    expect(two.a.map((x) => x.toString('hex'))).toEqual(one.a.map((x) => x.toString('hex')))
    expect(two.b.map((x) => x.toString('hex'))).toEqual(one.b.map((x) => x.toString('hex')))
  })
})
