/**
 * The one packet filter of every command that reads packets (decode, convert, listen, replay,
 * capture): the same names and the same meaning everywhere. A packet passes when it passes every
 * filter that is set; a filter given several values (repeated --call-id, a --port list) passes a
 * packet that matches any of them; the --not- forms drop what matches any of theirs.
 *
 * - callIds / callIdPrefixes: the SIP Call-ID of the payload or the HEP correlation id (chunk 0x0011)
 * - methods / notMethods: requests by their method, responses by their CSeq method (case-insensitive)
 * - grep / notGrep: a regular expression on the payload (compressed payloads inflated)
 * - ips / notIps: an address or CIDR, on the source or the destination
 * - ports: port ranges, on the source or the destination port
 * - captureIds, payloadTypes
 */
import { BlockList, isIP } from 'node:net'
import { HepError } from '../errors.js'
import { payloadOf } from '../hep/compress.js'
import { payloadTypeFromName } from '../hep/constants.js'
import type { HepPacket } from '../hep/packet.js'
import { scanSip, type SipInfo } from '../sip/scan.js'

export interface FilterOptions {
  callIds?: string[]
  callIdPrefixes?: string[]
  methods?: string[]
  notMethods?: string[]
  grep?: RegExp
  notGrep?: RegExp
  /** addresses or CIDRs ("10.0.0.0/8", "::1") */
  ips?: string[]
  notIps?: string[]
  ports?: [number, number][]
  captureIds?: number[]
  payloadTypes?: number[]
}

/** The filter options as the command line gives them (each a list of texts), checked. */
export interface FilterTexts {
  callId?: string[]
  callIdPrefix?: string[]
  method?: string[]
  notMethod?: string[]
  grep?: string
  notGrep?: string
  ip?: string[]
  notIp?: string[]
  /** "5060", "5060-5080,5090"; several are joined */
  port?: string[]
  captureId?: number[]
  type?: string[]
}

/** Port ranges from "5060", "5060-5080,5090"; undefined when the text is not that. */
export function parsePortList(text: string): [number, number][] | undefined {
  const out: [number, number][] = []
  for (const part of text.split(',')) {
    const m = /^\s*(\d{1,5})(?:\s*-\s*(\d{1,5}))?\s*$/.exec(part)
    if (!m) return undefined
    const lo = Number(m[1])
    const hi = m[2] === undefined ? lo : Number(m[2])
    if (lo > 65535 || hi > 65535 || hi < lo) return undefined
    out.push([lo, hi])
  }
  return out
}

const bad = (flag: string, value: string, why: string) =>
  new HepError('HEP_ENCODE', `${flag} ${value}: ${why}`)

function regex(flag: string, text: string): RegExp {
  try {
    return new RegExp(text)
  } catch (e) {
    throw bad(flag, text, (e as Error).message.replace(/^Invalid regular expression: /, ''))
  }
}

function checkIp(flag: string, text: string): string {
  const [addr, bits, more] = text.split('/')
  const v = isIP(addr)
  const max = v === 6 ? 128 : 32
  if (v === 0 || more !== undefined || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= max)))
    throw bad(flag, text, 'expected an IP address or CIDR, e.g. 10.0.0.1, 10.0.0.0/8 or fd00::/8')
  return text
}

