/**
 * The metrics of `hep listen`: packets received by capture id, payload type and transport; shown,
 * filtered out, deduplicated; malformed and rejected by transport and reason; datagrams dropped by us
 * and by the kernel; connections accepted and closed by reason; and the relay's (metrics.ts).
 */
import { countKind } from '../item/skip.js'
import type { Registry } from 'prom-client'
import type { HepPacket } from '../hep/packet.js'
import type { ListenStats } from '../listen/stats.js'
import type { ReceiveMeta, ServerStats } from '../net/types.js'
import type { RelayStats } from '../relay/relay.js'
import { counterFrom, gaugeFrom, relayMetrics } from './metrics.js'

type Row = [Record<string, string>, number]

export interface ListenMetricsSources {
  stats: () => ListenStats | undefined
  server: () => ServerStats | undefined
  relay: () => RelayStats | undefined
}

export class ListenMetrics {
  /** "capture id, payload type, transport" → packets */
  private readonly kinds = new Map<string, number>()

  constructor(r: Registry, src: ListenMetricsSources) {
    counterFrom(
      r,
      'hep_packets_received_total',
      'HEP packets received, by capture id, payload type and transport',
      ['capture_id', 'payload_type', 'transport'],
      () =>
        [...this.kinds].map(([k, n]): Row => {
          const [capture_id, payload_type, transport] = k.split(' ')
          return [{ capture_id, payload_type, transport }, n]
        }),
    )
    const one = (name: string, help: string, f: (s: ListenStats) => number) =>
      counterFrom(r, name, help, [], () => {
        const s = src.stats()
        return s ? [[{}, f(s)]] : []
      })
    one(
      'hep_packets_shown_total',
      'packets that passed --dedup and the filters (shown, saved, relayed)',
      (s) => s.shown,
    )
    one('hep_packets_filtered_total', 'packets the filters left out', (s) => s.filtered)
    one('hep_packets_deduplicated_total', 'packets --dedup dropped as repeats', (s) => s.deduplicated)
    const byTransport = (name: string, help: string, f: (t: ServerStats['total']) => number) =>
      counterFrom(r, name, help, ['transport'], () =>
        Object.entries(src.server()?.transports ?? {}).map(([transport, t]): Row => [{ transport }, f(t)]),
      )
    byTransport('hep_packets_malformed_total', 'packets that did not decode as HEP', (t) => t.malformed)
    byTransport('hep_bytes_received_total', 'bytes received, good or bad', (t) => t.bytes)
    byTransport(
      'hep_connections_accepted_total',
      'TCP/TLS/WebSocket connections accepted',
      (t) => t.connections.accepted,
    )
    counterFrom(r, 'hep_packets_rejected_total', 'packets rejected by a guard, by reason', ['reason'], () =>
      Object.entries(src.server()?.total.rejectedBy ?? {}).map(([reason, n]): Row => [{ reason }, n ?? 0]),
    )
    counterFrom(r, 'hep_connections_closed_total', 'connections closed, by reason', ['reason'], () =>
      Object.entries(src.server()?.total.connections.closed ?? {}).map(([reason, n]): Row => [
        { reason },
        n ?? 0,
      ]),
    )
    counterFrom(
      r,
      'hep_packets_dropped_total',
      'UDP datagrams dropped: by us (output over its bound) and by the kernel',
      ['by'],
      () => {
        const d = src.server()?.dropped
        if (!d) return []
        const rows: Row[] = [[{ by: 'us' }, d.output]]
        if (d.kernel !== undefined) rows.push([{ by: 'kernel' }, d.kernel])
        return rows
      },
    )
    gaugeFrom(r, 'hep_connections_open', 'connections open now', [], () => {
      const c = src.server()?.total.connections
      return c ? [[{}, c.open]] : []
    })
    relayMetrics(r, src.relay)
  }

  /** one packet received (before --dedup and the filters) */
  received(p: HepPacket, meta: ReceiveMeta): void {
    const k = `${p.captureId ?? '-'} ${p.payloadType ?? 1} ${meta.transport}`
    countKind(this.kinds, k)
  }
}
