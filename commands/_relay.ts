/**
 * listen's long-running flags (README "Running as a capture point"): --to and its encoding options,
 * --spool, --dedup, rotation of --write/--write-hep, --metrics; and the summary lines of the relay.
 */
import { Flags } from '@oclif/core'
import { HepError } from '../src/errors.js'
import { oncePerKind } from '../src/hep/lossy.js'
import { parseDestination } from '../src/net/address.js'
import { checkTlsFiles } from '../src/net/pem.js'
import { parseSize } from '../src/output/writer.js'
import { DEFAULT_SPOOL_LIMIT, Relay, type RelayOptions, type RelayStats } from '../src/relay/relay.js'
import type { RotateOptions } from '../src/convert/rotate.js'

export const relayFlags = {
  to: Flags.string({
    description: 'relay every accepted packet to this destination (repeatable: each gets every packet)',
    multiple: true,
    helpGroup: 'RELAY',
  }),
  balance: Flags.option({
    options: ['all', 'call-id'] as const,
    default: 'all' as const,
    description:
      'several --to: every destination gets every packet (all), or each call goes to one (call-id)',
    helpGroup: 'RELAY',
  })(),
  version: Flags.option({
    options: ['1', '2', '3'] as const,
    description: 'relay as this HEP version (default: as received; HEPv1/v2 become HEP3 on tcp/tls)',
    helpGroup: 'RELAY',
  })(),
  'relay-capture-id': Flags.integer({
    description: 'relay with this capture id (--capture-id is the filter)',
    min: 0,
    max: 0xffffffff,
    helpGroup: 'RELAY',
  }),
  'node-name': Flags.string({
    description: 'relay with this capture node name (chunk 0x0013)',
    helpGroup: 'RELAY',
  }),
  'relay-auth-key': Flags.string({
    description: 'relay with this auth key (chunk 0x000e; --auth-key is the guard)',
    helpGroup: 'RELAY',
  }),
  'correlation-id': Flags.string({
    description: 'relay with this correlation id (chunk 0x0011): auto (the SIP Call-ID), none, or a value',
    helpGroup: 'RELAY',
  }),
  'queue-limit': Flags.integer({
    description: 'packets in memory per destination (default 1000); past it the spool, or drops',
    min: 1,
    helpGroup: 'RELAY',
  }),
  'connect-timeout': Flags.integer({
    description: 'TCP/TLS/WS connect timeout, ms (default 5000)',
    min: 1,
    helpGroup: 'RELAY',
  }),
  insecure: Flags.boolean({
    description: 'tls/wss destinations: accept any server certificate',
    default: false,
    helpGroup: 'RELAY',
  }),
  ca: Flags.string({ description: 'tls/wss destinations: CA certificate file to trust', helpGroup: 'RELAY' }),
  spool: Flags.string({
    description:
      'keep what a destination cannot take now in this directory, sent in order once it can (survives a restart)',
    helpValue: 'DIR',
    helpGroup: 'RELAY',
  }),
  'spool-limit': Flags.string({
    description:
      'bound on the spool (all destinations), e.g. 512M (default 1G); past it packets are dropped and counted',
    helpValue: 'SIZE',
    helpGroup: 'RELAY',
  }),
  dedup: Flags.integer({
    description: 'drop a packet equal to one seen within this many ms (same payload, addresses, ports)',
    min: 1,
    helpValue: 'MS',
  }),
  'rotate-seconds': Flags.integer({ description: '--write/--write-hep: a new file every N seconds', min: 1 }),
  'rotate-size': Flags.string({
    description: '--write/--write-hep: a new file once one reaches SIZE (e.g. 100M)',
    helpValue: 'SIZE',
  }),
  'rotate-keep': Flags.integer({ description: '--write/--write-hep: keep only the newest N files', min: 1 }),
  metrics: Flags.string({
    description: 'serve Prometheus metrics on [HOST:]PORT/metrics (default host 127.0.0.1)',
    helpValue: 'HOST:PORT',
  }),
}

