/**
 * `hep capture` keeps going through what a long run meets, on a veth pair into a namespace the test
 * makes, with sipp calls in batches (each batch its own Call-ID prefix, sipp -cid_str) and `hep
 * listen` inside the namespace: the interface going down and up (the engine keeps capturing), the
 * interface deleted and made again (the engine stops, is reported and started again), and the
 * destination killed and started again, over UDP and over TCP (the sender queues and reconnects).
 * After each, the next batch arrives whole, and the summary's counts add up.
 */
import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN } from '../helpers/cli.js'
import { jsonLines, Peers, sleep, type Peer } from '../interop/peers.js'
import { inNs, makeNetns, netnsProblem, type Netns } from './netns.js'

const problem =
  netnsProblem() ??
  (spawnSync('sh', ['-c', 'command -v sipp && command -v tcpdump']).status !== 0
    ? 'sipp and tcpdump are needed'
    : undefined)
if (problem) console.warn(`skipping hep capture outage tests: ${problem}`)

const peers = new Peers()
let net: Netns | undefined
beforeAll(() => {
  if (!problem) net = makeNetns(3)
})
afterAll(async () => {
  await peers.stopAll()
  net?.remove()
})

const SIP_PORT = 5080
let hepPort = 9070
const CALLS = 5

/** Distinct SIP messages (first line, Call-ID, CSeq) hep listen printed, of the batch `tag`. */
function received(listen: Peer, tag: string): Set<string> {
  const keys = new Set<string>()
  for (const p of jsonLines<{ payload?: string }>(listen.stdout())) {
    const m = p.payload ?? ''
    const cid = /\r\nCall-ID:\s*(\S+)/i.exec(m)?.[1] ?? ''
    if (!cid.startsWith(`${tag}-`)) continue
    keys.add(`${m.slice(0, m.indexOf('\r'))} ${cid} ${/\r\nCSeq:\s*([^\r]+)/i.exec(m)?.[1]}`)
  }
  return keys
}

async function until(what: string, cond: () => boolean, ms: number, ...logs: Peer[]) {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end)
      throw new Error(`${what}: not after ${ms} ms\n${logs.map((l) => l.tail()).join('\n')}`)
    await sleep(50)
  }
}

function startListen(n: Netns, name: string, transport: 'udp' | 'tcp', port: number): Peer {
  const [cmd, args] = inNs(n, process.execPath, [
    BIN,
    'listen',
    `--${transport}`,
    `0.0.0.0:${port}`,
    '--json',
  ])
  return peers.start(name, cmd, args, { env: { NODE_ENV: 'production' } })
}

/** A batch of CALLS sipp calls (6 SIP messages each) whose Call-IDs start with `tag`-; sipp exits 0. */
async function batch(n: Netns, tag: string) {
  const uac = peers.start(`sipp uac ${tag}`, 'sipp', [
    '-sn',
    'uac',
    `${n.thereIp}:${SIP_PORT}`,
    '-i',
    n.hereIp,
    '-p',
    String(SIP_PORT + 1),
    '-m',
    String(CALLS),
    '-r',
    '20',
    '-cid_str',
    `${tag}-%u@%s`,
    '-nostdin',
    '-timeout',
    '15s',
  ])
  expect(await uac.wait(20_000), uac.tail()).toBe(0)
}

function uas(n: Netns): Peer {
  const [cmd, args] = inNs(n, 'sipp', ['-sn', 'uas', '-i', n.thereIp, '-p', String(SIP_PORT), '-nostdin'])
  return peers.start('sipp uas', cmd, args, { limitSec: 60 })
}

function capture(n: Netns, to: string): Peer {
  return peers.start(
    'hep capture',
    process.execPath,
    [
      BIN,
      'capture',
      '-i',
      n.here,
      '--filter',
      `port ${SIP_PORT} or port ${SIP_PORT + 1}`,
      '--to',
      to,
      '--stats-interval',
      '1',
    ],
    { env: { NODE_ENV: 'production' }, foreground: true, limitSec: 60 },
  )
}

/** The summary's counts add up: every SIP message found was sent, failed or dropped. */
function expectCountsAddUp(c: Peer, sipAtLeast: number) {
  const num = (label: string) => Number(new RegExp(`${label}\\s*│\\s*(\\d+)`).exec(c.stderr())?.[1])
  const sip = num('SIP messages')
  expect(sip, c.tail()).toBeGreaterThanOrEqual(sipAtLeast)
  expect(num('sent') + num('failed') + num('dropped'), c.tail()).toBe(sip + num('RTCP reports'))
}

