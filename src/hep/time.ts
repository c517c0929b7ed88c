/** Milliseconds since the epoch (Date.now(), a wall clock) split as HEP and pcap write times. */

/** Whole seconds and the microseconds past them (HEP's timeSeconds and timeUseconds). */
export function msToMicros(ms: number): { seconds: number; useconds: number } {
  return { seconds: Math.floor(ms / 1000), useconds: Math.floor((ms % 1000) * 1000) }
}

/** Whole seconds and the nanoseconds past them (a pcap record's time). */
export function msToNanos(ms: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(ms / 1000), nanos: Math.round((ms % 1000) * 1e6) }
}
