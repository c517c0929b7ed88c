/**
 * Loaders for the HEP golden files: the hex vectors of fixtures/hep/ and the oracles of
 * fixtures/captures/ (what Kamailio sipcapture received, what hep-js decoded). Paths are resolved
 * from the repository root, so tests run from any working directory.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

export function fixturePath(...parts: string[]): string {
  return join(REPO_ROOT, 'fixtures', ...parts)
}

/** The UDP captures that have a fixtures/hep/<name>.hex file (one HEP packet per line). */
export const HEP_UDP_CAPTURES = [
  'hep-v1',
  'hep-v1-ipv6',
  'hep-v2',
  'hep-v2-ipv6',
  'hep-v2-sngrep',
  'hep-v3',
  'hep-v3-ipv6',
  'hep-v3-over-ipv6',
  'hep-v3-siptcp',
  'hep-v3-extras',
  'hep-v3-with-sip',
  'hep-v3-sngrep',
  'hep-v3-hepjs',
] as const
export type HepUdpCapture = (typeof HEP_UDP_CAPTURES)[number]

/** The v3 captures that hep-js decoded (fixtures/captures/<name>.hepjs.jsonl), TCP included. */
export const HEP_V3_CAPTURES = [
  'hep-v3',
  'hep-v3-ipv6',
  'hep-v3-over-ipv6',
  'hep-v3-siptcp',
  'hep-v3-extras',
  'hep-v3-with-sip',
  'hep-v3-sngrep',
  'hep-v3-hepjs',
  'hep-v3-tcp',
] as const

function hexLines(path: string): Buffer[] {
  const out: Buffer[] = []
  const lines = readFileSync(path, 'utf8').split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim()
    if (line === '') continue
    if (!/^([0-9a-f]{2})+$/i.test(line)) throw new Error(`${path}:${i + 1}: not a hex line`)
    out.push(Buffer.from(line, 'hex'))
  }
  return out
}

/** fixtures/hep/<name>.hex: one HEP packet (UDP payload) per line. */
export function loadHexVectors(name: string): Buffer[] {
  return hexLines(fixturePath('hep', `${name}.hex`))
}

/** fixtures/hep/hep-v3-tcp.tcp.hex: the TCP segment payloads of the HEP3 connection, in order. */
export function loadTcpSegments(): Buffer[] {
  return hexLines(fixturePath('hep', 'hep-v3-tcp.tcp.hex'))
}

// ------------------------------------------------------------------ Kamailio sipcapture (.recv.txt)

/** A `HEPRECV` line: v1/v2 carry only the datagram length; v3 carries the raw chunk values. */
export interface HepRecv {
  version: number
  /** the HEP sender as seen by the receiver: "127.0.0.1:5060/udp" */
  from: string
  /** v1/v2: length of the whole datagram */
  len?: number
  family?: number
  ipproto?: number
  src4?: string
  dst4?: string
  src6?: string
  dst6?: string
  sport?: number
  dport?: number
  /** ts=sec.usec; Kamailio prints usec without zero padding ("1795437603.11714" is 11714 µs) */
  tsSec?: number
  tsUsec?: number
  ptype?: number
  capid?: number
  authkey?: string
  corr?: string
  payloadLen?: number
  line1?: string
}

/** A `ROW` line of the sip_capture table, in the order the rows were stored. */
export interface RecvRow {
  /** v2/v3: HEP ts_sec * 1e6 + ts_usec; v1: the receiver's arrival time */
  microTs: number
  method: string
  replyReason: string
  src: string
  dst: string
  /** Kamailio numbering: 1 UDP, 2 TCP */
  proto: number
  family: number
  node: string
  correlationId: string
  callid: string
  msgLen: number
}

/** A `ROW` line of the non-SIP tables (logs_capture...). */
export interface NonSipRow {
  table: string
  microTs: number
  correlationId: string
  srcIp: string
  srcPort: number
  dstIp: string
  dstPort: number
  node: string
  msg: string
}

export interface RecvFile {
  heprecv: HepRecv[]
  rows: RecvRow[]
  nonsip: NonSipRow[]
  summary: Record<string, string>
}

