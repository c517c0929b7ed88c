// Replay benchmarks. Timing measured from outside the tool: a capture of 2,000 SIP messages with
// irregular gaps of 0.1-20 ms is replayed to a local port, tcpdump records the HEP packets on
// loopback, and each arrival (relative to the first) is compared with the original schedule; the
// same for tcpreplay on the same schedule. Then drift over 60 s, --topspeed against a plain Node
// UDP sender of the same bytes, peak RSS replaying ~1 GB, and the CPU an idle 30 s gap costs.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CaptureReader } from '../dist/src/pcap/read/index.js'
import { decode } from '../dist/src/index.js'
import { fmt, runMeasured } from './lib.js'
import { generateIrregular, generatePcap } from './gen.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(ROOT, 'bin/run.js')
const TOOLS = join(ROOT, 'bench/udp-tools.js')
const SRC = join(ROOT, 'fixtures/captures/sip-udp.pcap')
const env = { ...process.env, NODE_ENV: 'production' }
const have = (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const freePort = () => 30000 + Math.floor(Math.random() * 20000)

function counter(port) {
  const c = spawn(process.execPath, [TOOLS, 'count', String(port)], {
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  return new Promise((resolve) => c.stdout.once('data', () => resolve(c)))
}

/** Records `filter` on lo with tcpdump (ns timestamps) while `fn` runs; returns arrival times (s). */
async function recordArrivals(dir, filter, fn) {
  const file = join(dir, `arrivals-${Date.now()}.pcap`)
  const td = spawn('tcpdump', ['-i', 'lo', '-U', '-n', '--time-stamp-precision=nano', '-w', file, filter], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  await new Promise((resolve) => {
    let err = ''
    td.stderr.on('data', (d) => {
      err += d
      if (err.includes('listening on')) resolve()
    })
    setTimeout(resolve, 3000)
  })
  await sleep(1000) // "listening on" comes a little before the capture really runs
  await fn()
  await sleep(500)
  td.kill('SIGINT')
  await new Promise((r) => td.on('close', r))
  const times = []
  for await (const b of new CaptureReader(file).batches()) {
    for (const r of b) {
      // a HEP packet carries the capture time of its message: that says which schedule entry it is
      let sched
      try {
        const p = decode(r.data.subarray(42))
        if (p.timeSeconds !== undefined) sched = p.timeSeconds - 1_700_000_000 + p.timeUseconds / 1e6
      } catch {
        // raw SIP (tcpreplay): matched by order
      }
      times.push({ at: r.seconds + r.nanos / 1e9, sched })
    }
  }
  rmSync(file, { force: true })
  return times
}

/**
 * Error of each arrival against the schedule, the schedule anchored at the first arrival (`first`) or
 * at the offset that fits best, the median of (arrival - schedule) (`fit`): the second leaves out a
 * constant start-up delay of the first packet alone.
 */
function compare(arrivals, schedule, anchor = 'first') {
  const n = Math.min(arrivals.length, schedule.length)
  const errs = []
  const s = (i) => arrivals[i].sched ?? schedule[i]
  for (let i = 0; i < n; i++) errs.push((arrivals[i].at - arrivals[0].at - (s(i) - s(0))) * 1000)
  if (anchor === 'fit') {
    const m = [...errs].sort((a, b) => a - b)[Math.floor(n / 2)]
    for (let i = 0; i < n; i++) errs[i] -= m
  }
  const abs = errs.map(Math.abs).sort((a, b) => a - b)
  const q = (p) => abs[Math.min(abs.length - 1, Math.floor(p * abs.length))]
  const k = Math.max(1, Math.floor(n / 20))
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
  const drift = mean(errs.slice(n - k)) - mean(errs.slice(0, k))
  return { n, median: q(0.5), p99: q(0.99), max: abs[abs.length - 1], drift }
}

const show = (label, r, expected) =>
  `${label.padEnd(26)} ${String(r.n).padStart(5)}/${expected} packets  error median ${r.median.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms, max ${r.max.toFixed(3)} ms, drift ${r.drift.toFixed(3)} ms`

export async function run() {
  const out = []
  if (!have('tcpdump')) return ['tcpdump not installed: replay timing not measured']
  const dir = mkdtempSync(join(tmpdir(), 'hep-replay-bench-'))
  try {
    const cap = join(dir, 'irregular.pcap')
    const schedule = generateIrregular(SRC, cap, 2000, 0.1, 20)
    const span = schedule[schedule.length - 1]
    out.push(`schedule: 2000 SIP messages, gaps 0.1-20 ms (seeded), ${span.toFixed(1)} s`)
    const port = freePort()
    const sink = await counter(port)
    const ours = await recordArrivals(dir, `udp and dst port ${port}`, async () => {
      const r = await runMeasured(process.execPath, [BIN, 'replay', cap, '--to', `127.0.0.1:${port}`, '-q'])
      if (r.code !== 0) throw new Error(`hep replay failed: ${r.stderr}`)
    })
    const target = (r) =>
      `  (target: median ≤ 0.2, p99 ≤ 2: ${r.median <= 0.2 && r.p99 <= 2 ? 'met' : 'NOT met'})`
    const o = compare(ours, schedule)
    out.push(show('hep replay, from 1st', o, 2000) + target(o))
    const of = compare(ours, schedule, 'fit')
    out.push(show('hep replay, best-fit start', of, 2000) + target(of))
    if (have('tcpreplay')) {
      const t = await recordArrivals(dir, 'udp and (port 5060 or port 5070)', async () => {
        const r = spawnSync('tcpreplay', ['-q', '-i', 'lo', cap], { encoding: 'utf8' })
        if (r.status !== 0) throw new Error(`tcpreplay failed: ${r.stderr}`)
      })
      out.push(show('tcpreplay 4, from 1st', compare(t, schedule), 2000))
      out.push(show('tcpreplay 4, best-fit start', compare(t, schedule, 'fit'), 2000))
    } else out.push('tcpreplay not installed: not measured')
    // drift over 60 s
    const cap60 = join(dir, 'sixty.pcap')
    const s60 = generateIrregular(SRC, cap60, 6000, 0.1, 20, 7)
    const a60 = await recordArrivals(dir, `udp and dst port ${port}`, async () => {
      await runMeasured(process.execPath, [BIN, 'replay', cap60, '--to', `127.0.0.1:${port}`, '-q'])
    })
    const r60 = compare(a60, s60, 'fit')
    out.push(
      show(`hep replay, ${s60[s60.length - 1].toFixed(0)} s capture`, r60, 6000) +
        `  (target: no drift: ${Math.abs(r60.drift) < 1 ? 'met' : 'NOT met'})`,
    )
    // topspeed against a plain sender of the same bytes
    const big = join(dir, 'big.pcap')
    const g = generatePcap(SRC, big, 40 * 1024 * 1024)
    const hex = join(dir, 'big.hex')
    spawnSync(process.execPath, [BIN, 'convert', big, hex, '-q'], { env })
    const top = await runMeasured(
      process.execPath,
      [BIN, 'replay', big, '--to', `127.0.0.1:${port}`, '--topspeed', '--json'],
      {
        stdout: 'pipe',
      },
    )
    const achieved = JSON.parse(top.stdout.trim().split('\n').pop()).rate
    const wholeRun = (g.records / top.ms) * 1000
    const plain = spawnSync(process.execPath, [TOOLS, 'sendall', String(port), hex], {
      encoding: 'utf8',
      env,
    })
    const [cnt, ms] = plain.stdout.trim().split(' ').map(Number)
    const plainRate = (cnt / ms) * 1000
    out.push(
      `--topspeed: ${fmt(achieved)} packets/s from first to last packet (${fmt(wholeRun)}/s over the whole run with start-up and capture reading; ${g.records} packets); ` +
        `plain Node sender of the same bytes ${fmt(plainRate)}/s; ours = ${((achieved / plainRate) * 100).toFixed(0)} % (target ≥ 50 %: ${achieved / plainRate >= 0.5 ? 'met' : 'NOT met'})`,
    )
    rmSync(big)
    rmSync(hex)
    // peak RSS replaying ~1 GB
    const huge = join(dir, 'huge.pcap')
    const h = generatePcap(SRC, huge, 1024 * 1024 * 1024)
    const rh = await runMeasured(process.execPath, [
      BIN,
      'replay',
      huge,
      '--to',
      `127.0.0.1:${port}`,
      '--topspeed',
      '-q',
    ])
    out.push(
      `replay ${(h.bytes / 1e9).toFixed(2)} GB (${h.records} packets) --topspeed: ${(rh.ms / 1000).toFixed(1)} s, peak RSS ${rh.peakMB.toFixed(0)} MB (target < 150 MB: ${rh.peakMB < 150 ? 'met' : 'NOT met'})`,
    )
    rmSync(huge)
    // CPU of an idle 30 s gap: two messages 30 s apart, against two 1 ms apart
    const gap = join(dir, 'gap.pcap')
    generateIrregular(SRC, gap, 2, 30000, 30000)
    const near = join(dir, 'near.pcap')
    generateIrregular(SRC, near, 2, 1, 1)
    const rg = await runMeasured(process.execPath, [BIN, 'replay', gap, '--to', `127.0.0.1:${port}`, '-q'])
    const rn = await runMeasured(process.execPath, [BIN, 'replay', near, '--to', `127.0.0.1:${port}`, '-q'])
    out.push(
      `idle 30 s gap: ${(rg.ms / 1000).toFixed(1)} s wall, CPU ${rg.cpuS.toFixed(2)} s vs ${rn.cpuS.toFixed(2)} s for the same replay without the gap (extra ${(rg.cpuS - rn.cpuS).toFixed(2)} s)`,
    )
    sink.kill('SIGTERM')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) console.log((await run()).join('\n'))