type RelayFlagValues = {
  to?: string[]
  balance: 'all' | 'call-id'
  version?: string
  'relay-capture-id'?: number
  'node-name'?: string
  'relay-auth-key'?: string
  'correlation-id'?: string
  'queue-limit'?: number
  'connect-timeout'?: number
  insecure: boolean
  ca?: string
  spool?: string
  'spool-limit'?: string
  'rotate-seconds'?: number
  'rotate-size'?: string
  'rotate-keep'?: number
}

/** A size flag's bytes; HepError (a usage error) when it is not a size. */
export function sizeFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = parseSize(v)
  if (n === undefined)
    throw new HepError('INPUT_FORMAT', `--${name} ${v}: expected a size such as 512k, 100M or 1G`)
  return n
}

/** Rotation from the flags, or undefined; throws HepError for bad values. */
export function rotateFrom(f: RelayFlagValues, outputs: boolean): RotateOptions | undefined {
  const r: RotateOptions = {
    seconds: f['rotate-seconds'],
    bytes: sizeFlag('rotate-size', f['rotate-size']),
    keep: f['rotate-keep'],
  }
  if (r.seconds === undefined && r.bytes === undefined && r.keep === undefined) return undefined
  if (!outputs)
    throw new HepError(
      'INPUT_FORMAT',
      '--rotate-seconds, --rotate-size and --rotate-keep need --write or --write-hep',
    )
  if (r.seconds === undefined && r.bytes === undefined)
    throw new HepError('INPUT_FORMAT', '--rotate-keep needs --rotate-seconds or --rotate-size')
  return r
}

/** The relay's options from the flags (checked: destinations, TLS files, sizes); undefined without --to. */
export function relayOptionsFrom(
  f: RelayFlagValues,
  warn: (m: string) => void,
): Omit<RelayOptions, 'onConnect' | 'onDisconnect' | 'onFailed' | 'onNotEncodable'> | undefined {
  if (f.spool !== undefined && !f.to?.length) throw new HepError('INPUT_FORMAT', '--spool needs --to')
  if (f['spool-limit'] !== undefined && f.spool === undefined)
    throw new HepError('INPUT_FORMAT', '--spool-limit needs --spool')
  const to = f.to ?? []
  if (to.length === 0) {
    for (const k of ['version', 'relay-capture-id', 'node-name', 'relay-auth-key', 'correlation-id'] as const)
      if (f[k] !== undefined)
        throw new HepError('INPUT_FORMAT', `--${k} rewrites relayed packets: it needs --to`)
    return undefined
  }
  for (const d of to) parseDestination(d)
  checkTlsFiles({ ca: f.ca })
  return {
    to,
    balance: f.balance,
    encoding: {
      version: f.version === undefined ? undefined : (Number(f.version) as 1 | 2 | 3),
      captureId: f['relay-capture-id'],
      nodeName: f['node-name'],
      authKey: f['relay-auth-key'],
      correlationId: f['correlation-id'],
      onLoss: oncePerKind(warn),
    },
    sender: {
      queueLimit: f['queue-limit'],
      connectTimeout: f['connect-timeout'],
      rejectUnauthorized: !f.insecure,
      ca: f.ca,
    },
    spool:
      f.spool === undefined
        ? undefined
        : { dir: f.spool, limit: sizeFlag('spool-limit', f['spool-limit']) ?? DEFAULT_SPOOL_LIMIT },
  }
}

export { Relay }

/** The summary lines of the relay, one per destination. */
export function relaySummary(s: RelayStats): string {
  let text = ''
  for (const d of s.destinations) {
    const spool = d.spooled > 0 || d.inSpool > 0 || d.recovered > 0
    text +=
      `relayed to ${d.destination}: ${d.in} packets${d.recovered ? ` (+${d.recovered} from the spool of an earlier run)` : ''}: ` +
      `${d.sent} sent, ${d.failed} failed, ${d.dropped} dropped` +
      (spool ? `, ${d.inSpool} left in the spool (${d.spooled} spooled)` : '') +
      (d.resent > 0 ? `; ${d.resent} resent (possible duplicates)` : '') +
      '\n'
  }
  if (s.notEncodable > 0) text += `not relayed: ${s.notEncodable} could not be encoded with the options\n`
  return text
}
