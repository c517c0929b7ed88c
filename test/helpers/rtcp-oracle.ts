/**
 * The tshark oracles of the real calls in fixtures/rtcp/ (made by fixtures/rtcp/oracle.py, see its
 * README): per call its SIP, and per RTCP packet on the call's media endpoints its frame, time,
 * addresses, ports, the Call-ID whose SDP set it up and tshark's decode of every packet of the compound.
 * Read by test/rtcp/real-media.test.ts and test/interop/kamailio-rtcp.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fixture } from './cli.js'

/** tshark's fields of one RTCP packet, as oracle.py keeps them (SSRCs as numbers). */
export interface TsharkBlock {
  'rtcp.ssrc.identifier': number
  'rtcp.ssrc.fraction': number
  'rtcp.ssrc.cum_nr': number
  'rtcp.ssrc.ext_high': number
  'rtcp.ssrc.jitter': number
  'rtcp.ssrc.lsr': number
  'rtcp.ssrc.dlsr': number
}
export interface TsharkXrBlock {
  'rtcp.xr.bt': number
  'rtcp.xr.bl': number
  [field: string]: number
}
export interface TsharkPacket {
  'rtcp.pt': number
  'rtcp.length': number
  'rtcp.rc'?: number
  'rtcp.sc'?: number
  'rtcp.senderssrc'?: number
  'rtcp.timestamp.ntp.msw'?: number
  'rtcp.timestamp.ntp.lsw'?: number
  'rtcp.timestamp.rtp'?: number
  'rtcp.sender.packetcount'?: number
  'rtcp.sender.octetcount'?: number
  /** BYE: its SSRCs; APP: its SSRC */
  'rtcp.ssrc.identifier'?: number | number[]
  /** BYE: the reason */
  'rtcp.sdes.text'?: string
  'rtcp.app.subtype'?: number
  'rtcp.app.name'?: string
  'app.data.length'?: number
  blocks?: (TsharkBlock | TsharkXrBlock)[]
  chunks?: {
    'rtcp.ssrc.identifier': number
    items: { 'rtcp.sdes.type': number; 'rtcp.sdes.text': string }[]
  }[]
}
export interface OracleRtcp {
  frame: number
  time: { seconds: number; useconds: number }
  family: 4 | 6
  src: string
  srcPort: number
  dst: string
  dstPort: number
  'sip.Call-ID': string
  payload: string
  packets: TsharkPacket[]
}
export interface Oracle {
  file: string
  counts: { frames: number; sip: number; rtp: number; rtcp: number; other: number }
  calls: string[]
  sip: { frame: number; line: string; 'sip.Call-ID': string }[]
  rtcp: OracleRtcp[]
  not_rtcp: { frame: number; payload: string }[]
}

export const RTCP_DIR = fixture('rtcp')

/** every oracle, by file name */
export const ORACLES: Oracle[] = readdirSync(RTCP_DIR)
  .filter((f) => f.endsWith('.oracle.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(RTCP_DIR, f), 'utf8')) as Oracle)
