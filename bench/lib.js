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
