// The soak: is hep capture's memory flat over a long run? Not in `npm run bench` (it takes 10 minutes
// and more): `node bench/run.js soak`, or `node bench/soak.js`.
//
// A veth pair into a network namespace (needs root); sipp calls across it at 200 calls/s for 10
// minutes (HEP_SOAK_CPS, HEP_SOAK_SECONDS), each call with an SDP offer and answer naming its own
// media port (fixtures/sipp/sdp-*.xml, ports from an injection file: 20,000 distinct endpoints a side, so the
// media table fills and its calls expire), and RTCP (an RFC 3550 sender report) sent to the answer's
// RTCP port (RTP port + 1) of each call a second after it starts, so the RTCP is correlated with its
// call. `hep capture -i <veth> --rtcp correlated` sends the HEP to a counting sink on loopback (bench/
// udp-tools.js count-hep; not across the veth, where each capturer would also capture the others' HEP). hep capture's RSS (/proc/PID/status VmRSS) is read
// every 10 s: first, min, max, last, and the slope (least squares, MB per minute) over the run after
// its first minute (warm-up: the JIT, the heap growing to its working size); and what was delivered
// against what was sent. sngrep (-H, the issue's peer; -R: it keeps 20,000 calls, the oldest
// rotated out, without -R it stops capturing at the limit) captures the same traffic alongside
// (HEP_SOAK_PEER=0 leaves it out), and HEP_BENCH_BEFORE=DIR runs another built checkout's hep capture
// alongside too (e.g. main before a change).
import { spawn, spawnSync } from 'node:child_process'
import { get } from 'node:http'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { vethDown, vethUp } from './lib.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TOOLS = join(ROOT, 'bench/udp-tools.js')
const env = { ...process.env, NODE_ENV: 'production' }
const have = (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const say = (m) => process.stderr.write(`soak: ${m}\n`)

const NS = `hepsoak${process.pid}`
const HERE = `hs${process.pid % 100000}`
const THERE = `hz${process.pid % 100000}`
const A = '10.232.0.1'
const B = '10.232.0.2'
/** media ports: 20,000 even ports a side */
const LINES = 20_000
const uacPort = (k) => 10_000 + 2 * (k % LINES)
const uasPort = (k) => 50_000 - 2 * (k % LINES)

const VETH = { ns: NS, here: HERE, there: THERE, a: A, b: B }
const setup = () => vethUp(VETH)
const teardown = () => vethDown(VETH)

function start(cmd, args, opts = {}) {
  const c = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] })
  c.err = ''
  c.out = ''
  c.stderr.on('data', (d) => (c.err = (c.err + d).slice(-64 * 1024)))
  c.stdout.on('data', (d) => (c.out += d))
  c.done = new Promise((r) => c.on('close', r))
  if (opts.name) c.label = opts.name
  return c
}
async function waitFor(c, re, ms = 15_000, which = 'err') {
  const end = Date.now() + ms
  while (!re.test(c[which])) {
    if (Date.now() > end) throw new Error(`no ${re} from ${c.spawnfile}: ${c.err}`)
    await sleep(20)
  }
}
async function stop(c, sig = 'SIGINT') {
  if (c.exitCode === null && c.signalCode === null) c.kill(sig)
  const t = setTimeout(() => c.kill('SIGKILL'), 5000)
  await c.done
  clearTimeout(t)
}
const rssOf = (pid) => {
  try {
    return Number(/VmRSS:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024
  } catch {
    return NaN
  }
}

/** Least squares slope of y over x. */
function slope(xs, ys) {
  const n = xs.length
  if (n < 2) return NaN
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my)
    den += (xs[i] - mx) ** 2
  }
  return num / den
}