/** Checks the texts and makes the options; a bad value is a HepError naming the flag. */
export function filterOptionsFrom(t: FilterTexts): FilterOptions {
  const ports: [number, number][] = []
  for (const p of t.port ?? []) {
    const r = parsePortList(p)
    if (r === undefined) throw bad('--port', p, 'expected PORT, LO-HI or a comma-separated list of them')
    ports.push(...r)
  }
  const types = (t.type ?? []).map((x) => {
    const n = payloadTypeFromName(x)
    if (n === undefined) throw bad('--type', x, 'not a payload type name (sip, log, rtcp…) or number')
    return n
  })
  const methods = (flag: string, list?: string[]) =>
    list?.map((m) => {
      if (!/^[A-Za-z][A-Za-z0-9_.!%*+`'~-]*$/.test(m))
        throw bad(flag, m, 'expected a SIP method such as INVITE')
      return m.toUpperCase()
    })
  return {
    callIds: t.callId,
    callIdPrefixes: t.callIdPrefix,
    methods: methods('--method', t.method),
    notMethods: methods('--not-method', t.notMethod),
    grep: t.grep === undefined ? undefined : regex('--grep', t.grep),
    notGrep: t.notGrep === undefined ? undefined : regex('--not-grep', t.notGrep),
    ips: t.ip?.map((x) => checkIp('--ip', x)),
    notIps: t.notIp?.map((x) => checkIp('--not-ip', x)),
    ports: ports.length > 0 ? ports : undefined,
    captureIds: t.captureId,
    payloadTypes: types.length > 0 ? types : undefined,
  }
}

function blockList(list: string[] | undefined): BlockList | undefined {
  if (!list?.length) return undefined
  const b = new BlockList()
  for (const x of list) {
    const [addr, bits] = x.split('/')
    const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4'
    if (bits === undefined) b.addAddress(addr, type)
    else b.addSubnet(addr, Number(bits), type)
  }
  return b
}

function inBlock(b: BlockList, ip: string | undefined): boolean {
  if (ip === undefined) return false
  const v = isIP(ip)
  if (v === 0) return false
  if (b.check(ip, v === 6 ? 'ipv6' : 'ipv4')) return true
  // an IPv4-mapped IPv6 address matches its IPv4 form
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  return m !== null && b.check(m[1], 'ipv4')
}

function inRanges(port: number | undefined, ranges: [number, number][]): boolean {
  if (port === undefined) return false
  for (let i = 0; i < ranges.length; i++) if (port >= ranges[i][0] && port <= ranges[i][1]) return true
  return false
}

/** A compiled filter that counts what it saw and what passed. */
export class PacketFilter {
  /** packets tested, and those that passed */
  tested = 0
  passed = 0
  /** no filter is set: every packet passes */
  readonly empty: boolean
  /** the filter needs the SIP scan of the payload (Call-ID or method) */
  readonly needsSip: boolean
  /** the flags set, for "matched nothing" messages (e.g. "--call-id 1-18356") */
  readonly described: string
  private readonly ips?: BlockList
  private readonly notIps?: BlockList

  constructor(readonly opts: FilterOptions = {}) {
    const o = opts
    this.ips = blockList(o.ips)
    this.notIps = blockList(o.notIps)
    this.needsSip = Boolean(
      o.callIds?.length || o.callIdPrefixes?.length || o.methods?.length || o.notMethods?.length,
    )
    const d: string[] = []
    const add = (flag: string, v: readonly (string | number)[] | undefined) => {
      for (const x of v ?? []) d.push(`${flag} ${x}`)
    }
    add('--call-id', o.callIds)
    add('--call-id-prefix', o.callIdPrefixes)
    add('--method', o.methods)
    add('--not-method', o.notMethods)
    if (o.grep) d.push(`--grep ${o.grep.source}`)
    if (o.notGrep) d.push(`--not-grep ${o.notGrep.source}`)
    add('--ip', o.ips)
    add('--not-ip', o.notIps)
    if (o.ports) d.push(`--port ${o.ports.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',')}`)
    add('--capture-id', o.captureIds)
    add('--type', o.payloadTypes)
    this.described = d.join(' ')
    this.empty = d.length === 0
  }

  /** Does `p` pass? `sip` is the scan of its payload when the caller has it already. */
  matches(p: HepPacket, sip?: SipInfo): boolean {
    this.tested++
    if (this.empty || this.test(p, sip)) {
      this.passed++
      return true
    }
    return false
  }

  /** packets tested that did not pass */
  get filtered(): number {
    return this.tested - this.passed
  }

  private test(p: HepPacket, sipGiven?: SipInfo): boolean {
    const o = this.opts
    if (o.captureIds?.length && (p.captureId === undefined || !o.captureIds.includes(p.captureId)))
      return false
    if (o.payloadTypes?.length && !o.payloadTypes.includes(p.payloadType ?? 1)) return false
    if (o.ports && !inRanges(p.srcPort, o.ports) && !inRanges(p.dstPort, o.ports)) return false
    if (this.ips && !inBlock(this.ips, p.srcIp) && !inBlock(this.ips, p.dstIp)) return false
    if (this.notIps && (inBlock(this.notIps, p.srcIp) || inBlock(this.notIps, p.dstIp))) return false
    const needText = o.grep !== undefined || o.notGrep !== undefined
    const payload = this.needsSip || needText ? payloadOf(p) : undefined
    if (this.needsSip) {
      const sip = sipGiven ?? (payload ? scanSip(payload) : undefined)
      if (o.callIds?.length || o.callIdPrefixes?.length) {
        const ids = [sip?.callId, p.correlationId]
        const hit = ids.some(
          (id) =>
            id !== undefined &&
            (Boolean(o.callIds?.includes(id)) || Boolean(o.callIdPrefixes?.some((x) => id.startsWith(x)))),
        )
        if (!hit) return false
      }
      if (o.methods?.length || o.notMethods?.length) {
        const m = sip === undefined ? undefined : sip.kind === 'request' ? sip.method : sip.cseq?.method
        const mu = m?.toUpperCase()
        if (o.methods?.length && (mu === undefined || !o.methods.includes(mu))) return false
        if (o.notMethods?.length && mu !== undefined && o.notMethods.includes(mu)) return false
      }
    }
    if (needText) {
      const text = payload?.toString('utf8')
      if (o.grep !== undefined && !(text !== undefined && o.grep.test(text))) return false
      if (o.notGrep !== undefined && text !== undefined && o.notGrep.test(text)) return false
    }
    return true
  }
}

/**
 * "no packet matched --call-id 1-18356 (39 read)", or undefined when the filter is empty or something
 * passed. `read`: how many were looked at, when more than the filter tested (a port filter applied
 * where the capture is read).
 */
export function matchedNothing(f: PacketFilter, read = f.tested): string | undefined {
  if (f.empty || f.passed > 0) return undefined
  const partial =
    f.opts.callIds?.length && !f.opts.callIdPrefixes?.length
      ? '; for part of a Call-ID use --call-id-prefix'
      : ''
  return `no packet matched ${f.described} (${read} read)${partial}`
}
