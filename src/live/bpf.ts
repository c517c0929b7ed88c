/**
 * The capture filter (BPF, as tcpdump and dumpcap take it) of `hep capture`: what to capture
 * (default UDP, TCP and SCTP, narrowed to port ranges when given, VLAN-tagged frames too) and,
 * always, not the HEP it sends itself (the traffic to and from its destinations).
 */
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import type { Destination } from '../net/address.js'

export interface FilterOptions {
  /** the user's own BPF filter, instead of the default */
  filter?: string
  /** only these ports ([lo, hi] inclusive), either side */
  portRanges?: [number, number][]
  /** addresses and ports the capture must leave out: where its HEP goes */
  exclude?: { host: string; port: number }[]
  /** VLAN-tagged frames too (not on Linux's `any`, whose cooked header has no tag for BPF) */
  vlan?: boolean
}

export const DEFAULT_FILTER = 'udp or tcp or sctp'

function ports(ranges: [number, number][]): string {
  const parts = ranges.map(([lo, hi]) => (lo === hi ? `port ${lo}` : `portrange ${lo}-${hi}`))
  // IP fragments after the first carry no ports: kept, so fragmented SIP can be reassembled
  parts.push('(ip[6:2] & 0x1fff != 0)')
  return parts.join(' or ')
}

/** The BPF filter for `o`. */
export function buildFilter(o: FilterOptions): string {
  let what: string
  if (o.filter !== undefined && o.filter.trim() !== '') what = `(${o.filter.trim()})`
  else {
    let core = `(${DEFAULT_FILTER})`
    if (o.portRanges?.length) core = `(${core} and (${ports(o.portRanges)}))`
    what = o.vlan === false ? core : `(${core} or (vlan and ${core}))`
  }
  const ex = dedupe(o.exclude ?? []).map((e) => `(host ${e.host} and port ${e.port})`)
  // the exclusion first: after `vlan`, libpcap reads every later test at VLAN-shifted offsets
  return ex.length === 0 ? what : `not (${ex.join(' or ')}) and ${what}`
}

function dedupe(list: { host: string; port: number }[]): { host: string; port: number }[] {
  const seen = new Set<string>()
  return list.filter((e) => {
    const k = `${e.host} ${e.port}`
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}

/**
 * The addresses and ports of the destinations, host names resolved (every address they resolve to):
 * what the capture filter leaves out. A name that does not resolve is left out of the list (the
 * sender will report it); its traffic cannot be on the wire either.
 */
export async function destinationEndpoints(dests: Destination[]): Promise<{ host: string; port: number }[]> {
  const out: { host: string; port: number }[] = []
  for (const d of dests) {
    if (isIP(d.host)) {
      out.push({ host: d.host, port: d.port })
      continue
    }
    try {
      for (const a of await lookup(d.host, { all: true })) out.push({ host: a.address, port: d.port })
    } catch {
      // unresolvable: nothing of it to leave out
    }
  }
  return out
}