/** key=value tokens; a [bracketed] value may hold spaces and brackets (line1=[INVITE sip:x@[::1]:5060 ...]). */
function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const re = /(\w+)=(?:\[(.*?)\](?=\s+\w+=|\s*$)|(\S*))/g
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out[m[1]] = m[2] ?? m[3] ?? ''
  return out
}

const optNum = (s: string | undefined): number | undefined =>
  s === undefined || s === '' ? undefined : Number(s)
const optStr = (s: string | undefined): string | undefined => (s === undefined || s === '' ? undefined : s)

function parseHepRecv(line: string): HepRecv {
  const kv = keyValues(line.slice('HEPRECV '.length))
  const r: HepRecv = { version: Number(kv.v), from: kv.from }
  if (kv.len !== undefined) r.len = Number(kv.len)
  if (r.version !== 3) return r
  r.family = optNum(kv.family)
  r.ipproto = optNum(kv.ipproto)
  r.src4 = optStr(kv.src4)
  r.dst4 = optStr(kv.dst4)
  r.src6 = optStr(kv.src6)
  r.dst6 = optStr(kv.dst6)
  r.sport = optNum(kv.sport)
  r.dport = optNum(kv.dport)
  const ts = /^(\d+)\.(\d+)$/.exec(kv.ts ?? '')
  if (ts) {
    r.tsSec = Number(ts[1])
    r.tsUsec = Number(ts[2])
  }
  r.ptype = optNum(kv.ptype)
  r.capid = optNum(kv.capid)
  r.authkey = kv.authkey
  r.corr = kv.corr
  r.payloadLen = optNum(kv.payload_len)
  r.line1 = kv.line1
  return r
}

/** fixtures/captures/<name>.recv.txt: what the Kamailio receiver decoded and stored. */
export function loadRecv(name: string): RecvFile {
  const text = readFileSync(fixturePath('captures', `${name}.recv.txt`), 'utf8')
  const file: RecvFile = { heprecv: [], rows: [], nonsip: [], summary: {} }
  let table = ''
  for (const line of text.split('\n')) {
    if (line.startsWith('HEPRECV ')) file.heprecv.push(parseHepRecv(line))
    else if (line.startsWith('ROWS ')) table = line.split(' ')[1]
    else if (line.startsWith('ROW ')) {
      const c = line.slice(4).split('|')
      if (table === 'sip_capture') {
        file.rows.push({
          microTs: Number(c[0]),
          method: c[1],
          replyReason: c[2],
          src: c[3],
          dst: c[4],
          proto: Number(c[5]),
          family: Number(c[6]),
          node: c[7],
          correlationId: c[8],
          callid: c[9],
          msgLen: Number(c[10]),
        })
      } else {
        // tbl|id|date|micro_ts|correlation_id|src_ip|src_port|dst_ip|dst_port|proto|family|type|node|msg
        file.nonsip.push({
          table: c[0],
          microTs: Number(c[3]),
          correlationId: c[4],
          srcIp: c[5],
          srcPort: Number(c[6]),
          dstIp: c[7],
          dstPort: Number(c[8]),
          node: c[12],
          msg: c.slice(13).join('|'),
        })
      }
    } else if (line.startsWith('SUMMARY ')) Object.assign(file.summary, keyValues(line.slice(8)))
  }
  return file
}

// ------------------------------------------------------------------ hep-js (.hepjs.jsonl)

export interface HepJsRcinfo {
  protocolFamily?: number
  protocol?: number
  srcIp?: string
  dstIp?: string
  srcPort?: number
  dstPort?: number
  timeSeconds?: number
  timeUseconds?: number
  payloadType?: number
  captureId?: number
  capturePass?: string
  correlation_id?: string
  hepNodeName?: string
  mos?: number
  transaction_type?: unknown
}

/** One line of hepjs-tool.js decode: hep-js's decapsulate() of one HEP3 packet. */
export interface HepJsLine {
  frame: number
  transport: 'udp' | 'tcp'
  ok: boolean
  rcinfo: HepJsRcinfo
  /** UTF-8 byte length of the payload string hep-js returned */
  payload_len: number
  payload_sha1: string
  first_line: string
  stream?: number
  last_frame?: number
}

/** fixtures/captures/<name>.hepjs.jsonl, in packet order. */
export function loadHepJs(name: string): HepJsLine[] {
  return readFileSync(fixturePath('captures', `${name}.hepjs.jsonl`), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as HepJsLine)
}
