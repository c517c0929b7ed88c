/**
 * replay --topspeed on two threads (src/replay/threaded.ts + the built dist/replay-worker.js): the
 * datagrams a receiver gets are those of the one-thread path, byte for byte and in order, with the
 * same statistics and the same skips told, over several batches and with every option that changes
 * what is sent; a worker that fails, ends early or does not answer a stop is reported and never
 * hangs the replay.
 */
import { createSocket, type Socket } from 'node:dgram'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PacketFilter } from '../../src/filter/filter.js'
import { createSender } from '../../src/net/sender.js'
import type { HepSender } from '../../src/net/sender-types.js'
import { replay, type ReplayOptions, type ReplayStats } from '../../src/replay/replay.js'
import { replayThreaded, twoThreadsFit } from '../../src/replay/threaded.js'
import { fixture } from '../helpers/cli.js'

const WORKER = new URL('../../dist/replay-worker.js', import.meta.url)
const stand = (name: string) => new URL(`./workers/${name}.mjs`, import.meta.url)
const TOP = { mode: { kind: 'topspeed' as const } }

let sockets: Socket[] = []
let senders: HepSender[] = []
afterEach(async () => {
  for (const s of senders) await s.close({ timeout: 0 }).catch(() => {})
  for (const s of sockets) s.close()
  sockets = []
  senders = []
})

beforeAll(() => {
  if (!existsSync(fileURLToPath(WORKER))) throw new Error('run npm run build first (dist/replay-worker.js)')
})

async function sink(): Promise<{ port: number; got: Buffer[] }> {
  const s = createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 })
  sockets.push(s)
  const got: Buffer[] = []
  s.on('message', (m) => got.push(m))
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))
  return { port: s.address().port, got }
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const t = Date.now()
  while (!cond()) {
    if (Date.now() - t > ms) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

type Opts = Omit<ReplayOptions, 'timing'>

async function run(threaded: boolean, o: Opts, filter?: () => PacketFilter) {
  const { port, got } = await sink()
  const sender = createSender(`127.0.0.1:${port}`)
  senders.push(sender)
  const skips: string[] = []
  const losses: string[] = []
  const f = filter?.()
  const opts: ReplayOptions = {
    ...o,
    timing: TOP,
    filter: f,
    onSkip: (where, reason, e) => skips.push(`${where}|${reason}|${e?.code ?? ''}|${e?.message ?? ''}`),
    onLoss: (l) => losses.push(l.kind),
  }
  const stats: ReplayStats & { threads?: number } = threaded
    ? await replayThreaded(opts, sender, WORKER)
    : await replay(opts, sender)
  await until(() => got.length >= stats.sent, `${stats.sent} datagrams`)
  return { stats, got, skips, losses, filter: f }
}

/** the statistics both paths must agree on (not the clock's) */
const same = (s: ReplayStats & { threads?: number }) => {
  const { elapsedMs: _e, rate: _r, threads: _t, ...rest } = s
  return rest
}

describe('replay on two threads gives what one thread gives', () => {
  it.each<[string, Opts, (() => PacketFilter) | undefined]>([
    ['UDP SIP and RTCP, all of it', { files: [fixture('captures/sip-rtcp.pcap')], rtcp: 'all' }, undefined],
    [
      'two captures merged by time, as HEPv2 with a capture id',
      {
        files: [fixture('captures/sip-tcp.pcap'), fixture('captures/sip-udp.pcap')],
        version: 2,
        captureId: 2002,
      },
      undefined,
    ],
    ['--loop 3 --limit 40', { files: [fixture('captures/sip-udp.pcapng')], loop: 3, limit: 40 }, undefined],
    [
      'filters, correlation id auto, node name and auth key',
      {
        files: [fixture('captures/sip-misc-methods.pcap')],
        correlationId: 'auto',
        nodeName: 'edge-1',
        authKey: 'secret',
      },
      () => new PacketFilter({ notMethods: ['OPTIONS'] }),
    ],
    [
      'a truncated capture (an unreadable item, told) and HEPv1 (losses told)',
      { files: [fixture('captures/edge-sip-udp-truncated-file.pcap')], version: 1 },
      undefined,
    ],
    [
      'many batches: 400 loops (7,200 datagrams, about 4 MiB)',
      { files: [fixture('captures/sip-udp.pcapng')], loop: 400, compress: 'gzip' },
      undefined,
    ],
  ])('%s', async (_name, o, filter) => {
    const one = await run(false, o, filter)
    const two = await run(true, o, filter)
    expect(two.stats.threads).toBe(2)
    expect(one.stats.packets).toBeGreaterThan(0)
    expect(two.got.length).toBe(one.got.length)
    expect(two.got.every((b, i) => b.equals(one.got[i]))).toBe(true)
    expect(same(two.stats)).toEqual(same(one.stats))
    expect(two.stats.sent + two.stats.failed + two.stats.dropped).toBe(two.stats.packets)
    expect(two.skips).toEqual(one.skips)
    expect([...new Set(two.losses)]).toEqual([...new Set(one.losses)])
    expect(two.filter?.passed).toBe(one.filter?.passed)
    expect(two.filter?.tested).toBe(one.filter?.tested)
  })

  it('balanced by call (--balance call-id): each destination gets the same packets as with one thread', async () => {
    const runBalanced = async (threaded: boolean) => {
      const a = await sink()
      const b = await sink()
      const sender = createSender([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], { balance: 'call-id' })
      senders.push(sender)
      const opts: ReplayOptions = {
        files: [fixture('captures/sip-misc-methods.pcap'), fixture('captures/sip-udp.pcap')],
        timing: TOP,
        needCallId: true,
      }
      const stats = threaded ? await replayThreaded(opts, sender, WORKER) : await replay(opts, sender)
      await until(() => a.got.length + b.got.length >= stats.sent, 'every datagram')
      return { a: a.got, b: b.got, stats }
    }
    const one = await runBalanced(false)
    const two = await runBalanced(true)
    expect(one.a.length).toBeGreaterThan(0)
    expect(one.b.length).toBeGreaterThan(0)
    expect(two.a.map((x) => x.toString('hex'))).toEqual(one.a.map((x) => x.toString('hex')))
    expect(two.b.map((x) => x.toString('hex'))).toEqual(one.b.map((x) => x.toString('hex')))
  })

  it('a stop (Ctrl-C) ends an endless loop at once; the counts add up, RTCP and RTP read ahead included', async () => {
    const { port, got } = await sink()
    const sender = createSender(`127.0.0.1:${port}`)
    senders.push(sender)
    const stop = new AbortController()
    const opts: ReplayOptions = {
      // 109 records a loop: 7 SIP, 12 RTCP of the call, 81 RTP, 9 STUN
      files: [fixture('rtcp/linphone-ipv4.pcap')],
      timing: TOP,
      loop: 0,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.packets === 3000) stop.abort()
      },
    }
    const t = Date.now()
    const stats = await replayThreaded(opts, sender, WORKER)
    expect(Date.now() - t).toBeLessThan(10_000)
    expect(stats.packets).toBe(3000)
    expect(stats.sent + stats.failed + stats.dropped).toBe(stats.packets)
    expect(stats.loops).toBeGreaterThan(1)
    // every record the worker read was sent or skipped for one reason; what it encoded and this
    // thread did not send (it reads ahead) was left by the stop
    const skips = Object.values(stats.skipped).reduce((a, b) => a + b, 0)
    expect(stats.packets + skips).toBe(stats.records)
    expect(stats.skipped['left by the stop']).toBeGreaterThan(0)
    const r = stats.rtcp!
    expect(r.sent + r.uncorrelated + r.malformed + r.leftOut).toBe(r.found)
    expect(r.sent).toBeGreaterThan(0)
    await until(() => got.length >= stats.sent - 50, 'most datagrams')
  })
})

