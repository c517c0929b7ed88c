/**
 * --metrics HOST:PORT: a Prometheus endpoint (prom-client) on GET /metrics. The values are read from
 * the same counters the summary prints, at each scrape (collect callbacks), so a scrape and the
 * summary agree; only the per-kind packet counter (capture id, payload type, transport) is counted
 * as packets arrive.
 */
import { createServer, type Server } from 'node:http'
import { createRequire } from 'node:module'
import type * as PromClient from 'prom-client'
import type { Registry } from 'prom-client'
import { HepError } from '../errors.js'
import { parseListenAddress } from '../net/address.js'
import type { RelayStats } from '../relay/relay.js'

/** prom-client (~50 ms to load) only when metrics are asked for, not at every start-up */
const prom = (): typeof PromClient => createRequire(import.meta.url)('prom-client') as typeof PromClient

export interface MetricsServer {
  readonly registry: Registry
  /** the address it listens on (port 0 resolved) */
  readonly address: { address: string; port: number }
  close(): Promise<void>
}

/**
 * Serves `registry` on HOST:PORT (`[HOST:]PORT`; default host 127.0.0.1). A bad address is a HepError
 * 'INPUT_FORMAT' (a usage error), one that cannot be listened on a HepError 'NET'.
 */
export async function serveMetrics(hostPort: string, registry: Registry): Promise<MetricsServer> {
  let a
  try {
    a = parseListenAddress(hostPort, '127.0.0.1')
  } catch (e) {
    throw new HepError('INPUT_FORMAT', `--metrics ${hostPort}: ${(e as Error).message}`)
  }
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || !(req.url ?? '/').startsWith('/metrics')) {
      res.writeHead(req.url === '/' ? 302 : 404, req.url === '/' ? { location: '/metrics' } : {})
      res.end()
      return
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType })
        res.end(text)
      },
      (e: Error) => {
        res.writeHead(500)
        res.end(e.message)
      },
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new HepError('NET', `--metrics ${hostPort}: cannot listen (${e.code ?? e.message})`)),
    )
    server.listen(a.port, a.host, () => resolve())
  })
  server.on('error', () => {})
  const ad = server.address()
  const address =
    typeof ad === 'object' && ad ? { address: ad.address, port: ad.port } : { address: a.host, port: a.port }
  return {
    registry,
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.()
        server.close(() => resolve())
      }),
  }
}

/** A registry with the process metrics (CPU, memory, event loop) under `hep_`. */
export function newRegistry(): Registry {
  const r = new (prom().Registry)()
  prom().collectDefaultMetrics({ register: r, prefix: 'hep_process_' })
  return r
}

/** A counter whose labelled values are read at each scrape. */
export function counterFrom(
  r: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Array<[Record<string, string>, number]>,
): void {
  new (prom().Counter)({
    name,
    help,
    labelNames,
    registers: [r],
    collect() {
      this.reset()
      for (const [labels, v] of read()) this.inc(labels, v)
    },
  })
}

/** A gauge whose labelled values are read at each scrape. */
export function gaugeFrom(
  r: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Array<[Record<string, string>, number]>,
): void {
  new (prom().Gauge)({
    name,
    help,
    labelNames,
    registers: [r],
    collect() {
      this.reset()
      for (const [labels, v] of read()) this.set(labels, v)
    },
  })
}

/** The relay's metrics: per destination packets in by kind, sent, failed, dropped, state, queue and spool. */
export function relayMetrics(r: Registry, stats: () => RelayStats | undefined): void {
  const each = <T>(f: (d: RelayStats['destinations'][number]) => T) => (stats()?.destinations ?? []).map(f)
  counterFrom(
    r,
    'hep_relay_packets_total',
    'packets given to a destination, by capture id and payload type',
    ['destination', 'transport', 'capture_id', 'payload_type'],
    () =>
      each((d) =>
        [...d.kinds].map(([k, n]): [Record<string, string>, number] => {
          const [capture_id, payload_type] = k.split(' ')
          return [{ destination: d.destination, transport: d.transport, capture_id, payload_type }, n]
        }),
      ).flat(),
  )
  const per = (
    name: string,
    help: string,
    f: (d: RelayStats['destinations'][number]) => number,
    gauge = false,
  ) =>
    (gauge ? gaugeFrom : counterFrom)(r, name, help, ['destination'], () =>
      each((d): [Record<string, string>, number] => [{ destination: d.destination }, f(d)]),
    )
  per('hep_relay_sent_total', 'packets sent (UDP) or confirmed (TCP/TLS/WS) to a destination', (d) => d.sent)
  per('hep_relay_send_failures_total', 'packets that could not be sent to a destination', (d) => d.failed)
  per(
    'hep_relay_dropped_total',
    'packets dropped: memory queue full without a spool, or the spool at its limit',
    (d) => d.dropped,
  )
  per('hep_relay_resent_total', 'packets written again after their connection failed', (d) => d.resent)
  per('hep_relay_connects_total', 'connections established to a destination', (d) => d.connects)
  per('hep_relay_disconnects_total', 'connections lost or attempts failed', (d) => d.disconnects)
  per('hep_relay_up', '1 while the destination is connected', (d) => (d.connected ? 1 : 0), true)
  per(
    'hep_relay_queue_depth',
    'packets in the memory queue or written and not yet confirmed',
    (d) => d.queued + d.inFlight,
    true,
  )
  per('hep_relay_spool_packets', 'packets waiting in the disk spool', (d) => d.inSpool, true)
  per('hep_relay_spool_bytes', 'bytes of the disk spool files', (d) => d.spoolBytes, true)
}
