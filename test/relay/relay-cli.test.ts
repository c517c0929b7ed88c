/**
 * `hep listen --to`: the relay, with real processes on loopback. Packets are made here (distinct
 * payloads, so order and loss are visible), sent from this process over UDP, relayed by one `hep
 * listen`, and received by another `hep listen --write-hep` (raw: the bytes as they arrived).
 */
import { createSocket } from 'node:dgram'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Hep3Framer, decode, encode } from '../../src/index.js'
import { hep, start as startHep, type Running } from '../helpers/cli.js'
import { boundPorts, freePort as portOutsideEphemeral } from '../interop/peers.js'
import { sipPacket } from '../net/helpers.js'

/** a long-running hep; UDP listeners get a 4 MiB receive buffer (a loaded machine drops less) */
const start = (args: string[]) =>
  startHep(args.includes('--udp') ? [...args, '--recv-buffer', '4194304'] : args)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Polls until `cond` holds, for at most `ms` (a loaded machine is slow; a fixed sleep flakes). */
async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  for (const t0 = Date.now(); !cond() && Date.now() - t0 < ms;) await sleep(50)
}
const port = async (r: Running, t: string) =>
  Number((await r.waitFor(new RegExp(`listening on ${t} [^ ]+:(\\d+)`)))[1])

/** `n` distinct HEP3 packets ("MESSAGE … seq i"), as a call each of `perCall` */
function packets(n: number, extra: Parameters<typeof sipPacket>[1] = {}, tag = 'a'): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < n; i++) {
    const call = `call-${tag}-${Math.floor(i / 5)}`
    out.push(
      encode(
        sipPacket(
          `MESSAGE sip:x@y SIP/2.0\r\nCall-ID: ${call}\r\nCSeq: ${i} MESSAGE\r\n\r\nseq ${tag} ${i}`,
          {
            timeSeconds: 1_700_000_000 + i,
            ...extra,
          },
        ),
      ),
    )
  }
  return out
}

/** Sends datagrams to 127.0.0.1:port, `perTick` at a time (the relay's socket buffer is not flooded). */
async function sendUdp(port: number, bufs: Buffer[], perTick = 20): Promise<void> {
  const s = createSocket('udp4')
  for (let i = 0; i < bufs.length; i += perTick) {
    await Promise.all(
      bufs
        .slice(i, i + perTick)
        .map((b) => new Promise<void>((r) => s.send(b, port, '127.0.0.1', () => r()))),
    )
    await sleep(5)
  }
  s.close()
}

/** The HEP3 packets of a raw --write-hep file, in order. */
function rawPackets(path: string): Buffer[] {
  if (!existsSync(path)) return []
  const f = new Hep3Framer()
  const out: Buffer[] = []
  for (const fr of f.push(readFileSync(path))) out.push(Buffer.from(fr))
  return out
}

/** `hep listen` relaying UDP to tcp://127.0.0.1:`tp`, spooling into `dir`/spool, with `extra` flags. */
const spooling = (tp: number, dir: string, ...extra: string[]) => [
  'listen',
  '--udp',
  '127.0.0.1:0',
  '--to',
  `tcp://127.0.0.1:${tp}`,
  '--spool',
  join(dir, 'spool'),
  ...extra,
]

/**
 * The relay of `args` started again with a receiver on `tp` (raw, into `dir`/rx.raw): both stopped
 * once `want` packets arrived (at most 5 s); what the receiver got, and the relay with its exit code.
 */
async function restartAndReceive(args: string[], tp: number, dir: string, want: number) {
  const rx = start(['listen', '--tcp', `127.0.0.1:${tp}`, '--write-hep', join(dir, 'rx.raw')])
  await port(rx, 'tcp')
  const relay = start(args)
  await port(relay, 'udp')
  for (let i = 0; i < 50 && rawPackets(join(dir, 'rx.raw')).length < want; i++) await sleep(100)
  const code = await stop(relay)
  await stop(rx)
  return { got: rawPackets(join(dir, 'rx.raw')), relay, code }
}

