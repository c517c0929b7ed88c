// node bench/codec-apart.js DIR[,DIR…] [ROUNDS]: HEP3 decode in ns per packet, each checkout in processes
// of its own (no JIT state shared between checkouts, as bench/codec.js's in-process rows share it),
// interleaved rounds; prints best and median per checkout and each one's ratio to this checkout.
// The packet is bench/codec.js's INVITE. Used for issue 11's "no figure more than 5 % worse" against
// b16fe94 (e.g. `git worktree add /tmp/b16 b16fe94`, npm ci, npm run build there).
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const [, self, dirs = '', roundsArg = '15'] = process.argv

if (process.env.HEP_APART_CHILD) {
  // one process: 7 timed loops of 300,000 decodes after 2 warm-up ones; the best in ns per packet
  const m = await import(`${process.env.HEP_APART_CHILD}/dist/src/index.js`)
  const pkt = Buffer.from(process.env.HEP_APART_PACKET, 'hex')
  const opts = m.Ipv4Texts ? { addresses: new m.Ipv4Texts() } : undefined
  let best = Infinity
  let sink = 0
  for (let r = 0; r < 9; r++) {
    const t = process.hrtime.bigint()
    for (let i = 0; i < 300_000; i++) sink += m.decode(pkt, 0, pkt.length, opts).srcPort
    if (r > 1) best = Math.min(best, Number(process.hrtime.bigint() - t) / 300_000)
  }
  console.log(sink > 0 ? best.toFixed(1) : 'NaN')
  process.exit(0)
}

// the INVITE of bench/codec.js, encoded by this checkout
const src = readFileSync(new URL('./codec.js', import.meta.url), 'utf8')
const { encode } = await import(`${ROOT}/dist/src/index.js`)
const body = src.slice(src.indexOf('const sdp = ['), src.indexOf('const wire = encode(ours)'))
const packet = Buffer.from(new Function('encode', `${body}return encode(ours)`)(encode)).toString('hex')

const checkouts = [ROOT.replace(/\/$/, ''), ...dirs.split(',').filter(Boolean)]
const ns = Object.fromEntries(checkouts.map((d) => [d, []]))
for (let r = 0; r < Number(roundsArg); r++)
  for (const d of checkouts) {
    const out = spawnSync(process.execPath, [self], {
      env: { ...process.env, HEP_APART_CHILD: d, HEP_APART_PACKET: packet },
      encoding: 'utf8',
    })
    if (out.status !== 0) throw new Error(`${d}: ${out.stderr}`)
    ns[d].push(Number(out.stdout))
  }
const stat = (v) => {
  const s = [...v].sort((a, b) => a - b)
  return { best: s[0], median: s[s.length >> 1] }
}
const mine = stat(ns[checkouts[0]])
const pct = (r) => `${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(1)} %`
for (const d of checkouts) {
  const s = stat(ns[d])
  const vs =
    d === checkouts[0]
      ? ''
      : `; this checkout's time against it: ${pct(mine.best / s.best)} (best), ${pct(mine.median / s.median)} (median)`
  console.log(
    `decode ns/packet, ${roundsArg} processes each, ${d}: best ${s.best.toFixed(1)}, median ${s.median.toFixed(1)}${vs}`,
  )
}
