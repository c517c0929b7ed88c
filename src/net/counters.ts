/** The counters a HepServer keeps per transport and in total, and the auth-key guard. */
import { timingSafeEqual } from 'node:crypto'
import { CHUNK } from '../hep/constants.js'
import type { HepPacket } from '../hep/packet.js'
import type { TransportStats } from './types.js'

export function emptyStats(): TransportStats {
  return {
    packets: 0,
    bytes: 0,
    malformed: 0,
    rejected: 0,
    rejectedBy: {},
    connections: { open: 0, accepted: 0, closed: {} },
  }
}

/** A copy that later counting does not change. */
export function cloneStats(s: TransportStats): TransportStats {
  return {
    ...s,
    rejectedBy: { ...s.rejectedBy },
    connections: { ...s.connections, closed: { ...s.connections.closed } },
  }
}

export function inc<K extends string>(rec: Partial<Record<K, number>>, key: K): void {
  rec[key] = (rec[key] ?? 0) + 1
}

/** Why a packet fails the auth key check, or undefined when it passes. */
export function authKeyProblem(p: HepPacket, key: string): string | undefined {
  if (p.version !== 3) return `HEPv${p.version} cannot carry an auth key`
  let got: Buffer | undefined
  if (p.authKey !== undefined) got = Buffer.from(p.authKey, 'utf8')
  else {
    for (const c of p.chunks ?? []) {
      if (typeof c === 'object' && c.vendor === 0 && c.type === CHUNK.AUTH_KEY) got = c.value
    }
  }
  if (got === undefined) return 'no auth key (chunk 0x000e)'
  const want = Buffer.from(key, 'utf8')
  if (got.length !== want.length || !timingSafeEqual(got, want)) return 'wrong auth key'
  return undefined
}
