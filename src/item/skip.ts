/**
 * Why an item was not sent, written or replayed, and the one tally that counts reasons. Counts are
 * kept by label (what summaries print and `--json` has as keys), so the capture reader's own
 * reasons ("RTP", "TCP retransmission"...) add up in the same record.
 */

/** The reasons items are skipped, each with its label. */
export const SKIP_LABELS = {
  /** the input could not be read as a packet (bad hex or JSON, a capture that could not be read on) */
  unreadable: 'unreadable',
  /** read, but not a valid HEP packet (convert tells this apart from unreadable) */
  malformed: 'malformed',
  /** the packet cannot be encoded with the options given (too big, a bad value) */
  notEncodable: 'not encodable',
  /** written, but lost with an output that failed */
  outputFailed: 'output failed',
  /** did not pass the filters (--call-id, --method, --grep…) */
  filtered: 'filtered out',
  /** a SIP message in a capture read for the HEP it carries */
  sipInHepCapture: 'SIP (capture carries HEP)',
  /** RTCP of no call whose SIP is in the capture (--rtcp correlated) */
  rtcpUncorrelated: 'RTCP uncorrelated',
  /** a packet that looked like RTCP but did not parse */
  rtcpMalformed: 'RTCP malformed',
  /** read before the run stopped (Ctrl-C, --limit), neither sent nor skipped for another reason */
  stopped: 'left by the stop',
} as const

export type SkipReason = keyof typeof SKIP_LABELS

/** Counts by label. */
export type Counts = Record<string, number>

/** Adds `n` to the count of `label` (a count is there only once it is above 0). */
export function tally(counts: Counts, label: string, n = 1): void {
  if (n > 0) counts[label] = (counts[label] ?? 0) + n
}

/** Adds every count of `more` to `counts`. */
export function tallyAll(counts: Counts, more: Readonly<Counts>): void {
  for (const label in more) tally(counts, label, more[label])
}

/** Counts one item skipped for `reason`. */
export function countSkip(counts: Counts, reason: SkipReason, n = 1): void {
  tally(counts, SKIP_LABELS[reason], n)
}

/** How many were skipped for `reason`. */
export function skippedFor(counts: Readonly<Counts>, reason: SkipReason): number {
  return counts[SKIP_LABELS[reason]] ?? 0
}

/** Kinds a KindCounts keeps apart; beyond them, new capture ids are counted as "other". */
export const MAX_KINDS = 1000

/**
 * Packets by kind, a key whose first word is the capture id ("2002 1 udp"). Capture ids come from the
 * network, so the kinds kept apart are bounded: once MAX_KINDS are known, a new one counts under
 * capture id "other" (as do the metrics labels made from them).
 */
export function countKind(kinds: Map<string, number>, key: string): void {
  const n = kinds.get(key)
  if (n !== undefined) kinds.set(key, n + 1)
  else if (kinds.size < MAX_KINDS) kinds.set(key, 1)
  else {
    const other = 'other' + key.slice(key.indexOf(' '))
    kinds.set(other, (kinds.get(other) ?? 0) + 1)
  }
}