/** A free TCP port (bound and released). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port
      srv.close(() => resolve(p))
    })
  })
}

async function stop(r: Running): Promise<number | null> {
  r.child.kill('SIGINT')
  return r.exited
}

const payloadOf = (b: Buffer) => decode(b).payload!.toString()

describe('hep listen --to (relay)', () => {
  it('UDP in, TCP out: every packet arrives byte for byte, in order; fan-out to UDP too; the summary adds up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hep-relay-'))
    const tcpRx = start(['listen', '--tcp', '127.0.0.1:0', '--write-hep', join(dir, 'tcp.raw')])
    const udpRx = start(['listen', '--udp', '127.0.0.1:0', '--write-hep', join(dir, 'udp.raw')])
    const [tp, up] = [await port(tcpRx, 'tcp'), await port(udpRx, 'udp')]
    const relay = start([
      'listen',
      '--udp',
      '127.0.0.1:0',
      '--to',
      `tcp://127.0.0.1:${tp}`,
      '--to',
      `127.0.0.1:${up}`,
    ])
    const rp = await port(relay, 'udp')
    await relay.waitFor(/relaying to tcp:/)
    const sent = packets(500)
    await sendUdp(rp, sent)
    // every packet through both destinations before the stop (then the counts are exact)
    await until(
      () => rawPackets(join(dir, 'tcp.raw')).length >= 500 && rawPackets(join(dir, 'udp.raw')).length >= 500,
    )
    expect(await stop(relay)).toBe(0)
    await Promise.all([stop(tcpRx), stop(udpRx)])
    const viaTcp = rawPackets(join(dir, 'tcp.raw'))
    expect(viaTcp.length).toBe(500)
    expect(viaTcp.every((b, i) => b.equals(sent[i]))).toBe(true)
    const viaUdp = rawPackets(join(dir, 'udp.raw'))
    expect(viaUdp.map(payloadOf).sort()).toEqual(sent.map(payloadOf).sort())
    expect(viaUdp.every((b) => sent.some((s) => s.equals(b)))).toBe(true)
    expect(relay.stderr()).toMatch(
      /relayed to tcp:\/\/127\.0\.0\.1:\d+: 500 packets: 500 sent, 0 failed, 0 dropped\n/,
    )
    expect(relay.stderr()).toMatch(
      /relayed to udp:\/\/127\.0\.0\.1:\d+: 500 packets: 500 sent, 0 failed, 0 dropped\n/,
    )
    // the packet lines are shown alongside (stdout), one per packet
    expect(relay.stdout().trimEnd().split('\n')).toHaveLength(500)
  })

  it('--relay-capture-id rewrites; HEPv2 becomes HEP3 on tcp; --balance call-id keeps each call on one destination; --quiet shows nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hep-relay-'))
    const a = start(['listen', '--tcp', '127.0.0.1:0', '--write-hep', join(dir, 'a.raw')])
    const b = start(['listen', '--tcp', '127.0.0.1:0', '--write-hep', join(dir, 'b.raw')])
    const [pa, pb] = [await port(a, 'tcp'), await port(b, 'tcp')]
    // (outside the kernel's ephemeral range: no outgoing socket of a parallel test takes it meanwhile)
    const rp = portOutsideEphemeral()
    const relay = start([
      'listen',
      '--udp',
      `127.0.0.1:${rp}`,
      '--quiet',
      '--to',
      `tcp://127.0.0.1:${pa}`,
      '--to',
      `tcp://127.0.0.1:${pb}`,
      '--balance',
      'call-id',
      '--relay-capture-id',
      '77',
    ])
    // --quiet says nothing: ready once both destinations were connected to and the UDP port is bound
    await a.waitFor(/accepted tcp/, 'stderr', 20_000)
    await b.waitFor(/accepted tcp/, 'stderr', 20_000)
    for (let i = 0; i < 400 && !boundPorts('udp').has(rp); i++) await sleep(50)
    expect(boundPorts('udp').has(rp), relay.stderr()).toBe(true)
    const v3 = packets(100)
    const v2 = packets(20, { version: 2, captureId: 5 }, 'v2')
    await sendUdp(rp, [...v3, ...v2])
    await until(() => rawPackets(join(dir, 'a.raw')).length + rawPackets(join(dir, 'b.raw')).length >= 120)
    expect(await stop(relay)).toBe(0)
    await Promise.all([stop(a), stop(b)])
    expect(relay.stdout()).toBe('')
    expect(relay.stderr()).toBe('')
    const got = [...rawPackets(join(dir, 'a.raw')), ...rawPackets(join(dir, 'b.raw'))].map((x) => decode(x))
    expect(got).toHaveLength(120)
    expect(got.every((p) => p.version === 3 && p.captureId === 77)).toBe(true)
    const calls = (f: string) =>
      new Set(rawPackets(join(dir, f)).map((x) => /Call-ID: (\S+)/.exec(decode(x).payload!.toString())![1]))
    const [ca, cb] = [calls('a.raw'), calls('b.raw')]
    expect(ca.size).toBeGreaterThan(0)
    expect(cb.size).toBeGreaterThan(0)
    expect([...ca].some((c) => cb.has(c))).toBe(false)
  })

  it('bad relay flags are usage errors (exit 2) naming the flag', async () => {
    const cases: [string[], string][] = [
      [['--spool', '/tmp/x'], '--spool needs --to'],
      [['--to', 'tcp://127.0.0.1:9', '--version', '2'], '--version 2 cannot go to tcp://127.0.0.1:9'],
      [['--to', 'tcp://127.0.0.1:9', '--spool', '/tmp/x', '--spool-limit', 'lots'], '--spool-limit lots'],
      [['--rotate-seconds', '5'], 'need --write or --write-hep'],
      [['--node-name', 'x'], '--node-name rewrites relayed packets: it needs --to'],
    ]
    const runs = await Promise.all(cases.map(([flags]) => hep(['listen', '--udp', '0', ...flags])))
    runs.forEach((r, i) => {
      expect(r.code, cases[i][0].join(' ')).toBe(2)
      expect(r.stderr).toContain(cases[i][1])
    })
  })
})

describe('hep listen --to --spool', () => {
  const OUTAGE_S = Number(process.env.HEP_RELAY_OUTAGE_S ?? 3)

  it(
    `the destination down for ${OUTAGE_S} s, then back: every packet arrives, in order, once`,
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'hep-spool-'))
      const tp = await freePort()
      const rx1 = start(['listen', '--tcp', `127.0.0.1:${tp}`, '--write-hep', join(dir, 'rx1.raw')])
      await port(rx1, 'tcp')
      const relay = start(spooling(tp, dir, '--queue-limit', '50'))
      const rp = await port(relay, 'udp')
      await sleep(400)
      const all = packets(1500)
      await sendUdp(rp, all.slice(0, 500))
      await sleep(300)
      await stop(rx1) // the receiver goes away (cleanly: what it read is confirmed)
      const t0 = Date.now()
      // during the outage: packets keep coming, spread over it
      const during = all.slice(500, 1300)
      const step = Math.ceil(during.length / Math.max(1, OUTAGE_S * 4))
      for (let i = 0; i < during.length; i += step) {
        await sendUdp(rp, during.slice(i, i + step))
        await sleep(Math.max(0, (OUTAGE_S * 1000) / Math.ceil(during.length / step) - 5))
      }
      const spoolDir = join(dir, 'spool', readdirSync(join(dir, 'spool'))[0])
      expect(readdirSync(spoolDir).some((f) => f.endsWith('.spool'))).toBe(true)
      await sleep(Math.max(0, OUTAGE_S * 1000 - (Date.now() - t0)))
      const rx2 = start(['listen', '--tcp', `127.0.0.1:${tp}`, '--write-hep', join(dir, 'rx2.raw')])
      await port(rx2, 'tcp')
      await sendUdp(rp, all.slice(1300))
      // the spool empties
      for (let i = 0; i < 100 && rawPackets(join(dir, 'rx2.raw')).length < 1000; i++) await sleep(100)
      expect(await stop(relay)).toBe(0)
      await stop(rx2)
      const got = [...rawPackets(join(dir, 'rx1.raw')), ...rawPackets(join(dir, 'rx2.raw'))]
      expect(got.length).toBe(1500)
      expect(got.every((b, i) => b.equals(all[i]))).toBe(true)
    },
    30_000 + OUTAGE_S * 1000,
  )

  it('hep killed (SIGKILL) with a non-empty spool and started again: nothing lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hep-spool-'))
    const tp = await freePort() // nothing listens there yet
    const args = spooling(tp, dir)
    const r1 = start(args)
    const rp = await port(r1, 'udp')
    const all = packets(400)
    await sendUdp(rp, all)
    await sleep(300)
    r1.child.kill('SIGKILL')
    await r1.exited
    const { got, relay: r2, code } = await restartAndReceive(args, tp, dir, 400)
    expect(code).toBe(0)
    expect(got.length).toBe(400)
    expect(got.every((b, i) => b.equals(all[i]))).toBe(true)
    expect(r2.stderr()).toMatch(
      /0 packets \(\+400 from the spool of an earlier run\): 400 sent, 0 failed, 0 dropped, 0 left in the spool/,
    )
    // the spool is empty afterwards: no segment left
    const spoolDir = join(dir, 'spool', readdirSync(join(dir, 'spool'))[0])
    expect(readdirSync(spoolDir).filter((f) => f.endsWith('.spool'))).toEqual([])
  })

  it('Ctrl-C while connected to a peer that does not read: what was written but not confirmed, and the memory queue, go to the spool and out after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hep-spool-'))
    const tp = await freePort()
    // a destination that accepts and never reads
    const socks: import('node:net').Socket[] = []
    const stuck = createServer((c) => {
      c.pause()
      socks.push(c)
    })
    await new Promise<void>((r) => stuck.listen(tp, '127.0.0.1', () => r()))
    const args = spooling(tp, dir, '--queue-limit', '50')
    const r1 = start(args)
    const rp = await port(r1, 'udp')
    await r1.waitFor(/relaying to tcp:/)
    const all = packets(1000)
    await sendUdp(rp, all)
    await sleep(300)
    expect(await stop(r1)).toBe(0)
    expect(r1.stderr()).toMatch(/1000 packets: 0 sent, 0 failed, 0 dropped, 1000 left in the spool/)
    for (const c of socks) c.destroy()
    await new Promise((r) => stuck.close(r))
    const { got, code } = await restartAndReceive(args, tp, dir, 1000)
    expect(code).toBe(0)
    expect(got.length).toBe(1000)
    expect(got.every((b, i) => b.equals(all[i]))).toBe(true)
  })

  it('a damaged spool file is a clear error at the start (exit 2), not a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hep-spool-'))
    const dest = 'tcp://127.0.0.1:9'
    const sd = join(dir, 'spool', dest.replace(/[^A-Za-z0-9.-]+/g, '_'))
    mkdirSync(sd, { recursive: true })
    // one record that claims 1 GB
    writeFileSync(join(sd, '000100000000.spool'), Buffer.from([0x40, 0, 0, 0, 1, 2, 3, 4]))
    const r = await hep(['listen', '--udp', '127.0.0.1:0', '--to', dest, '--spool', join(dir, 'spool')])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /000100000000\.spool at byte 0: a record longer than 16777216 bytes \(the file is damaged; move it away\)/,
    )
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('past --spool-limit packets are dropped and counted; what was kept goes out, oldest first, after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hep-spool-'))
    const tp = await freePort()
    const args = spooling(tp, dir, '--spool-limit', '40k')
    const r1 = start(args)
    const rp = await port(r1, 'udp')
    const all = packets(300) // about 150 bytes each: some 45 kB, over the 40 kB limit
    await sendUdp(rp, all)
    await sleep(300)
    expect(await stop(r1)).toBe(4) // dropped: a partial failure
    const m =
      /relayed to [^:]+:\/\/[^ ]+: 300 packets: 0 sent, 0 failed, (\d+) dropped, (\d+) left in the spool \((\d+) spooled\)/.exec(
        r1.stderr(),
      )
    expect(m).not.toBeNull()
    const [dropped, left, spooled] = [Number(m![1]), Number(m![2]), Number(m![3])]
    expect(dropped).toBeGreaterThan(0)
    expect(left).toBe(spooled)
    expect(dropped + left).toBe(300)
    const { got } = await restartAndReceive(args, tp, dir, left)
    // what was kept is the oldest, in order
    expect(got.length).toBe(left)
    expect(got.every((b, i) => b.equals(all[i]))).toBe(true)
  })
})