/** Until both ends of the veth are up with carrier, and the route to the inside is back. */
async function reachable(n: Netns) {
  const up = (args: string[]) => /LOWER_UP/.test(spawnSync('ip', args, { encoding: 'utf8' }).stdout)
  await until(
    'the veth is up again',
    () =>
      up(['link', 'show', 'dev', n.here]) &&
      up(['-n', n.ns, 'link', 'show', 'dev', n.there]) &&
      spawnSync('ip', ['route', 'get', n.thereIp], { encoding: 'utf8' }).stdout.includes(n.here),
    10_000,
  )
}

describe.skipIf(Boolean(problem))('hep capture through outages', { timeout: 60_000 }, () => {
  it('the interface goes down and up, then is deleted and made again: capture keeps going, reports it, delivers every call after', async () => {
    const n = net as Netns
    const port = hepPort++
    const listen = startListen(n, 'hep listen', 'udp', port)
    await listen.waitLog(/listening on udp/)
    const u = uas(n)
    const cap = capture(n, `${n.thereIp}:${port}`)
    await cap.waitLog(/capturing on/)
    await batch(n, 'a')
    await until('batch a arrives', () => received(listen, 'a').size >= CALLS * 6, 10_000, cap, listen)

    spawnSync('ip', ['link', 'set', n.here, 'down'])
    const ticks = (cap.stderr().match(/^capture: \d+ s/gm) ?? []).length
    // still reporting while the interface is down
    await until(
      'a stats line while down',
      () => (cap.stderr().match(/^capture: \d+ s/gm) ?? []).length > ticks,
      5000,
      cap,
    )
    spawnSync('ip', ['link', 'set', n.here, 'up'])
    await reachable(n)
    await batch(n, 'b')
    await until(
      'batch b arrives after down and up',
      () => received(listen, 'b').size >= CALLS * 6,
      10_000,
      cap,
      listen,
    )
    expect(cap.running(), cap.tail()).toBe(true)
    // down and up needs no restart: tcpdump keeps its socket
    expect(cap.stderr()).not.toMatch(/stopped:/)

    spawnSync('ip', ['link', 'del', n.here])
    await cap.waitLog(/tcpdump on \S+ stopped: .*starting it again in 1 s/, 10_000, 'stderr')
    n.relink()
    await cap.waitLog(/capturing again on/, 15_000, 'stderr')
    await reachable(n)
    await batch(n, 'c')
    await until(
      'batch c arrives after the interface came back',
      () => received(listen, 'c').size >= CALLS * 6,
      10_000,
      cap,
      listen,
    )

    expect(await cap.stop('SIGINT'), cap.tail()).toBe(0)
    await u.stop()
    await listen.stop('SIGINT')
    expect(cap.stderr()).toMatch(/engine restarts\s*│\s*1\s/)
    expectCountsAddUp(cap, CALLS * 6 * 3)
  })

  for (const transport of ['tcp', 'udp'] as const)
    it(`the destination (${transport}) killed and started again: the sender ${transport === 'tcp' ? 'queues and reconnects: every call arrives' : 'carries on: every call after arrives'}; counts add up`, async () => {
      const n = net as Netns
      const port = hepPort++
      const first = startListen(n, `hep listen ${transport} 1`, transport, port)
      await first.waitLog(new RegExp(`listening on ${transport}`))
      const u = uas(n)
      const to = transport === 'tcp' ? `tcp://${n.thereIp}:${port}` : `${n.thereIp}:${port}`
      const cap = capture(n, to)
      await cap.waitLog(/capturing on/)
      await batch(n, `${transport}1`)
      await until(
        'batch 1 arrives',
        () => received(first, `${transport}1`).size >= CALLS * 6,
        10_000,
        cap,
        first,
      )
      await first.stop('SIGKILL')
      if (transport === 'tcp')
        await cap.waitLog(/:\d+: .*; reconnecting in \d+ ms, queueing meanwhile/, 10_000, 'stderr')
      // calls while nobody listens
      await batch(n, `${transport}2`)
      const second = startListen(n, `hep listen ${transport} 2`, transport, port)
      await second.waitLog(new RegExp(`listening on ${transport}`))
      await batch(n, `${transport}3`)
      await until(
        'batch 3 arrives at the new listener',
        () => received(second, `${transport}3`).size >= CALLS * 6,
        15_000,
        cap,
        second,
      )
      // TCP: what was captured while the destination was away was queued, and sent once it came back
      if (transport === 'tcp') {
        expect(received(second, 'tcp2').size, cap.tail()).toBe(CALLS * 6)
        expect(cap.stderr()).toMatch(/connected again/)
      }
      expect(cap.running(), cap.tail()).toBe(true)
      expect(await cap.stop('SIGINT'), cap.tail()).toBeLessThanOrEqual(1) // 1: some failed (UDP refused)
      await u.stop()
      await second.stop('SIGINT')
      expectCountsAddUp(cap, CALLS * 6 * 3)
      if (transport === 'tcp') expect(cap.stderr()).toMatch(/dropped\s*│\s*0\s/)
    })
})
