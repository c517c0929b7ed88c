/**
 * Hints for a wrong turn, said once at the end: a SIP capture given to a command for HEP (use
 * replay), a HEP capture given to replay (use send or decode), a capture cut short by its snapshot
 * length (capture again with the whole packet).
 */
import type { Counts } from '../src/item/skip.js'

const quote = (path: string) => (/^[\w./:@%+=,-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`)

/**
 * The hints for `file`, read by `command` (`used`: how many of its packets the command could use;
 * `skipped`: the capture reader's counts by label; `to`: the command's destination, for examples).
 */
export function captureHints(
  command: 'decode' | 'send' | 'convert' | 'replay',
  file: string,
  skipped: Readonly<Counts>,
  used: number,
  to = 'HOST:9060',
): string[] {
  const out: string[] = []
  const f = quote(file)
  const sip = skipped['SIP (not HEP)'] ?? 0
  const hep = skipped['HEP (not SIP)'] ?? 0
  if (sip > 0 && used === 0) {
    if (command === 'send')
      out.push(
        `hint: ${file} holds plain SIP, not HEP; to send it as HEP use replay: hep replay ${f} --to ${to}`,
      )
    else
      out.push(
        `hint: ${file} holds plain SIP, not HEP; hep replay ${f} --dry-run shows it as HEP, hep replay ${f} --to ${to} sends it`,
      )
  }
  if (hep > 0 && used === 0 && command === 'replay')
    out.push(
      `hint: ${file} carries HEP, not plain SIP; hep send ${f} --to ${to} sends its HEP packets as they are, hep decode ${f} shows them`,
    )
  const cut = skipped['truncated'] ?? 0
  if (cut > 0)
    out.push(
      `hint: ${cut} frame${cut === 1 ? ' was' : 's were'} cut short by the capture's snapshot length; capture the whole packet: tcpdump -s 0, or dumpcap or tshark without -s`,
    )
  return out
}

/** "1 packet", "2 packets" */
export function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`
}
