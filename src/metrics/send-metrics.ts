/**
 * The metrics of a sending command (replay, and capture): packets handed to the sender by capture
 * id and payload type, and per destination what was sent, failed and dropped, the queue, the
 * connection state and its connects and disconnects, read from the sender at each scrape.
 */
import { countKind } from '../item/skip.js'
import type { Registry } from 'prom-client'
import type { HepPacket } from '../hep/packet.js'
import type { HepSender, SenderStats } from '../net/sender-types.js'
import { counterFrom, gaugeFrom } from './metrics.js'

type Row = [Record<string, string>, number]

interface DestinationView {
  destination: string
  connected: boolean
  stats: SenderStats
}

function destinations(s: HepSender | undefined): DestinationView[] {
  if (s === undefined) return []
  const multi = (s as { senders?: HepSender[] }).senders
  const list = multi ?? [s]
  return list.map((d) => ({ destination: d.destination, connected: d.connected, stats: d.stats() }))
}

export class SendMetrics {
  /** "capture id, payload type" → packets */
  private readonly kinds = new Map<string, number>()

  constructor(r: Registry, sender: () => HepSender | undefined) {
    counterFrom(
      r,
      'hep_packets_out_total',
      'HEP packets handed to the sender, by capture id and payload type',
      ['capture_id', 'payload_type'],
      () =>
        [...this.kinds].map(([k, n]): Row => {
          const [capture_id, payload_type] = k.split(' ')
          return [{ capture_id, payload_type }, n]
        }),
    )
    const per = (name: string, help: string, f: (d: DestinationView) => number, gauge = false) =>
      (gauge ? gaugeFrom : counterFrom)(r, name, help, ['destination'], () =>
        destinations(sender()).map((d): Row => [{ destination: d.destination }, f(d)]),
      )
    per('hep_send_sent_total', 'packets sent (UDP) or confirmed (TCP/TLS/WS)', (d) => d.stats.sent)
    per('hep_send_failures_total', 'packets that could not be sent', (d) => d.stats.failed)
    per('hep_send_dropped_total', 'packets dropped (queue full)', (d) => d.stats.dropped)
    per('hep_send_resent_total', 'packets written again after their connection failed', (d) => d.stats.resent)
    per('hep_send_connects_total', 'connections established', (d) => d.stats.connects)
    per('hep_send_disconnects_total', 'connections lost or attempts failed', (d) => d.stats.disconnects)
    per(
      'hep_send_up',
      '1 while the destination is connected (UDP: socket ready)',
      (d) => (d.connected ? 1 : 0),
      true,
    )
    per(
      'hep_send_queue_depth',
      'packets queued or written and not yet confirmed',
      (d) => d.stats.queued + d.stats.inFlight,
      true,
    )
  }

  /** one packet handed to the sender */
  packet(p: HepPacket): void {
    this.kind(p.captureId, p.payloadType)
  }

  /** one packet of this capture id and payload type handed to the sender */
  kind(captureId: number | undefined, payloadType: number | undefined): void {
    const k = `${captureId ?? '-'} ${payloadType ?? 1}`
    countKind(this.kinds, k)
  }
}
