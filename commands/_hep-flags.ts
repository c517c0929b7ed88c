/** The HEP encoding options of send, replay, convert and capture (CLI.md), declared once. */
import { Flags } from '@oclif/core'
import { COMPRESSION_METHODS, type CompressionMethod } from '../src/hep/compress.js'
import type { HepEncodingOptions } from '../src/hep/encoding-options.js'
import { oncePerKind } from '../src/hep/lossy.js'
import { RTCP_MODES, type RtcpMode } from '../src/rtcp/correlate.js'

export const hepEncodingFlags = {
  version: Flags.option({
    options: ['1', '2', '3'] as const,
    description: 'HEP version to encode (default: 3)',
  })(),
  'capture-id': Flags.integer({
    description: 'capture agent id (u32; HEPv2 holds 16 bits)',
    min: 0,
    max: 0xffffffff,
  }),
  'node-name': Flags.string({ description: 'capture node name (chunk 0x0013)' }),
  'auth-key': Flags.string({ description: 'authentication key (chunk 0x000e)' }),
  'correlation-id': Flags.string({
    description: 'correlation id (chunk 0x0011): auto (the SIP Call-ID), none, or a value',
  }),
  compress: Flags.option({
    options: COMPRESSION_METHODS,
    description:
      'compress the payload into chunk 0x0010, as captagent does (HEP v3 only): gzip, zlib or raw deflate',
  })(),
}

/** Where send, replay and capture send HEP: --to (repeatable) and how several share the packets. */
export const destinationFlags = {
  to: Flags.string({
    description: 'destination (repeatable): HOST:PORT (UDP) or udp/tcp/tls/ws/wss:// URL',
    multiple: true,
  }),
  balance: Flags.option({
    options: ['all', 'call-id'] as const,
    default: 'all' as const,
    description:
      'several --to: every destination gets every packet (all), or each call goes to one (call-id)',
  })(),
}

/** convert's --version: keeps the input's by default. */
export const convertVersionFlag = Flags.option({
  options: ['1', '2', '3'] as const,
  description: "HEP version to encode (default: keep the input's)",
})()

/** The options from the flags; `warn` is told once per kind what v1/v2 encoding loses. */
export function encodingOptionsFrom(
  f: {
    version?: string
    'capture-id'?: number
    'node-name'?: string
    'auth-key'?: string
    'correlation-id'?: string
    compress?: string
  },
  warn?: (message: string) => void,
): HepEncodingOptions {
  return {
    version: f.version === undefined ? undefined : (Number(f.version) as 1 | 2 | 3),
    captureId: f['capture-id'],
    nodeName: f['node-name'],
    authKey: f['auth-key'],
    correlationId: f['correlation-id'],
    compress: f.compress as CompressionMethod | undefined,
    onLoss: warn ? oncePerKind(warn) : undefined,
  }
}

/** --time-byte-order of decode, convert, listen and send; `note` says what it applies to. */
export const timeByteOrderFlag = (note?: string) =>
  Flags.option({
    options: ['le', 'be'] as const,
    default: 'le' as const,
    description: `HEPv2 time header byte order${note ? ` ${note}` : ''}: le (Kamailio, default) or be (heplify-server)`,
  })()

/**
 * --rtcp of the commands that read captures for their SIP (replay, convert, capture): RTCP as HEP
 * type 5, of the calls whose SIP is in the capture (default), all of it, or none.
 */
export const rtcpFlag = Flags.option({
  options: RTCP_MODES as RtcpMode[],
  default: 'correlated' as RtcpMode,
  description:
    "capture input: RTCP as HEP type 5 (JSON report, correlation id = Call-ID): the capture's calls only (correlated), all (the rest without a correlation id), or off",
})()
