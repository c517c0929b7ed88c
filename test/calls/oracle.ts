/**
 * The calls of a capture as tshark sees them (`-Y sip -T json`), each SIP message one entry, in
 * frame order: per Call-ID, the number of messages, the initial method (the first request's) and
 * the final status of the initial request, computed here from tshark's fields with the rule of
 * src/calls/call.ts (the latest out-of-dialog request of the initial method; its last final response).
 */
import { spawn } from 'node:child_process'

export interface OracleCall {
  messages: number
  method: string | null
  finalStatus: number | null
}

interface TsharkSip {
  'sip.Request-Line_tree'?: { 'sip.Method'?: string }
  'sip.Status-Line_tree'?: { 'sip.Status-Code'?: string }
  'sip.msg_hdr_tree'?: {
    'sip.Call-ID'?: string
    'sip.CSeq_tree'?: { 'sip.CSeq.seq'?: string; 'sip.CSeq.method'?: string }
    'sip.To_tree'?: { 'sip.to.tag'?: string }
  }
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] })
    const out: Buffer[] = []
    c.stdout.on('data', (d: Buffer) => out.push(d))
    c.on('error', reject)
    c.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out).toString('utf8')) : reject(new Error(`${cmd} exit ${code}`)),
    )
  })
}

export async function tsharkCalls(file: string): Promise<Map<string, OracleCall>> {
  const text = await run('tshark', [
    '-n',
    '-r',
    file,
    '-o',
    'tcp.reassemble_out_of_order:TRUE',
    '-Y',
    'sip',
    '-T',
    'json',
    '-J',
    'sip',
    // several SIP messages in one frame (TCP) are an array, not keys repeated (JSON.parse keeps the last)
    '--no-duplicate-keys',
  ])
  const frames = JSON.parse(text) as { _source: { layers: { sip?: TsharkSip | TsharkSip[] } } }[]
  const calls = new Map<string, OracleCall & { attempt: number }>()
  for (const f of frames) {
    const s = f._source.layers.sip
    for (const m of s === undefined ? [] : Array.isArray(s) ? s : [s]) {
      const h = m['sip.msg_hdr_tree'] ?? {}
      const id = h['sip.Call-ID']
      if (id === undefined) continue
      let c = calls.get(id)
      if (!c) calls.set(id, (c = { messages: 0, method: null, finalStatus: null, attempt: -1 }))
      c.messages++
      const seq = Number(h['sip.CSeq_tree']?.['sip.CSeq.seq'] ?? -1)
      const cseqMethod = h['sip.CSeq_tree']?.['sip.CSeq.method']
      const method = m['sip.Request-Line_tree']?.['sip.Method']
      if (method !== undefined) {
        if (c.method === null) {
          c.method = method
          c.attempt = seq
          c.finalStatus = null
        } else if (method === c.method && seq > c.attempt && h['sip.To_tree']?.['sip.to.tag'] === undefined) {
          c.attempt = seq
          c.finalStatus = null
        }
        continue
      }
      const status = Number(m['sip.Status-Line_tree']?.['sip.Status-Code'])
      if (c.method !== null && cseqMethod === c.method && seq === c.attempt && status >= 200)
        c.finalStatus = status
    }
  }
  const out = new Map<string, OracleCall>()
  for (const [id, c] of calls)
    out.set(id, { messages: c.messages, method: c.method, finalStatus: c.finalStatus })
  return out
}
