// Live capture: hep capture against sngrep (and, as a third column, the pipeline users built before
// hep capture: tcpdump --immediate-mode -U -w - | hep replay - --topspeed) on the same traffic, in one
// run. A veth pair into a network namespace (needs root); sipp makes UDP calls across it at 100, 500
// and 1,000 calls/s (6 SIP messages each); every capturer sends its HEP across the same veth to its
// own port inside the namespace, and one oracle capture of the veth (dumpcap) records both the SIP
// and the HEP with the kernel's timestamps. Delivered: SIP messages on the wire found in a HEP packet;
// latency: the HEP packet's kernel timestamp minus the SIP packet's.
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decodeDatagram } from '../dist/src/hep/codec.js'
import { PacketDecoder } from '../dist/src/pcap/decoder.js'
import { CaptureReader } from '../dist/src/pcap/read/index.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(ROOT, 'bin/run.js')
const TOOLS = join(ROOT, 'bench/udp-tools.js')
const env = { ...process.env, NODE_ENV: 'production' }
const have = (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const ip = (...a) => spawnSync('ip', a, { encoding: 'utf8' })

const NS = `hepbench${process.pid}`
const HERE = `hb${process.pid % 100000}`
const THERE = `hn${process.pid % 100000}`
const A = '10.231.0.1'
const B = '10.231.0.2'
const PORTS = { hep: 9060, sngrep: 9061, pipe: 9062 }

function setup() {
  ip('netns', 'add', NS)
  ip('link', 'add', HERE, 'type', 'veth', 'peer', 'name', THERE, 'netns', NS)
  ip('addr', 'add', `${A}/24`, 'dev', HERE)
  ip('link', 'set', HERE, 'up')
  ip('-n', NS, 'addr', 'add', `${B}/24`, 'dev', THERE)
  ip('-n', NS, 'link', 'set', THERE, 'up')
  ip('-n', NS, 'link', 'set', 'lo', 'up')
}
function teardown() {
  ip('netns', 'del', NS)
  ip('link', 'del', HERE)
}

function start(cmd, args, opts = {}) {
  const c = spawn(cmd, args, { env, stdio: ['ignore', opts.stdout ?? 'ignore', 'pipe'], ...opts.spawn })
  c.err = ''
  c.stderr.on('data', (d) => (c.err += d))
  c.done = new Promise((r) => c.on('close', r))
  return c
}
async function waitFor(c, re, ms = 10_000) {
  const end = Date.now() + ms
  while (!re.test(c.err)) {
    if (Date.now() > end) throw new Error(`no ${re} from ${c.spawnfile}: ${c.err}`)
    await sleep(20)
  }
}
async function stop(c, sig = 'SIGINT') {
  // a pipeline (sh and its children, their own process group): the whole group
  const kill = (s) => {
    try {
      if (c.group) process.kill(-c.pid, s)
      else c.kill(s)
    } catch {
      // gone
    }
  }
  if (c.exitCode === null && c.signalCode === null) kill(sig)
  const t = setTimeout(() => kill('SIGKILL'), 3000)
  await c.done
  clearTimeout(t)
}

const key = (payload) => createHash('sha1').update(payload).digest('base64')
const pct = (a, p) => (a.length ? a[Math.min(a.length - 1, Math.floor(a.length * p))] : NaN)

/** From the oracle capture: SIP on the wire and the HEP of each capturer, matched by payload. */
async function analyse(file) {
  const dec = new PacketDecoder({})
  const sip = new Map() // payload key -> kernel time (ms)
  const hepTimes = { hep: new Map(), sngrep: new Map(), pipe: new Map() }
  for await (const batch of new CaptureReader(file).batches())
    for (const r of batch) {
      const res = dec.decode(r.linkType, r.data, r.seconds, r.nanos)
      if (res.kind !== 'udp') continue
      const t = r.seconds * 1e3 + r.nanos / 1e6
      const who = Object.entries(PORTS).find(([, p]) => p === res.dstPort)?.[0]
      if (who) {
        try {
          const p = decodeDatagram(res.payload)
          if (p.payload) {
            const k = key(p.payload)
            if (!hepTimes[who].has(k)) hepTimes[who].set(k, t)
          }
        } catch {
          // not HEP
        }
      } else if (res.dstPort === 5060 || res.srcPort === 5060) sip.set(key(res.payload), t)
    }
  const out = {}
  for (const who of Object.keys(PORTS)) {
    const lat = []
    for (const [k, t] of sip) {
      const h = hepTimes[who].get(k)
      if (h !== undefined) lat.push(h - t)
    }
    lat.sort((a, b) => a - b)
    out[who] = { delivered: lat.length, median: pct(lat, 0.5), p99: pct(lat, 0.99) }
  }
  return { sip: sip.size, ...out }
}

const say = (m) => process.env.HEP_BENCH_VERBOSE && process.stderr.write(`live: ${m}\n`)

async function level(dir, cps, seconds) {
  say(`${cps} calls/s`)
  const wire = join(dir, `wire-${cps}.pcapng`)
  // the oracle: SIP and HEP on the veth, kernel timestamps, a big buffer
  const oracle = start('dumpcap', ['-i', HERE, '-f', 'udp', '-B', '64', '-w', wire])
  await waitFor(oracle, /Capturing on/)
  const sinks = Object.values(PORTS).map((p) =>
    start('ip', ['netns', 'exec', NS, process.execPath, TOOLS, 'count-any', B, String(p)], {
      stdout: 'pipe',
    }),
  )
  const ours = start(process.execPath, [
    BIN,
    'capture',
    '-i',
    HERE,
    '--filter',
    'udp port 5060',
    '--to',
    `${B}:${PORTS.hep}`,
    '--buffer',
    '32',
  ])
  await waitFor(ours, /capturing on/)
  const sng = start('sngrep', ['-d', HERE, '-H', `udp:${B}:${PORTS.sngrep}`, '-N', '-q', 'port', '5060'])
  const pipe = start(
    'sh',
    [
      '-c',
      `tcpdump -i ${HERE} --immediate-mode -U -w - -B 32768 'udp port 5060' 2>/dev/null | ${process.execPath} ${BIN} replay - --topspeed --to ${B}:${PORTS.pipe}`,
    ],
    { spawn: { detached: true } },
  )
  pipe.group = true
  const uas = start('ip', ['netns', 'exec', NS, 'sipp', '-sn', 'uas', '-i', B, '-p', '5060', '-nostdin'])
  await sleep(3000) // every capturer up (node starts slowly on a busy machine)
  const uac = start('sipp', [
    '-sn',
    'uac',
    `${B}:5060`,
    '-i',
    A,
    '-p',
    '5061',
    '-r',
    String(cps),
    '-m',
    String(cps * seconds),
    '-l',
    String(cps * 4),
    '-nostdin',
    '-timeout',
    `${seconds + 20}s`,
  ])
  await uac.done
  const rssOf = (pid) => {
    try {
      return Number(/VmRSS:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024
    } catch {
      return NaN
    }
  }
  const rss = rssOf(ours.pid)
  say(`calls made: sipp exit ${uac.exitCode} ${uac.err.slice(-300)}`)
  await sleep(1500)
  await stop(uas, 'SIGTERM')
  await Promise.all([stop(ours), stop(sng, 'SIGTERM'), stop(pipe, 'SIGTERM')])
  await stop(oracle)
  await Promise.all(sinks.map((s) => stop(s, 'SIGTERM')))
  say(`stopped; ours: ${ours.err.slice(-400)}`)
  const num = (re, text) => Number(re.exec(text)?.[1] ?? NaN)
  const notes = {
    sent: num(/sent\s*│\s*(\d+)/, ours.err),
    kernel: num(/kernel drops\s*│\s*(\d+)/, ours.err),
    oracleDrops: num(/\(pcap:(\d+)\//, oracle.err),
    rss,
  }
  return { ...(await analyse(wire)), notes }
}

export async function run() {
  const out = []
  if (process.getuid?.() !== 0) return ['live capture: skipped (the veth and namespace need root)']
  for (const t of ['ip', 'sipp', 'sngrep', 'dumpcap', 'tcpdump'])
    if (!have(t)) return [`live capture: skipped (${t} is not installed)`]
  const dir = mkdtempSync(join(tmpdir(), 'hep-bench-live-'))
  setup()
  try {
    const ms = (x) => (Number.isFinite(x) ? `${x.toFixed(3)} ms` : '-')
    out.push(
      'calls/s  SIP msgs   delivered: hep capture / sngrep / tcpdump|replay   latency median (p99): hep capture | sngrep | tcpdump|replay',
    )
    for (const cps of (process.env.HEP_BENCH_CPS ?? '100,500,1000').split(',').map(Number)) {
      const r = await level(dir, cps, 5)
      const d = (w) => `${r[w].delivered} (${((r[w].delivered / r.sip) * 100).toFixed(1)} %)`
      const l = (w) => `${ms(r[w].median)} (${ms(r[w].p99)})`
      out.push(
        `${String(cps).padStart(7)}  ${String(r.sip).padStart(8)}   ${d('hep')} / ${d('sngrep')} / ${d('pipe')}   ${l('hep')} | ${l('sngrep')} | ${l('pipe')}`,
      )
      out.push(
        `         hep capture's own count: ${r.notes.sent} sent, ${r.notes.kernel} kernel drops, RSS ${r.notes.rss.toFixed(0)} MB at the end; the oracle dropped ${r.notes.oracleDrops}`,
      )
      if (r.hep.median > 0 && r.sngrep.median > 0)
        out.push(
          `         latency ratio sngrep / hep capture: median ${(r.sngrep.median / r.hep.median).toFixed(1)}x, p99 ${(r.sngrep.p99 / r.hep.p99).toFixed(1)}x`,
        )
    }
  } finally {
    teardown()
    rmSync(dir, { recursive: true, force: true })
  }
  return out
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1]))
  console.log((await run()).join('\n'))