export async function run() {
  if (process.getuid?.() !== 0) return ['soak: skipped (the veth and namespace need root)']
  for (const t of ['ip', 'sipp']) if (!have(t)) return [`soak: skipped (${t} is not installed)`]
  const cps = Number(process.env.HEP_SOAK_CPS ?? 200)
  const seconds = Number(process.env.HEP_SOAK_SECONDS ?? 600)
  const withPeer = process.env.HEP_SOAK_PEER !== '0' && have('sngrep')
  const dir = mkdtempSync(join(tmpdir(), 'hep-bench-soak-'))
  const inf = join(dir, 'media.csv')
  writeFileSync(
    inf,
    `SEQUENTIAL\n${Array.from({ length: LINES }, (_, k) => `${uacPort(k)};${uasPort(k)};`).join('\n')}\n`,
  )
  const capturers = [{ name: 'hep capture', bin: join(ROOT, 'bin/run.js'), port: 9060 }]
  if (process.env.HEP_BENCH_BEFORE)
    capturers.push({ name: 'before', bin: join(process.env.HEP_BENCH_BEFORE, 'bin/run.js'), port: 9062 })
  setup()
  const all = []
  const out = []
  try {
    for (const c of capturers) {
      c.sink = start(process.execPath, [TOOLS, 'count-hep', '127.0.0.1', String(c.port)])
      all.push(c.sink)
      await waitFor(c.sink, /ready/, 15_000, 'out')
      c.proc = start(process.execPath, [
        c.bin,
        'capture',
        '-i',
        HERE,
        '--to',
        `127.0.0.1:${c.port}`,
        '--rtcp',
        'correlated',
        '--stats-interval',
        '60',
        '--metrics',
        `127.0.0.1:${c.port + 100}`,
      ])
      c.metrics = c.port + 100
      all.push(c.proc)
      await waitFor(c.proc, /capturing on/)
      c.samples = []
    }
    let peer
    if (withPeer) {
      peer = { name: 'sngrep', port: 9061, samples: [] }
      peer.sink = start(process.execPath, [TOOLS, 'count-hep', '127.0.0.1', '9061'])
      all.push(peer.sink)
      await waitFor(peer.sink, /ready/, 15_000, 'out')
      peer.proc = start('sngrep', ['-d', HERE, '-H', 'udp:127.0.0.1:9061', '-N', '-q', '-R', 'udp'])
      all.push(peer.proc)
    }
    const uas = start('ip', [
      'netns',
      'exec',
      NS,
      'sipp',
      '-sf',
      join(ROOT, 'fixtures/sipp/sdp-uas.xml'),
      '-inf',
      inf,
      '-i',
      B,
      '-p',
      '5060',
      '-nostdin',
      '-mi',
      B,
    ])
    all.push(uas)
    await sleep(2000)
    const total = cps * seconds
    const uac = start('sipp', [
      '-sf',
      join(ROOT, 'fixtures/sipp/sdp-uac.xml'),
      '-inf',
      inf,
      `${B}:5060`,
      '-i',
      A,
      '-mi',
      A,
      '-p',
      '5061',
      '-d',
      '2000',
      '-r',
      String(cps),
      '-m',
      String(total),
      '-l',
      String(cps * 10),
      '-nostdin',
      '-timeout',
      `${seconds + 60}s`,
      '-trace_stat',
      '-stf',
      join(dir, 'uac-stat.csv'),
      '-fd',
      '1',
    ])
    all.push(uac)
    const t0 = Date.now()
    // RTCP: a sender report from the far end to the offer's RTCP port (RTP + 1) of each call about a
    // second after sipp made it (its count of calls made, -trace_stat every second)
    const rtcp = start('ip', ['netns', 'exec', NS, process.execPath, TOOLS, 'rtcp-send'])
    rtcp.stdin = rtcp.stdio[0]
    all.push(rtcp)
    let rtcpSent = 0
    const createdAgo = []
    const tick = setInterval(() => {
      let created = 0
      try {
        const lines = readFileSync(join(dir, 'uac-stat.csv'), 'utf8').trim().split('\n')
        const head = lines[0].split(';')
        created = Number(lines.at(-1).split(';')[head.indexOf('TotalCallCreated')]) || 0
      } catch {
        // not written yet
      }
      createdAgo.push(created)
      const due = createdAgo.length > 1 ? createdAgo[createdAgo.length - 2] : 0
      let text = ''
      for (; rtcpSent < due; rtcpSent++) text += `${A} ${uacPort(rtcpSent) + 1} ${rtcpSent}\n`
      if (text) rtcp.stdin.write(text)
    }, 1000)
    // the process's heap (its metrics), beside its RSS
    const heapOf = (port) =>
      new Promise((done) => {
        get(`http://127.0.0.1:${port}/metrics`, (res) => {
          let text = ''
          res.on('data', (d) => (text += d))
          res.on('end', () =>
            done(Number(/^hep_process_nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1]) / 2 ** 20),
          )
        }).on('error', () => done(NaN))
      })
    const everyMs = 10_000
    const sampler = setInterval(async () => {
      const t = (Date.now() - t0) / 1000
      for (const c of [...capturers, ...(peer ? [peer] : [])])
        c.samples.push([t, rssOf(c.proc.pid), c.metrics ? await heapOf(c.metrics) : NaN])
      const s = capturers[0].samples.at(-1)
      say(`${t.toFixed(0)} s: ${capturers[0].name} RSS ${s[1].toFixed(1)} MB, RTCP sent ${rtcpSent}`)
    }, everyMs)
    await uac.done
    clearInterval(tick)
    clearInterval(sampler)
    rtcp.stdin.end()
    await rtcp.done
    const stat = readFileSync(join(dir, 'uac-stat.csv'), 'utf8').trim().split('\n')
    const head = stat[0].split(';')
    const last = stat.at(-1).split(';')
    const field = (name) => Number(last[head.indexOf(name)])
    const made = field('SuccessfulCall(C)')
    const failedCalls = field('FailedCall(C)')
    await sleep(2000)
    await stop(uas, 'SIGTERM')
    for (const c of capturers) await stop(c.proc)
    if (peer) await stop(peer.proc, 'SIGTERM')
    await sleep(500)
    for (const c of [...capturers, ...(peer ? [peer] : [])]) {
      await stop(c.sink, 'SIGTERM')
      c.got = JSON.parse(c.sink.out.trim().split('\n').at(-1))
    }
    // the SIP on the wire: 6 messages a call (INVITE, 180, 200, ACK, BYE, 200) plus retransmissions
    out.push(
      `soak: ${cps} calls/s for ${seconds} s; sipp: ${made} calls completed, ${failedCalls} failed (${made * 6} SIP messages in the completed calls); ${rtcpSent} RTCP reports sent`,
    )
    const mb = (x) => `${x.toFixed(1)} MB`
    for (const c of [...capturers, ...(peer ? [peer] : [])]) {
      const ys = c.samples.map((s) => s[1])
      const warm = c.samples.filter((s) => s[0] >= 60)
      const perMin = slope(
        warm.map((s) => s[0] / 60),
        warm.map((s) => s[1]),
      )
      out.push(
        `${c.name.padEnd(12)} RSS first ${mb(ys[0])}, min ${mb(Math.min(...ys))}, max ${mb(Math.max(...ys))}, last ${mb(ys.at(-1))}; slope after the first minute ${perMin.toFixed(3)} MB/min (${c.samples.length} samples, every ${everyMs / 1000} s)`,
      )
      out.push(
        `${''.padEnd(12)} delivered: ${c.got.sip} SIP (${((c.got.sip / (made * 6)) * 100).toFixed(2)} % of the completed calls' messages), ${c.got.rtcp} RTCP (${c.got.rtcpCid} with a correlation id) of ${rtcpSent} sent`,
      )
      if (c.bin) {
        const num = (re) => Number(re.exec(c.proc.err)?.[1] ?? NaN)
        out.push(
          `${''.padEnd(12)} its summary: captured ${num(/frames captured\s*│\s*(\d+)/)}, SIP ${num(/SIP messages\s*│\s*(\d+)/)}, RTCP ${num(/RTCP reports\s*│\s*(\d+)/)} (of ${num(/of (\d+) RTCP packets found/)} found; ${num(/RTCP uncorrelated\s*│\s*(\d+)/) || 0} uncorrelated), sent ${num(/sent\s*│\s*(\d+)/)}, failed ${num(/failed\s*│\s*(\d+)/)}, dropped ${num(/dropped\s*│\s*(\d+)/)}, kernel drops ${num(/kernel drops\s*│\s*(\d+)/)}`,
        )
        const heap = c.samples.filter((s) => s[0] >= 60 && Number.isFinite(s[2]))
        if (heap.length > 1)
          out.push(
            `${''.padEnd(12)} heap used (its metrics) after the first minute: min ${mb(Math.min(...heap.map((s) => s[2])))}, max ${mb(Math.max(...heap.map((s) => s[2])))}, slope ${slope(
              heap.map((s) => s[0] / 60),
              heap.map((s) => s[2]),
            ).toFixed(3)} MB/min`,
          )
        out.push(
          `${''.padEnd(12)} samples (s:RSS/heap MB): ${c.samples.map((s) => `${s[0].toFixed(0)}:${s[1].toFixed(0)}/${s[2].toFixed(0)}`).join(' ')}`,
        )
      }
    }
    if (process.env.HEP_BENCH_VERBOSE)
      for (const c of capturers) say(`${c.name} stderr: ${c.proc.err.slice(-3000)}`)
  } finally {
    for (const c of all) await stop(c, 'SIGKILL').catch(() => {})
    teardown()
    rmSync(dir, { recursive: true, force: true })
  }
  return out
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1]))
  console.log((await run()).join('\n'))
