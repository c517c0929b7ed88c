// Network benchmarks: hep listen against a plain Node UDP socket that only counts; no loss at
// 50,000 packets/s for 10 s; TCP frames/s; hep send against a plain Node UDP sender. Loopback only.
import {
  closeSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fmt, freePort, proc } from './lib.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(ROOT, 'bin/run.js')
const TOOLS = join(ROOT, 'bench/udp-tools.js')
const HEX = join(ROOT, 'fixtures/hep/hep-v3.hex')

/** The {"summary":true,…} last line of a JSON lines file (read from its end only). */
function summaryOfFile(path) {
  const fd = openSync(path, 'r')
  try {
    const size = fstatSync(fd).size
    const tail = Buffer.alloc(Math.min(size, 65536))
    readSync(fd, tail, 0, tail.length, size - tail.length)
    const last = tail.toString('utf8').trimEnd().split('\n').pop() ?? ''
    const j = JSON.parse(last)
    if (j.summary !== true) throw new Error(`${path}: no summary line at its end`)
    return j
  } finally {
    closeSync(fd)
  }
}

/** Offers `pps` (0: flat out) for `seconds` to a receiver; returns [sent, received]. */
export async function offer(receiver, pps, seconds) {
  const port = freePort()
  let r
  let out
  let fd
  if (receiver === 'plain') {
    r = proc([TOOLS, 'count', String(port)])
    await r.waitFor(/ready/, 'stdout')
  } else {
    // JSON lines into a file; its last line is listen's {"summary":true,…} with the count
    out = join(tmpdir(), `hep-bench-listen-${port}.jsonl`)
    fd = openSync(out, 'w')
    r = proc(
      [BIN, 'listen', '--udp', `127.0.0.1:${port}`, '--json', '--recv-buffer', String(8 * 1024 * 1024)],
      { stdout: fd },
    )
    await r.waitFor(/listening on udp/)
  }
  const b = proc([TOOLS, 'blast', String(port), HEX, String(pps), String(seconds)])
  await b.exited
  const sent = Number(b.out().trim())
  await new Promise((res) => setTimeout(res, 500))
  r.child.kill(receiver === 'plain' ? 'SIGTERM' : 'SIGINT')
  await r.exited
  let received
  if (receiver === 'plain') received = Number(r.out().trim().split('\n').pop()?.split(' ')[0])
  else {
    closeSync(fd)
    received = summaryOfFile(out).received
    rmSync(out, { force: true })
  }
  return { sent, received }
}

export async function run() {
  const out = []
  // 1. flat out for 3 s: what each receiver takes in
  const secs = 3
  const plain = await offer('plain', 0, secs)
  const ours = await offer('hep', 0, secs)
  const pr = plain.received / secs
  const or = ours.received / secs
  out.push(
    `listen UDP -> JSON lines to a file: ${fmt(or)} packets/s (offered ${fmt(ours.sent / secs)}/s); ` +
      `plain counting socket ${fmt(pr)}/s (offered ${fmt(plain.sent / secs)}/s); ours = ${((or / pr) * 100).toFixed(0)} % (target ≥ 60 %: ${or / pr >= 0.6 ? 'met' : 'NOT met'})`,
  )
  // 2. 50k/s for 10 s: no loss
  const paced = await offer('hep', 50000, 10)
  out.push(
    `listen at 50,000 packets/s offered for 10 s: sent ${paced.sent}, received ${paced.received}, lost ${paced.sent - paced.received} (target: no loss: ${paced.sent === paced.received ? 'met' : 'NOT met'})`,
  )
  // 3. TCP frames/s
  const n = 200000
  const port = freePort()
  const l = proc([BIN, 'listen', '--tcp', `127.0.0.1:${port}`, '--json', '--count', String(n)], {
    stdout: 'ignore',
  })
  await l.waitFor(/listening on tcp/)
  const t0 = process.hrtime.bigint()
  proc([TOOLS, 'tcp', String(port), HEX, String(n)])
  await l.exited
  const tcpRate = (n / Number(process.hrtime.bigint() - t0)) * 1e9
  out.push(
    `listen TCP -> JSON lines to /dev/null: ${fmt(tcpRate)} HEP3 frames/s (${n} frames, one connection)`,
  )
  // 4. send rate: hep send vs plain sender, same bytes, to a counting socket
  const dir = mkdtempSync(join(tmpdir(), 'hep-net-'))
  try {
    const lines = readFileSync(HEX, 'utf8').trim().split('\n')
    const big = join(dir, 'many.hex')
    writeFileSync(
      big,
      Array.from({ length: Math.ceil(100000 / lines.length) }, () => lines.join('\n')).join('\n') + '\n',
    )
    const count = Math.ceil(100000 / lines.length) * lines.length
    const p2 = freePort()
    const sink = proc([TOOLS, 'count', String(p2)])
    await sink.waitFor(/ready/, 'stdout')
    let t = process.hrtime.bigint()
    const s = proc([BIN, 'send', big, '--to', `127.0.0.1:${p2}`, '-q'])
    await s.exited
    const ourSend = (count / Number(process.hrtime.bigint() - t)) * 1e9
    t = process.hrtime.bigint()
    const b = proc([TOOLS, 'blast', String(p2), HEX, '0', '1'])
    await b.exited
    const plainSend = Number(b.out().trim()) / (Number(process.hrtime.bigint() - t) / 1e9)
    sink.child.kill('SIGTERM')
    await sink.exited
    out.push(
      `send UDP: hep send ${fmt(ourSend)} packets/s (${count} packets from a hex file, whole run); plain Node sender ${fmt(plainSend)} packets/s; ratio ${(ourSend / plainSend).toFixed(2)}`,
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) console.log((await run()).join('\n'))
