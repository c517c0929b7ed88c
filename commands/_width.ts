/**
 * Fitting human output to the terminal: lines and table cells shortened with "…" to the width of
 * the terminal they go to. Only terminals: a pipe or a file gets every character.
 */

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g

/** The visible width of `s` (colour codes take none; every other code unit one column). */
export function visibleWidth(s: string): number {
  return s.replace(ANSI, '').length
}

/**
 * `s` shortened to `width` visible columns, the cut marked with "…"; colour codes are kept (and a
 * reset added after a cut inside colour).
 */
export function fit(s: string, width: number): string {
  if (width <= 0 || visibleWidth(s) <= width) return s
  let out = ''
  let seen = 0
  let coloured = false
  for (let i = 0; i < s.length;) {
    if (s.charCodeAt(i) === 0x1b) {
      ANSI.lastIndex = i
      const m = ANSI.exec(s)
      if (m && m.index === i) {
        out += m[0]
        coloured = m[0] !== '\x1b[0m' && m[0] !== '\x1b[39m' && m[0] !== '\x1b[22m'
        i += m[0].length
        continue
      }
    }
    if (seen === width - 1) break
    out += s[i++]
    seen++
  }
  return out + '…' + (coloured ? '\x1b[0m' : '')
}

/** The columns of `stream` when it is a terminal, else undefined (no fitting). */
export function columnsOf(stream: NodeJS.WriteStream): number | undefined {
  if (!stream.isTTY) return undefined
  const c = stream.columns
  return c !== undefined && c > 0 ? c : 80
}
