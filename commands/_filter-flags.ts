/**
 * The filter flags of every command that reads packets (decode, convert, listen, replay, capture),
 * declared once: the same names, help and meaning everywhere (src/filter/filter.ts does the work).
 */
import { Flags } from '@oclif/core'
import { PacketFilter, filterOptionsFrom } from '../src/filter/filter.js'

const group = 'FILTER'

export const filterFlags = {
  'call-id': Flags.string({
    description: 'only this call: its SIP Call-ID or HEP correlation id (repeatable)',
    multiple: true,
    helpGroup: group,
  }),
  'call-id-prefix': Flags.string({
    description: 'only calls whose Call-ID starts with this (repeatable)',
    multiple: true,
    helpGroup: group,
  }),
  method: Flags.string({
    description: 'only this SIP method: requests by method, responses by their CSeq (repeatable)',
    multiple: true,
    helpGroup: group,
  }),
  'not-method': Flags.string({
    description: 'leave out this SIP method, e.g. OPTIONS (repeatable)',
    multiple: true,
    helpGroup: group,
  }),
  grep: Flags.string({
    description: 'only packets whose payload matches this regular expression',
    helpGroup: group,
  }),
  'not-grep': Flags.string({
    description: 'leave out packets whose payload matches this regular expression',
    helpGroup: group,
  }),
  ip: Flags.string({
    description: 'only traffic from or to this address or CIDR (repeatable)',
    multiple: true,
    helpGroup: group,
  }),
  'not-ip': Flags.string({
    description: 'leave out traffic from or to this address or CIDR (repeatable)',
    multiple: true,
    helpGroup: group,
  }),
  port: Flags.string({
    description:
      'only traffic from or to these ports: 5060, 5060-5080,5090 (repeatable; --port-range is the same)',
    multiple: true,
    aliases: ['port-range'],
    helpGroup: group,
  }),
  type: Flags.string({
    description: 'only this payload type: sip, rtcp, log… or a number (repeatable)',
    multiple: true,
    helpGroup: group,
  }),
}

/**
 * --capture-id as a filter: on decode and listen. On the commands that encode (convert, replay,
 * capture) --capture-id is the HEP encoding option that sets the id (CLI.md), so not a filter there.
 */
export const captureIdFilterFlag = {
  'capture-id': Flags.integer({
    description: 'only packets with this HEP capture id (repeatable)',
    multiple: true,
    min: 0,
    max: 0xffffffff,
    helpGroup: group,
  }),
}

/** The filter flags as parsed. */
export interface FilterFlagValues {
  'call-id'?: string[]
  'call-id-prefix'?: string[]
  method?: string[]
  'not-method'?: string[]
  grep?: string
  'not-grep'?: string
  ip?: string[]
  'not-ip'?: string[]
  port?: string[]
  'capture-id'?: number[] | number
  type?: string[]
}

/**
 * The filter the flags describe; a bad value throws a HepError (the caller makes it a usage error).
 * `captureId`: the command has --capture-id as a filter (captureIdFilterFlag).
 */
export function filterFrom(f: FilterFlagValues, captureId = false): PacketFilter {
  return new PacketFilter(
    filterOptionsFrom({
      callId: f['call-id'],
      callIdPrefix: f['call-id-prefix'],
      method: f.method,
      notMethod: f['not-method'],
      grep: f.grep,
      notGrep: f['not-grep'],
      ip: f.ip,
      notIp: f['not-ip'],
      port: f.port,
      captureId: captureId ? [f['capture-id'] ?? []].flat() : undefined,
      type: f.type,
    }),
  )
}
