/** "Did you mean": the candidate nearest a mistyped word, if it is near enough to be the one meant. */

/** Edit distance (insertions, deletions, substitutions, and swaps of neighbours). */
export function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...Array<number>(b.length).fill(0),
  ])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  return d[a.length][b.length]
}

/** The nearest candidate within a third of the word's length (at least 1, at most 3), or one it starts. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase()
  let best: string | undefined
  let bestD = Math.max(1, Math.min(3, Math.floor(w.length / 3)))
  for (const c of candidates) {
    const dd = distance(w, c.toLowerCase())
    if (dd < bestD || (dd === bestD && best === undefined)) {
      best = c
      bestD = dd
    }
  }
  if (best === undefined && w.length >= 3) best = candidates.find((c) => c.toLowerCase().startsWith(w))
  return best
}
