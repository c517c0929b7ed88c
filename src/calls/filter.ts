/**
 * The packet filter of `hep calls` until the shared one of every command lands in src/: the same
 * flag meanings (CLI.md "Filters"). A packet passes when it passes every filter that is set.
 */
import { BlockList, isIP } from 'node:net'
import { HepError } from '../errors.js'
import { payloadTypeFromName } from '../hep/constants.js'
import type { HepPacket } from '../hep/packet.js'
import { scanSip, type SipInfo } from '../sip/scan.js'
import type { CallFilter } from './collect.js'

export interface CallFilterTexts {
  callId?: string[]
  method?: string[]
  notMethod?: string[]
  grep?: string
  notGrep?: string
  ip?: string[]
  notIp?: string[]
  port?: string[]
  captureId?: number[]
  type?: string[]
}

const bad = (flag: string, v: string, why: string) => new HepError('HEP_ENCODE', `${flag} ${v}: ${why}`)

function ranges(texts: string[] | undefined): [number, number][] | undefined {
  if (!texts?.length) return undefined
  const out: [number, number][] = []
  for (const t of texts)
    for (const part of t.split(',')) {
      const m = /^\s*(\d{1,5})(?:\s*-\s*(\d{1,5}))?\s*$/.exec(part)
      const lo = m ? Number(m[1]) : NaN
      const hi = m?.[2] !== undefined ? Number(m[2]) : lo
      if (!m || lo > 65535 || hi > 65535 || hi < lo) throw bad('--port', t, 'expected PORT, LO-HI or a list')
      out.push([lo, hi])
    }
  return out
}

function blocks(flag: string, list: string[] | undefined): BlockList | undefined {
  if (!list?.length) return undefined
  const b = new BlockList()
  for (const x of list) {
    const [addr, bits, more] = x.split('/')
    const v = isIP(addr)
    const max = v === 6 ? 128 : 32
    if (v === 0 || more !== undefined || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= max)))
      throw bad(flag, x, 'expected an IP address or CIDR, e.g. 10.0.0.1 or 10.0.0.0/8')
    if (bits === undefined) b.addAddress(addr, v === 6 ? 'ipv6' : 'ipv4')
    else b.addSubnet(addr, Number(bits), v === 6 ? 'ipv6' : 'ipv4')
  }
  return b
}

function regex(flag: string, t: string | undefined): RegExp | undefined {
  if (t === undefined) return undefined
  try {
    return new RegExp(t)
  } catch (e) {
    throw bad(flag, t, (e as Error).message)
  }
}

const inBlock = (b: BlockList, ip: string | undefined) => {
  const v = ip === undefined ? 0 : isIP(ip)
  return v !== 0 && b.check(ip as string, v === 6 ? 'ipv6' : 'ipv4')
}
const inRanges = (p: number | undefined, r: [number, number][]) =>
  p !== undefined && r.some(([lo, hi]) => p >= lo && p <= hi)

/** The filter the texts describe (undefined when none is set); a bad value throws a HepError. */
export function callFilterFrom(t: CallFilterTexts): CallFilter | undefined {
  const callIds = t.callId?.length ? t.callId : undefined
  const methods = t.method?.length ? t.method.map((m) => m.toUpperCase()) : undefined
  const notMethods = t.notMethod?.length ? t.notMethod.map((m) => m.toUpperCase()) : undefined
  const grep = regex('--grep', t.grep)
  const notGrep = regex('--not-grep', t.notGrep)
  const ips = blocks('--ip', t.ip)
  const notIps = blocks('--not-ip', t.notIp)
  const ports = ranges(t.port)
  const captureIds = t.captureId?.length ? t.captureId : undefined
  const types = t.type?.length
    ? t.type.map((x) => {
        const n = payloadTypeFromName(x)
        if (n === undefined) throw bad('--type', x, 'not a payload type name (sip, rtcp, log…) or number')
        return n
      })
    : undefined
  const set = [callIds, methods, notMethods, grep, notGrep, ips, notIps, ports, captureIds, types]
  if (set.every((x) => x === undefined)) return undefined
  return {
    matches(p: HepPacket, sipGiven?: SipInfo): boolean {
      if (captureIds && (p.captureId === undefined || !captureIds.includes(p.captureId))) return false
      if (types && !types.includes(p.payloadType ?? 1)) return false
      if (ports && !inRanges(p.srcPort, ports) && !inRanges(p.dstPort, ports)) return false
      if (ips && !inBlock(ips, p.srcIp) && !inBlock(ips, p.dstIp)) return false
      if (notIps && (inBlock(notIps, p.srcIp) || inBlock(notIps, p.dstIp))) return false
      const sip = sipGiven ?? (p.payload ? scanSip(p.payload) : undefined)
      if (callIds && !callIds.some((id) => id === sip?.callId || id === p.correlationId)) return false
      const m = sip === undefined ? undefined : sip.kind === 'request' ? sip.method : sip.cseq?.method
      const mu = m?.toUpperCase()
      if (methods && (mu === undefined || !methods.includes(mu))) return false
      if (notMethods && mu !== undefined && notMethods.includes(mu)) return false
      if (grep || notGrep) {
        const text = p.payload?.toString('utf8')
        if (grep && !(text !== undefined && grep.test(text))) return false
        if (notGrep && text !== undefined && notGrep.test(text)) return false
      }
      return true
    },
  }
}
