import { spawn, spawnSync } from 'node:child_process'

// Small helpers for side-by-side benchmarks: run each contender in alternation, keep the best rate.
export function rate(fn, minMs = 300) {
  let n = 0
  const start = process.hrtime.bigint()
  let elapsed = 0
  let batch = 1000
  while (elapsed < minMs) {
    for (let i = 0; i < batch; i++) fn()
    n += batch
    elapsed = Number(process.hrtime.bigint() - start) / 1e6
  }
  return (n / elapsed) * 1000
}

/** Runs the contenders round-robin `rounds` times; returns the best rate of each (ops/s). */
export function compare(contenders, rounds = 5, minMs = 300) {
  const best = Object.fromEntries(Object.keys(contenders).map((k) => [k, 0]))
  for (let r = 0; r < rounds; r++) {
    for (const [k, fn] of Object.entries(contenders)) best[k] = Math.max(best[k], rate(fn, minMs))
  }
  return best
}

export const fmt = (n) =>
  n >= 1e6 ? (n / 1e6).toFixed(2) + 'M' : n >= 1e3 ? (n / 1e3).toFixed(1) + 'k' : n.toFixed(0)

export function line(label, ours, theirs, target) {
  const ratio = ours / theirs
  const ok =
    target === undefined
      ? ''
      : ratio >= target
        ? `  (target ≥ ${target}×: met)`
        : `  (target ≥ ${target}×: NOT met)`
  return `${label.padEnd(34)} ours ${fmt(ours).padStart(8)}/s   peer ${fmt(theirs).padStart(8)}/s   ratio ${ratio.toFixed(2)}×${ok}`
}

/** Runs a command, samples its peak RSS from /proc; returns wall ms and peak MB. */
export function runMeasured(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint()
    const child = spawn(cmd, args, {
      stdio: ['ignore', opts.stdout ?? 'ignore', 'pipe'],
      env: { ...process.env, NODE_ENV: 'production' },
    })
    let out = ''
    child.stdout?.on('data', (d) => (out += d))
    let peak = 0
    let cpuS = 0
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    const sample = () => {
      try {
        const s = spawnSync('cat', [`/proc/${child.pid}/status`], { encoding: 'utf8' }).stdout
        const m = /VmHWM:\s+(\d+) kB/.exec(s)
        if (m) peak = Math.max(peak, Number(m[1]) / 1024)
        const st = spawnSync('cat', [`/proc/${child.pid}/stat`], { encoding: 'utf8' })
          .stdout.split(') ')[1]
          ?.split(' ')
        if (st) cpuS = (Number(st[11]) + Number(st[12])) / 100
      } catch {
        /* gone */
      }
    }
    const iv = setInterval(sample, 100)
    child.on('error', reject)
    child.on('close', (code) => {
      clearInterval(iv)
      resolve({
        ms: Number(process.hrtime.bigint() - t) / 1e6,
        peakMB: peak,
        cpuS,
        code,
        stderr: err,
        stdout: out,
      })
    })
  })
}

/**
 * A helper process of a network bench (node ARGS, NODE_ENV=production): its output collected, `waitFor`
 * a pattern on stderr (or stdout), `exited` with its code.
 */
export function proc(args, opts = {}) {
  const env = { ...process.env, NODE_ENV: 'production' }
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout?.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  const exited = new Promise((resolve) => child.on('close', (code) => resolve(code)))
  const waitFor = (re, which = 'stderr') =>
    new Promise((resolve, reject) => {
      const t0 = Date.now()
      const iv = setInterval(() => {
        const m = (which === 'stderr' ? err : out).match(re)
        if (m) {
          clearInterval(iv)
          resolve(m)
        } else if (Date.now() - t0 > 15000) {
          clearInterval(iv)
          reject(new Error(`timeout waiting for ${re}: ${err}`))
        }
      }, 10)
    })
  return { child, exited, waitFor, out: () => out, err: () => err }
}

/** A port to try (the benches bind on loopback only). */
export const freePort = () => 30000 + Math.floor(Math.random() * 20000)

/**
 * A veth pair for the live benches: `here` (address a) on this side, `there` (address b) inside the
 * network namespace `ns`, both up, with the namespace's loopback. Needs root; `ip` errors are left to
 * the bench's own checks, as before.
 */
export function vethUp({ ns, here, there, a, b }) {
  const ip = (...args) => spawnSync('ip', args, { encoding: 'utf8' })
  ip('netns', 'add', ns)
  ip('link', 'add', here, 'type', 'veth', 'peer', 'name', there, 'netns', ns)
  ip('addr', 'add', `${a}/24`, 'dev', here)
  ip('link', 'set', here, 'up')
  ip('-n', ns, 'addr', 'add', `${b}/24`, 'dev', there)
  ip('-n', ns, 'link', 'set', there, 'up')
  ip('-n', ns, 'link', 'set', 'lo', 'up')
}

/** Removes what vethUp() made (either side may already be gone). */
export function vethDown({ ns, here }) {
  spawnSync('ip', ['netns', 'del', ns], { encoding: 'utf8' })
  spawnSync('ip', ['link', 'del', here], { encoding: 'utf8' })
}