describe('a failing replay thread', () => {
  it('an error thrown in it stops the replay with that error, after what it handed over', async () => {
    const { port, got } = await sink()
    const sender = createSender(`127.0.0.1:${port}`)
    const opts: ReplayOptions = { files: ['x.pcap'], timing: TOP }
    await expect(replayThreaded(opts, sender, stand('throws'))).rejects.toThrow(
      /the replay thread failed: boom in the replay thread/,
    )
    // the sender is closed (its socket does not keep the process alive)
    expect(() => sender.send(Buffer.from('x'))).toThrow(/closed/)
    await until(() => got.length === 2, 'the two datagrams before the error')
  })

  it('a thread that ends without its statistics is an error, not a hang', async () => {
    const sender = createSender('127.0.0.1:9')
    await expect(replayThreaded({ files: ['x.pcap'], timing: TOP }, sender, stand('exits'))).rejects.toThrow(
      /the replay thread ended \(exit code 3\)/,
    )
  })

  it('a thread that does not answer a stop is ended: the summary still comes, promptly', async () => {
    const { port } = await sink()
    const sender = createSender(`127.0.0.1:${port}`)
    senders.push(sender)
    const stop = new AbortController()
    const t0 = Date.now()
    const stats = await replayThreaded(
      {
        files: ['x.pcap'],
        timing: TOP,
        signal: stop.signal,
        stopFlushMs: 200,
        onProgress: (p) => {
          if (p.packets === 3) setTimeout(() => stop.abort(), 20)
        },
      },
      sender,
      stand('deaf'),
    )
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(stats).toMatchObject({ packets: 3, threads: 2 })
    expect(stats.sent + stats.failed + stats.dropped).toBe(3)
  })
})

describe('when replay takes two threads', () => {
  const sender = {} as HepSender
  const base: ReplayOptions = { files: [fixture('captures/sip-udp.pcap')], timing: TOP }
  it('at top speed to a sender, from files: always; by default only for enough to read, on 3 cores or more', () => {
    expect(twoThreadsFit(base, sender, 'always', 2)).toBe(true)
    expect(twoThreadsFit(base, sender, 'auto', 8)).toBe(false) // a few KiB: the thread's start costs more
    expect(twoThreadsFit({ ...base, loop: 0 }, sender, 'auto', 8)).toBe(true)
    expect(twoThreadsFit({ ...base, loop: 2000 }, sender, 'auto', 3)).toBe(true)
    // two cores: the second thread competes with the receiver or anything else for them
    expect(twoThreadsFit({ ...base, loop: 0 }, sender, 'auto', 2)).toBe(false)
  })
  it('never: dry runs, other timings, stdin, per-packet callbacks, or when told not to', () => {
    expect(twoThreadsFit(base, undefined, 'always')).toBe(false)
    expect(twoThreadsFit({ ...base, timing: { mode: { kind: 'original' } } }, sender, 'always')).toBe(false)
    expect(twoThreadsFit({ ...base, timing: { mode: { kind: 'pps', pps: 9 } } }, sender, 'always')).toBe(
      false,
    )
    expect(twoThreadsFit({ ...base, files: ['-'] }, sender, 'always')).toBe(false)
    expect(twoThreadsFit({ ...base, onPacket: () => {} }, sender, 'always')).toBe(false)
    expect(twoThreadsFit({ ...base, loop: 0 }, sender, 'never')).toBe(false)
  })
})
